package simulator

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeploymentScenario(t *testing.T) {
	for model, want := range map[string]string{
		"sim-content_filter":     "content_filter",
		"gpt-4o-mini.sim-expire": "expire",
		"a.b.sim-fault_429":      "fault_429",
		"sim-":                   "",
	} {
		got, ok := deploymentScenario(model)
		assert.True(t, ok, model)
		assert.Equal(t, want, got, model)
	}
	for _, model := range []string{"gpt-4o-batch", "simulate", "my-sim-expire", "gpt.sim", ""} {
		_, ok := deploymentScenario(model)
		assert.False(t, ok, model)
	}
}

func TestScenarioSelectionPrecedence(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInputFor(2, "sim-all_failed"))

	// Deployment alone selects all_failed.
	b := createBatch(t, ctx, c, in.ID, nil)
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 2, Failed: 2}, stripCounts(done.RequestCounts))

	// Metadata beats the deployment.
	b = createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: DefaultScenario})
	done = waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 2, Completed: 2}, stripCounts(done.RequestCounts))

	// --scenario beats both.
	forced := startEnv(t, Config{ForceScenario: "error_file_blank"})
	fc := forced.client(testKey)
	in = uploadInput(t, ctx, fc, makeInputFor(2, "sim-all_failed"))
	b = createBatch(t, ctx, fc, in.ID, map[string]string{MetadataScenarioKey: DefaultScenario})
	done = waitStatus(t, ctx, fc, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 2, Completed: 1, Failed: 1}, stripCounts(done.RequestCounts))
	assert.Equal(t, `""`, string(rawFields(t, done.RawJSON())["error_file_id"]))
	files := simList[simFile](t, forced, "/_sim/files?purpose=batch")
	require.Len(t, files, 1)
	assert.Equal(t, "error_file_blank", files[0].Scenario)
}

func TestUnknownDeploymentScenarioRefusesBatch(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	// The upload itself is accepted (Azure does not look at the deployment yet).
	in := uploadInput(t, ctx, c, makeInputFor(1, "gpt-4o.sim-nope"))
	files := simList[simFile](t, env, "/_sim/files")
	require.Len(t, files, 1)
	assert.Equal(t, "gpt-4o.sim-nope", files[0].Model)
	assert.Equal(t, DefaultScenario, files[0].Scenario)

	_, err := newBatch(ctx, c, in.ID, nil)
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Contains(t, apiErr.Message, `"nope"`)
	assert.Contains(t, apiErr.Message, `"gpt-4o.sim-nope"`)
	assert.Equal(t, "input_file_id", apiErr.Param)
	assert.Empty(t, simList[apiBatch](t, env, "/_sim/batches"))

	// Naming a known scenario in metadata wins over the unknown deployment.
	createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: "line_errors"})
}

func TestScenarioChoiceSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInputFor(3, "gpt-4o-mini.sim-line_errors"))
	before := createBatch(t, ctx, c, in.ID, map[string]string{"n": "1"}) // not advanced yet

	env = env.restart()
	c = env.client(testKey)
	after := createBatch(t, ctx, c, in.ID, map[string]string{"n": "2"}) // deployment read from the stored file
	for _, id := range []string{before.ID, after.ID} {
		done := waitStatus(t, ctx, c, id, openai.BatchStatusCompleted, nil)
		assert.Equal(t, openai.BatchRequestCounts{Total: 3, Completed: 2, Failed: 1}, stripCounts(done.RequestCounts))
	}
	for _, f := range simList[simFile](t, env, "/_sim/files") {
		assert.Equal(t, "line_errors", f.Scenario, f.Filename)
	}
}

func TestSimFilesListsUploadsPerRun(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	for i, name := range []string{"run-abc-shard-0.jsonl", "run-abc-shard-1.jsonl", "run-xyz-shard-0.jsonl"} {
		_, err := uploadNamed(ctx, c, makeInputFor(i+1, "sim-content_filter"), name)
		require.NoError(t, err)
	}
	files := simList[simFile](t, env, "/_sim/files?filename_contains=run-abc")
	require.Len(t, files, 2)
	assert.Equal(t, "run-abc-shard-1.jsonl", files[0].Filename, "newest first")
	assert.Equal(t, "batch", files[0].Purpose)
	assert.Equal(t, "content_filter", files[0].Scenario)
	assert.Equal(t, "sim-content_filter", files[0].Model)
	assert.Equal(t, int64(len(makeInputFor(2, "sim-content_filter"))), files[0].Bytes)
	assert.True(t, strings.HasPrefix(files[0].ID, "file-"))

	// Output files carry their batch and its scenario.
	b := createBatch(t, ctx, c, files[0].ID, nil)
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	out := simList[simFile](t, env, "/_sim/files?purpose=batch_output")
	require.Len(t, out, 1)
	assert.Equal(t, done.OutputFileID, out[0].ID)
	assert.Equal(t, b.ID, out[0].BatchID)
	assert.Equal(t, "content_filter", out[0].Scenario)
	assert.Len(t, simList[simFile](t, env, "/_sim/files"), 4)

	res, _ := env.do("GET", "/_sim/files", "", nil, nil)
	assert.Equal(t, 401, res.StatusCode)
}
