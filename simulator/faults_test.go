package simulator

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScenarioFaults exercises the Fault extension point with scenarios
// registered by the test, the way future fault scenarios will be added.
func TestScenarioFaults(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{Scenarios: []Scenario{
		{
			Name: "throttle_first_create",
			Fault: func(in FaultInput) Fault {
				if in.Op == OpCreateBatch && in.Attempt == 1 {
					return Fault{Status: http.StatusTooManyRequests, Code: "429", Message: "Rate limit.", RetryAfter: "0"}
				}
				return Fault{}
			},
		},
		{
			Name: "lose_first_create",
			Fault: func(in FaultInput) Fault {
				return Fault{LoseResponse: in.Op == OpCreateBatch && in.Attempt == 1}
			},
		},
		{
			Name: "reset_first_get",
			Fault: func(in FaultInput) Fault {
				return Fault{Reset: in.Op == OpGetBatch && in.Attempt == 1}
			},
		},
	}})
	c := env.client(testKey)
	simCount := func(run string) int {
		res, data := env.do("GET", "/_sim/batches?metadata.run="+run, testKey, nil, nil)
		require.Equal(t, 200, res.StatusCode)
		var l apiList[apiBatch]
		require.NoError(t, json.Unmarshal(data, &l))
		return len(l.Data)
	}

	in := uploadInput(t, ctx, c, makeInput(2))

	// A 429 is retried by the SDK and creates exactly one batch.
	createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: "throttle_first_create", "run": "t"})
	assert.Equal(t, 1, simCount("t"))

	// A lost response makes the SDK's blind retry create a duplicate: the
	// hazard batchledger's idempotency key exists for.
	createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: "lose_first_create", "run": "l"})
	assert.Equal(t, 2, simCount("l"))

	// A reset connection on a read is retried transparently.
	b := createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: "reset_first_get", "run": "r"})
	got := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, int64(2), got.RequestCounts.Completed)
}
