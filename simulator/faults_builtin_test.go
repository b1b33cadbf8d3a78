package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attempt is one HTTP exchange as the SDK's middleware saw it.
type attempt struct {
	Call       string // "METHOD /path"
	Status     int    // 0 if the exchange failed
	RetryAfter string
}

// attemptLog records every attempt, SDK retries included.
type attemptLog struct {
	mu   sync.Mutex
	list []attempt
}

func (l *attemptLog) option() option.RequestOption {
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(req)
		a := attempt{Call: req.Method + " " + req.URL.Path}
		if err == nil {
			a.Status, a.RetryAfter = res.StatusCode, res.Header.Get("Retry-After")
		}
		l.mu.Lock()
		l.list = append(l.list, a)
		l.mu.Unlock()
		return res, err
	})
}

// take returns the attempts so far and forgets them.
func (l *attemptLog) take() []attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.list
	l.list = nil
	return out
}

// statusesOf lists the statuses of the attempts.
func statusesOf(as []attempt) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = a.Status
	}
	return out
}

// TestFaultFirstAttemptStatus: under fault_429/500/503 the SDK sees the error
// with Retry-After: 1 on the first attempt of each operation on each object,
// retries, and succeeds.
func TestFaultFirstAttemptStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scenario string
		status   int
		code     string
	}{
		{"fault_429", 429, "429"},
		{"fault_500", 500, "InternalServerError"},
		{"fault_503", 503, "ServiceUnavailable"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			env := startEnv(t, Config{})
			var log attemptLog
			c := env.client(testKey, log.option())
			model := "gpt-4o-mini.sim-" + tc.scenario
			failThenOK := func(call string) {
				t.Helper()
				got := log.take()
				require.Len(t, got, 2, "%v", got)
				assert.Equal(t, attempt{Call: call, Status: tc.status, RetryAfter: "1"}, got[0])
				assert.Equal(t, call, got[1].Call)
				assert.Less(t, got[1].Status, 300)
			}

			in := uploadInput(t, ctx, c, makeInputFor(3, model))
			failThenOK("POST /openai/files")
			b := createBatch(t, ctx, c, in.ID, map[string]string{"run": tc.scenario})
			failThenOK("POST /openai/batches")
			_, err := c.Batches.Get(ctx, b.ID)
			require.NoError(t, err)
			failThenOK("GET /openai/batches/" + b.ID)
			done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
			for _, a := range log.take() {
				assert.Equal(t, 200, a.Status, "later retrieves are not disturbed")
			}
			out := content(t, ctx, c, done.OutputFileID)
			failThenOK("GET /openai/files/" + done.OutputFileID + "/content")
			assert.Len(t, parseLines(t, out), 3)
			assert.Equal(t, openai.BatchRequestCounts{Total: 3, Completed: 3}, stripCounts(done.RequestCounts))

			// Lists are tied to no run: not disturbed unless the scenario is forced.
			_, err = c.Batches.List(ctx, openai.BatchListParams{})
			require.NoError(t, err)
			assert.Equal(t, []int{200}, statusesOf(log.take()))

			// The body is Azure's; other content counts as another object.
			body, header := multipartUpload(t, "batch", makeInputFor(1, model))
			res, data := env.do("POST", apiPath("/openai/files"), testKey, body, header)
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Equal(t, "1", res.Header.Get("Retry-After"))
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
			fields := rawFields(t, string(rawFields(t, string(data))["error"]))
			assert.Equal(t, fmt.Sprintf("%q", tc.code), string(fields["code"]))
			assert.Contains(t, fields, "message")
			assert.Len(t, simList[simFile](t, env, "/_sim/files?purpose=batch"), 1, "the refused upload stored nothing")
		})
	}
}

func TestFaultResetMidBody(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	input := makeInputFor(4, "sim-fault_reset")
	in := uploadInput(t, ctx, c, input)
	b := createBatch(t, ctx, c, in.ID, nil)
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)

	for _, id := range []string{done.OutputFileID, in.ID} {
		f, err := c.Files.Get(ctx, id)
		require.NoError(t, err)

		res, err := c.Files.Content(ctx, id)
		require.NoError(t, err, "status and headers arrive")
		assert.Equal(t, 200, res.StatusCode)
		assert.Equal(t, f.Bytes, res.ContentLength)
		partial, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Error(t, err, "the connection closes mid-body")
		assert.True(t, errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
		assert.Equal(t, int(f.Bytes/2), len(partial))

		full := content(t, ctx, c, id)
		assert.Equal(t, f.Bytes, int64(len(full)), "the second read is whole")
		assert.Equal(t, full[:len(partial)], partial)
		if id == in.ID {
			assert.Equal(t, input, full)
		}
	}
}

func TestFaultSlowRetrieve(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{SlowResponse: 2 * time.Second})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInputFor(1, "sim-fault_slow"))
	b := createBatch(t, ctx, c, in.ID, nil)

	start := time.Now()
	_, err := c.Batches.Get(ctx, b.ID, option.WithRequestTimeout(100*time.Millisecond))
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)

	got := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Less(t, time.Since(start), time.Second, "only the first retrieve is slow")
	assert.Equal(t, int64(1), got.RequestCounts.Completed)
}

func TestFaultLostCreateFile(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	input := makeInputFor(2, "gpt-4o-mini.sim-fault_lost_create_file")
	const name = "run-lost-file.jsonl"

	_, err := uploadNamed(ctx, c, input, name, option.WithMaxRetries(0))
	require.Error(t, err, "no response")
	var apiErr *openai.Error
	assert.False(t, errors.As(err, &apiErr), "a transport error, not an API answer: %v", err)

	// Yet the file exists, in the API and in /_sim.
	files := simList[simFile](t, env, "/_sim/files?filename_contains=run-lost-file")
	require.Len(t, files, 1)
	assert.Equal(t, int64(len(input)), files[0].Bytes)
	assert.Equal(t, []string{files[0].ID}, listFileIDs(t, ctx, c, name))
	assert.Equal(t, input, content(t, ctx, c, files[0].ID))

	// The client's blind retry succeeds and stores a second copy.
	again, err := uploadNamed(ctx, c, input, name)
	require.NoError(t, err)
	assert.NotEqual(t, files[0].ID, again.ID)
	assert.Len(t, simList[simFile](t, env, "/_sim/files?filename_contains=run-lost-file"), 2)
}

func listFileIDs(t *testing.T, ctx context.Context, c openai.Client, filename string) []string {
	t.Helper()
	var ids []string
	iter := c.Files.ListAutoPaging(ctx, openai.FileListParams{})
	for iter.Next() {
		if iter.Current().Filename == filename {
			ids = append(ids, iter.Current().ID)
		}
	}
	require.NoError(t, iter.Err())
	return ids
}

func TestFaultLostCreateBatch(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInputFor(2, "sim-fault_lost_create_batch"))
	md := map[string]string{"run": "lost-batch"}

	_, err := newBatch(ctx, c, in.ID, md, option.WithMaxRetries(0))
	require.Error(t, err, "no response")

	// Yet the batch exists and runs.
	found := simList[apiBatch](t, env, "/_sim/batches?metadata.run=lost-batch")
	require.Len(t, found, 1)
	var listed []string
	iter := c.Batches.ListAutoPaging(ctx, openai.BatchListParams{})
	for iter.Next() {
		listed = append(listed, iter.Current().ID)
	}
	require.NoError(t, iter.Err())
	assert.Equal(t, []string{found[0].ID}, listed)
	done := waitStatus(t, ctx, c, found[0].ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, int64(2), done.RequestCounts.Completed)

	// A blind retry creates a duplicate: what batchledger's idempotency key prevents.
	dup := createBatch(t, ctx, c, in.ID, md)
	assert.NotEqual(t, found[0].ID, dup.ID)
	assert.Len(t, simList[apiBatch](t, env, "/_sim/batches?metadata.run=lost-batch"), 2)
	assert.True(t, strings.HasPrefix(dup.ID, "batch_"))
}
