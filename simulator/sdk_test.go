package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSDKEndToEnd drives the simulator exactly as production does: the real
// openai-go v3 client with its azure package.
func TestSDKEndToEnd(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)

	input := makeInput(5)
	in := uploadInput(t, ctx, c, input)
	assert.True(t, strings.HasPrefix(in.ID, "file-") && len(in.ID) == len("file-")+32, in.ID)
	assert.Equal(t, int64(len(input)), in.Bytes)
	assert.Equal(t, openai.FileObjectPurposeBatch, in.Purpose)
	assert.Equal(t, "input.jsonl", in.Filename)
	assert.Equal(t, openai.FileObjectStatusProcessed, in.Status)

	// The uploaded bytes come back exactly.
	assert.Equal(t, input, content(t, ctx, c, in.ID))

	b := createBatch(t, ctx, c, in.ID, map[string]string{"run": "r-1"})
	assert.True(t, strings.HasPrefix(b.ID, "batch_"), b.ID)
	assert.Equal(t, openai.BatchStatusValidating, b.Status)
	assert.Equal(t, "/chat/completions", b.Endpoint)
	assert.Equal(t, "r-1", b.Metadata["run"])
	assert.False(t, b.JSON.OutputFileID.Valid(), "output_file_id must be null")
	assert.Equal(t, b.CreatedAt+24*3600, b.ExpiresAt)

	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 5, Completed: 5}, stripCounts(done.RequestCounts))
	assert.NotZero(t, done.InProgressAt)
	assert.NotZero(t, done.FinalizingAt)
	assert.NotZero(t, done.CompletedAt)
	assert.False(t, done.JSON.ErrorFileID.Valid(), "no errors: error_file_id must be null")

	out, err := c.Files.Get(ctx, done.OutputFileID)
	require.NoError(t, err)
	assert.Equal(t, openai.FileObjectPurposeBatchOutput, out.Purpose)

	data := content(t, ctx, c, done.OutputFileID)
	assert.Equal(t, out.Bytes, int64(len(data)))
	lines := parseLines(t, data)
	assert.Equal(t, rowIDs(0, 1, 2, 3, 4), customIDs(lines))
	for i, l := range lines {
		require.NotNil(t, l.Response)
		assert.Nil(t, l.Error)
		assert.Equal(t, 200, l.Response.StatusCode)
		var cc openai.ChatCompletion
		require.NoError(t, json.Unmarshal(l.Response.Body, &cc))
		assert.Equal(t, fmt.Sprintf("Simulated answer: Question %d: what is <x> & y?", i), cc.Choices[0].Message.Content)
		assert.Equal(t, "chat.completion", string(cc.Object))
		// Words: "Be brief." (2) + "Question N: what is <x> & y?" (7); answer 2+7.
		assert.Equal(t, int64(9), cc.Usage.PromptTokens)
		assert.Equal(t, int64(9), cc.Usage.CompletionTokens)
		assert.Equal(t, int64(18), cc.Usage.TotalTokens)
	}

	// The list call the SDK pages through sees the batch.
	var listed []string
	iter := c.Batches.ListAutoPaging(ctx, openai.BatchListParams{})
	for iter.Next() {
		listed = append(listed, iter.Current().ID)
	}
	require.NoError(t, iter.Err())
	assert.Equal(t, []string{b.ID}, listed)
}

// stripCounts drops the SDK's JSON metadata so counts compare by value.
func stripCounts(c openai.BatchRequestCounts) openai.BatchRequestCounts {
	return openai.BatchRequestCounts{Total: c.Total, Completed: c.Completed, Failed: c.Failed}
}

func TestSDKWrongKey(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client("wrong-key")
	_, err := c.Batches.Get(ctx, "batch_x")
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Equal(t, "401", apiErr.Code)
	assert.Contains(t, apiErr.Message, "Access denied due to invalid subscription key")
}

func TestSDKLineErrorsScenario(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(7))
	b := createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: "line_errors"})
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, openai.BatchRequestCounts{Total: 7, Completed: 5, Failed: 2}, stripCounts(done.RequestCounts))

	out := parseLines(t, content(t, ctx, c, done.OutputFileID))
	assert.Equal(t, rowIDs(0, 1, 3, 4, 6), customIDs(out))

	errLines := parseLines(t, content(t, ctx, c, done.ErrorFileID))
	assert.Equal(t, rowIDs(2, 5), customIDs(errLines))
	for _, l := range errLines {
		require.NotNil(t, l.Response)
		assert.Nil(t, l.Error)
		assert.Equal(t, 400, l.Response.StatusCode)
		assert.NotEmpty(t, l.Response.RequestID)
		assert.JSONEq(t, `{"error":{"code":"invalid_request","message":"Simulated per-line failure."}}`, string(l.Response.Body))
	}
}

func TestSDKInvalidInputFailsBatch(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	good := `{"custom_id":"a","method":"POST","url":"/chat/completions","body":{"model":"m1","messages":[{"role":"user","content":"hi"}]}}`
	input := strings.Join([]string{
		good,
		`{"custom_id":"b", broken`,
		`{"custom_id":"a","method":"POST","url":"/chat/completions","body":{"model":"m1","messages":[]}}`,
		`{"custom_id":"c","method":"POST","url":"/chat/completions","body":{"model":"m2","messages":[]}}`,
		`{"custom_id":"d","method":"POST","url":"/v1/embeddings","body":{"model":"m1","input":"x"}}`,
		`{"custom_id":"e","method":"POST","url":"/v1/chat/completions","body":{"model":"m1"}}`,
		`{"custom_id":"f","method":"POST","url":"/v1/chat/completions","body":{"model":"m1","messages":[]}}`,
	}, "\n") + "\n"
	in := uploadInput(t, ctx, c, []byte(input))
	b := createBatch(t, ctx, c, in.ID, nil)
	failed := waitStatus(t, ctx, c, b.ID, openai.BatchStatusFailed, nil)

	assert.NotZero(t, failed.FailedAt)
	assert.Zero(t, failed.InProgressAt)
	assert.Equal(t, openai.BatchRequestCounts{}, stripCounts(failed.RequestCounts))
	assert.False(t, failed.JSON.OutputFileID.Valid())
	assert.Equal(t, "list", failed.Errors.Object)
	type got struct {
		Code  string
		Line  int64
		Param string
	}
	var errs []got
	for _, e := range failed.Errors.Data {
		errs = append(errs, got{e.Code, e.Line, e.Param})
	}
	assert.Equal(t, []got{
		{"invalid_json_line", 2, ""},
		{"duplicate_custom_id", 3, "custom_id"},
		{"model_mismatch", 4, "body.model"},
		{"url_mismatch", 5, "url"},
		{"invalid_request", 6, "body.messages"},
	}, errs)
}

func TestSDKRestartKeepsBatchesAndFiles(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now, Validating: time.Second, InProgress: 2 * time.Second, Finalizing: time.Second})
	c := env.client(testKey)
	input := makeInput(4)
	in := uploadInput(t, ctx, c, input)
	b := createBatch(t, ctx, c, in.ID, map[string]string{"run": "restart"})
	clock.Advance(1500 * time.Millisecond)
	mid, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, openai.BatchStatusInProgress, mid.Status)

	// A restart mid-flight resumes from the stored timestamps.
	env = env.restart()
	c = env.client(testKey)
	got, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusInProgress, got.Status)
	assert.Equal(t, mid.InProgressAt, got.InProgressAt)
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, clock)
	output := content(t, ctx, c, done.OutputFileID)

	// A restart after completion keeps the batch and both files byte for byte.
	env = env.restart()
	c = env.client(testKey)
	again, err := c.Batches.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, done.RawJSON(), again.RawJSON())
	assert.Equal(t, input, content(t, ctx, c, in.ID))
	assert.Equal(t, output, content(t, ctx, c, done.OutputFileID))
}

func TestSDKCancelGivesPartialOutput(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now, Validating: time.Second, InProgress: 10 * time.Second, Finalizing: time.Second, CancelDelay: time.Second})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(10))
	b := createBatch(t, ctx, c, in.ID, nil)

	clock.Advance(time.Second + 4*time.Second) // 40% into in_progress
	cancelling, err := c.Batches.Cancel(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusCancelling, cancelling.Status)
	assert.NotZero(t, cancelling.CancellingAt)

	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCancelled, clock)
	assert.NotZero(t, done.CancelledAt)
	assert.Zero(t, done.CompletedAt)
	assert.Equal(t, openai.BatchRequestCounts{Total: 10, Completed: 4, Failed: 6}, stripCounts(done.RequestCounts))

	out := parseLines(t, content(t, ctx, c, done.OutputFileID))
	assert.Equal(t, rowIDs(0, 1, 2, 3), customIDs(out))
	errLines := parseLines(t, content(t, ctx, c, done.ErrorFileID))
	assert.Equal(t, rowIDs(4, 5, 6, 7, 8, 9), customIDs(errLines))
	for _, l := range errLines {
		assert.Nil(t, l.Response)
		require.NotNil(t, l.Error)
		assert.Equal(t, "batch_cancelled", l.Error.Code)
		assert.Equal(t, "This line was not executed because the batch was cancelled.", l.Error.Message)
	}

	// Cancelling a terminal batch is a conflict.
	_, err = c.Batches.Cancel(ctx, b.ID, option.WithMaxRetries(0))
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, 409, apiErr.StatusCode)
}

func TestSDKDeterministicOutput(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	input := makeInput(6)
	var outputs, errorFiles [][]byte
	for i := range 2 {
		in := uploadInput(t, ctx, c, input) // separate uploads: different file and batch ids
		b := createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: "line_errors", "n": fmt.Sprint(i)})
		done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
		outputs = append(outputs, content(t, ctx, c, done.OutputFileID))
		errorFiles = append(errorFiles, content(t, ctx, c, done.ErrorFileID))
	}
	assert.Equal(t, outputs[0], outputs[1])
	assert.Equal(t, errorFiles[0], errorFiles[1])
	assert.NotEmpty(t, outputs[0])
}
