package simulator

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startScenario uploads n lines whose deployment selects scenario (the way a
// batchledger worker that knows nothing of scenarios would) and creates a batch.
func startScenario(t *testing.T, ctx context.Context, c openai.Client, n int, scenario string) *openai.Batch {
	t.Helper()
	in := uploadInput(t, ctx, c, makeInputFor(n, "gpt-4o-mini.sim-"+scenario))
	return createBatch(t, ctx, c, in.ID, map[string]string{"run": scenario})
}

// choiceView is the part of an output line's body the content tests inspect.
type choiceView struct {
	Choices []struct {
		FinishReason string `json:"finish_reason"`
		Message      struct {
			Content *string `json:"content"`
		} `json:"message"`
		ContentFilterResults map[string]severity `json:"content_filter_results"`
	} `json:"choices"`
}

func TestScenarioContentFilter(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 8, "content_filter")
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 8, Completed: 6, Failed: 2}, stripCounts(done.RequestCounts))

	out := parseLines(t, content(t, ctx, c, done.OutputFileID))
	require.Equal(t, rowIDs(0, 1, 2, 4, 5, 6), customIDs(out))
	for _, l := range out {
		require.NotNil(t, l.Response)
		assert.Nil(t, l.Error)
		assert.Equal(t, 200, l.Response.StatusCode)
		var body choiceView
		require.NoError(t, json.Unmarshal(l.Response.Body, &body))
		require.Len(t, body.Choices, 1)
		ch := body.Choices[0]
		if l.CustomID == "row-1" || l.CustomID == "row-5" {
			assert.Equal(t, "content_filter", ch.FinishReason, l.CustomID)
			assert.Nil(t, ch.Message.Content, "content is null")
			assert.Contains(t, string(l.Response.Body), `"content":null`)
			assert.Equal(t, severity{Filtered: true, Severity: "high"}, ch.ContentFilterResults["violence"])
		} else {
			assert.Equal(t, "stop", ch.FinishReason, l.CustomID)
			require.NotNil(t, ch.Message.Content)
			assert.Equal(t, safe, ch.ContentFilterResults["violence"])
		}
	}

	errLines := parseLines(t, content(t, ctx, c, done.ErrorFileID))
	require.Equal(t, rowIDs(3, 7), customIDs(errLines))
	for _, l := range errLines {
		require.NotNil(t, l.Response)
		assert.Nil(t, l.Error)
		assert.Equal(t, 400, l.Response.StatusCode)
		var body struct {
			Error struct {
				Code       string          `json:"code"`
				Message    string          `json:"message"`
				Param      string          `json:"param"`
				InnerError json.RawMessage `json:"innererror"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(l.Response.Body, &body))
		assert.Equal(t, "content_filter", body.Error.Code)
		assert.Contains(t, body.Error.Message, "content management policy")
		assert.Equal(t, "prompt", body.Error.Param)
		assert.Contains(t, string(body.Error.InnerError), `"violence":{"filtered":true,"severity":"high"}`)
	}
}

func TestScenarioMalformedOutput(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 9, "malformed_output")
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 9, Completed: 9}, stripCounts(done.RequestCounts), "counts claim all completed")
	assert.Equal(t, "null", string(rawFields(t, done.RawJSON())["error_file_id"]))

	lines := rawLines(content(t, ctx, c, done.OutputFileID))
	require.Len(t, lines, 9)

	assert.Equal(t, `{"custom_id":"row-0","respo`, lines[0], "i=0: truncated")
	assert.False(t, json.Valid([]byte(lines[0])))

	fields := func(i int) map[string]json.RawMessage { return rawFields(t, lines[i]) }
	body := func(i int) map[string]json.RawMessage {
		var res struct {
			Body map[string]json.RawMessage `json:"body"`
		}
		require.NoError(t, json.Unmarshal(fields(i)["response"], &res))
		return res.Body
	}

	f1 := fields(1)
	assert.NotContains(t, f1, "custom_id", "i=1: no custom_id")
	assert.Equal(t, "null", string(f1["error"]))
	assert.Contains(t, string(f1["response"]), `"status_code":200`)

	assert.Equal(t, `"row-2-unknown"`, string(fields(2)["custom_id"]), "i=2: unknown custom_id")
	assert.Contains(t, lines[2], "what is <x> & y?", "no HTML escaping in rewritten lines")

	f3 := fields(3)
	assert.Equal(t, `"row-3"`, string(f3["custom_id"]))
	assert.Contains(t, string(f3["response"]), `"status_code":200`, "i=3: a response")
	assert.JSONEq(t, `{"code":"server_error","message":"Simulated error next to a response."}`, string(f3["error"]), "i=3: and an error")

	assert.Equal(t, `{"custom_id":"row-4","response":null,"error":null}`, lines[4], "i=4: neither")

	b5 := body(5)
	assert.NotContains(t, b5, "choices", "i=5: no choices")
	assert.Equal(t, `"chat.completion"`, string(b5["object"]))
	assert.Equal(t, "[]", string(body(6)["choices"]), "i=6: empty choices")

	tail := parseLines(t, []byte(lines[7]+"\n"+lines[8]+"\n"))
	assert.Equal(t, rowIDs(7, 8), customIDs(tail))
	for _, l := range tail {
		var cc openai.ChatCompletion
		require.NoError(t, json.Unmarshal(l.Response.Body, &cc))
		require.Len(t, cc.Choices, 1)
	}

	// Fewer than 7 lines: only as many malformations as there are lines.
	b = startScenario(t, ctx, c, 2, "malformed_output")
	done = waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	lines = rawLines(content(t, ctx, c, done.OutputFileID))
	require.Len(t, lines, 2)
	assert.Equal(t, `{"custom_id":"row-0","respo`, lines[0])
	assert.NotContains(t, rawFields(t, lines[1]), "custom_id")
}

func TestScenarioAllFailed(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 3, "all_failed")
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 3, Failed: 3}, stripCounts(done.RequestCounts))
	assert.Equal(t, "null", string(rawFields(t, done.RawJSON())["output_file_id"]))
	errLines := parseLines(t, content(t, ctx, c, done.ErrorFileID))
	assert.Equal(t, rowIDs(0, 1, 2), customIDs(errLines))
	for _, l := range errLines {
		require.NotNil(t, l.Response)
		assert.Nil(t, l.Error)
		assert.Equal(t, 400, l.Response.StatusCode)
		assert.JSONEq(t, `{"error":{"code":"invalid_request","message":"Simulated failure of every line."}}`, string(l.Response.Body))
	}
}

func TestScenarioErrorFileEmpty(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 4, "error_file_empty")
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 4, Completed: 2, Failed: 2}, stripCounts(done.RequestCounts))
	assert.Equal(t, rowIDs(0, 2), customIDs(parseLines(t, content(t, ctx, c, done.OutputFileID))))

	require.NotEmpty(t, done.ErrorFileID, "a real error file id")
	f, err := c.Files.Get(ctx, done.ErrorFileID)
	require.NoError(t, err)
	assert.Equal(t, int64(0), f.Bytes)
	assert.Equal(t, openai.FileObjectPurposeBatchOutput, f.Purpose)
	assert.Empty(t, content(t, ctx, c, done.ErrorFileID))
}

func TestScenarioErrorFileBlank(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 4, "error_file_blank")
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 4, Completed: 2, Failed: 2}, stripCounts(done.RequestCounts))
	assert.Equal(t, rowIDs(0, 2), customIDs(parseLines(t, content(t, ctx, c, done.OutputFileID))))
	raw := rawFields(t, done.RawJSON())
	assert.Equal(t, `""`, string(raw["error_file_id"]), "empty string, not null")
	assert.NotEqual(t, "null", string(raw["output_file_id"]))

	// Only the input and the output file exist.
	files := simList[simFile](t, env, "/_sim/files")
	assert.Len(t, files, 2)

	// The blank id survives a restart.
	env = env.restart()
	c = env.client(testKey)
	again, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, `""`, string(rawFields(t, again.RawJSON())["error_file_id"]))
}

func TestScenarioInvalidJSONLine(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 3, "invalid_json_line")
	failed := waitStatus(t, ctx, c, b.ID, openai.BatchStatusFailed, nil)
	raw := rawFields(t, failed.RawJSON())
	assert.JSONEq(t, `{"object":"list","data":[{"code":"invalid_json_line","message":"This line is not a valid JSON object.","param":null,"line":2}]}`,
		string(raw["errors"]))
	assert.Equal(t, openai.BatchRequestCounts{}, stripCounts(failed.RequestCounts))
	assert.NotZero(t, failed.FailedAt)
	for _, k := range []string{"in_progress_at", "output_file_id", "error_file_id", "completed_at"} {
		assert.Equal(t, "null", string(raw[k]), k)
	}
}

func TestScenarioTokenLimitExceeded(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 3, "token_limit_exceeded")
	failed := waitStatus(t, ctx, c, b.ID, openai.BatchStatusFailed, nil)
	var errs struct {
		Object string `json:"object"`
		Data   []struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Param   json.RawMessage `json:"param"`
			Line    json.RawMessage `json:"line"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(rawFields(t, failed.RawJSON())["errors"], &errs))
	assert.Equal(t, "list", errs.Object)
	require.Len(t, errs.Data, 1)
	e := errs.Data[0]
	assert.Equal(t, "token_limit_exceeded", e.Code)
	assert.True(t, strings.HasPrefix(e.Message, "Enqueued token limit reached for gpt-4o-mini.sim-token_limit_exceeded"), e.Message)
	assert.Equal(t, "null", string(e.Param))
	assert.Equal(t, "null", string(e.Line))
	assert.Equal(t, openai.BatchRequestCounts{}, stripCounts(failed.RequestCounts))
}

func TestScenarioExpire(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now, Validating: time.Second, InProgress: 2 * time.Second, Finalizing: time.Second})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 5, "expire")
	assert.Equal(t, b.CreatedAt+3, b.ExpiresAt, "expires_at = created_at + validating + in-progress")

	clock.Advance(2900 * time.Millisecond)
	mid, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusInProgress, mid.Status)

	clock.Advance(100 * time.Millisecond)
	done, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, openai.BatchStatusExpired, done.Status)
	assert.Equal(t, b.ExpiresAt, done.ExpiredAt)
	raw := rawFields(t, done.RawJSON())
	for _, k := range []string{"finalizing_at", "completed_at", "cancelled_at", "failed_at"} {
		assert.Equal(t, "null", string(raw[k]), k)
	}
	assert.Equal(t, openai.BatchRequestCounts{Total: 5, Completed: 2, Failed: 3}, stripCounts(done.RequestCounts))

	assert.Equal(t, rowIDs(0, 1), customIDs(parseLines(t, content(t, ctx, c, done.OutputFileID))))
	errData := content(t, ctx, c, done.ErrorFileID)
	errLines := parseLines(t, errData)
	assert.Equal(t, rowIDs(2, 3, 4), customIDs(errLines))
	assert.Equal(t, `{"custom_id":"row-2","response":null,"error":{"code":"batch_expired","message":"This line was not executed because the batch expired before it could be processed."}}`,
		rawLines(errData)[0])
}

func TestScenarioSlowAndCancel(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{
		Now: clock.Now, Validating: time.Second, InProgress: 2 * time.Second, Finalizing: time.Second,
		CancelDelay: time.Second, SlowInProgress: 5 * time.Minute,
	})
	c := env.client(testKey)
	cancelled := startScenario(t, ctx, c, 6, "slow")
	finishing := startScenario(t, ctx, c, 2, "slow")
	assert.Equal(t, cancelled.CreatedAt+24*3600, cancelled.ExpiresAt)

	clock.Advance(time.Second + 4*time.Minute)
	for _, id := range []string{cancelled.ID, finishing.ID} {
		got, err := c.Batches.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, openai.BatchStatusInProgress, got.Status, "still in progress after 4 of 5 minutes")
	}

	cancelling, err := c.Batches.Cancel(ctx, cancelled.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusCancelling, cancelling.Status)
	clock.Advance(time.Second)
	done, err := c.Batches.Get(ctx, cancelled.ID)
	require.NoError(t, err)
	require.Equal(t, openai.BatchStatusCancelled, done.Status)
	assert.Equal(t, openai.BatchRequestCounts{Total: 6, Completed: 3, Failed: 3}, stripCounts(done.RequestCounts),
		"lines i < total/2 count as finished, however far the phase got")
	assert.Equal(t, rowIDs(0, 1, 2), customIDs(parseLines(t, content(t, ctx, c, done.OutputFileID))))
	errLines := parseLines(t, content(t, ctx, c, done.ErrorFileID))
	assert.Equal(t, rowIDs(3, 4, 5), customIDs(errLines))
	for _, l := range errLines {
		require.NotNil(t, l.Error)
		assert.Equal(t, "batch_cancelled", l.Error.Code)
	}

	// Left alone, a slow batch completes after --slow.
	clock.Advance(time.Minute)
	got, err := c.Batches.Get(ctx, finishing.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusCompleted, got.Status)
	assert.Equal(t, got.InProgressAt+5*60, got.FinalizingAt)
}

func TestScenarioSlowDefaultIsAnHour(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 1, "slow")
	clock.Advance(59 * time.Minute)
	got, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusInProgress, got.Status)
	clock.Advance(time.Minute)
	waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
}

func TestScenarioStuckFinalizing(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now, Finalizing: 100 * time.Millisecond})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 2, "stuck_finalizing")
	got, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusFinalizing, got.Status)

	clock.Advance(2900 * time.Millisecond)
	got, err = c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusFinalizing, got.Status, "max(10 x 100ms, 3s) = 3s")

	clock.Advance(100 * time.Millisecond)
	done, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, openai.BatchStatusCompleted, done.Status)
	assert.Equal(t, done.FinalizingAt+3, done.CompletedAt)
	assert.Equal(t, openai.BatchRequestCounts{Total: 2, Completed: 2}, stripCounts(done.RequestCounts))
}

func TestScenarioErrorFileMissing(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	b := startScenario(t, ctx, c, 4, "error_file_missing")
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 4, Completed: 2, Failed: 2}, stripCounts(done.RequestCounts))
	require.NotEmpty(t, done.ErrorFileID)
	_, err := c.Files.Content(ctx, done.ErrorFileID)
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode, "the named error file does not exist")
}
