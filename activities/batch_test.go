package activities

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func TestParseBatchToleratesDocumentedShapes(t *testing.T) {
	// Integer timestamps, ISO timestamps and a capitalised status all appear in Azure's docs.
	st, err := parseBatch([]byte(`{"id":"batch_1","status":"Validating","created_at":"2024-07-19T17:13:57.2491382+00:00","output_file_id":null,"error_file_id":""}`))
	require.NoError(t, err)
	require.Equal(t, "validating", st.Status)
	require.Empty(t, st.OutputFileID)
	require.Empty(t, st.ErrorFileID)
	require.False(t, st.Terminal())

	st, err = parseBatch([]byte(`{"id":"batch_2","status":"completed","output_file_id":"file-o","error_file_id":"file-e","request_counts":{"total":3,"completed":2,"failed":1}}`))
	require.NoError(t, err)
	require.True(t, st.Terminal())
	require.Equal(t, RequestCount{Total: 3, Completed: 2, Failed: 1}, st.RequestCounts)

	for _, bad := range []string{`not json`, `{"status":"completed"}`, `{"id":"b"}`, `{"id":"","status":"x"}`} {
		_, err := parseBatch([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestBatchErrorsAcceptsArrayAndObject(t *testing.T) {
	arr := batchErrors([]byte(`{"id":"b","status":"failed","errors":{"object":"list","data":[{"code":"invalid_json_line","message":"bad","line":3},{"code":"token_limit_exceeded","message":"too many"}]}}`))
	require.Len(t, arr, 2)
	require.Equal(t, "invalid_json_line", arr[0].Code)
	require.Equal(t, 3, *arr[0].Line)
	require.Nil(t, arr[1].Line)
	one := batchErrors([]byte(`{"id":"b","status":"failed","errors":{"object":"list","data":{"code":"x","message":"y"}}}`))
	require.Equal(t, []BatchError{{Code: "x", Message: "y"}}, one)
	require.Nil(t, batchErrors([]byte(`{"id":"b","status":"failed","errors":null}`)))
	require.Equal(t, "batch failed: line 3: invalid_json_line: bad; token_limit_exceeded: too many", describeBatchErrors(arr))
}

func TestClassifyMakesRejectionsFinal(t *testing.T) {
	for code, retryable := range map[int]bool{400: false, 401: false, 404: false, 408: true, 409: true, 429: true, 500: true, 503: true} {
		err := classify("op", &openai.Error{StatusCode: code, Request: &http.Request{}, Response: &http.Response{StatusCode: code}})
		var appErr *temporal.ApplicationError
		isFinal := errors.As(err, &appErr) && appErr.NonRetryable()
		require.Equal(t, !retryable, isFinal, "HTTP %d", code)
	}
	require.False(t, errors.As(classify("op", errors.New("connection reset")), new(*temporal.ApplicationError)))
}

func TestClassifyHonoursRetryAfter(t *testing.T) {
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": []string{"7"}}}
	err := classify("files.create", &openai.Error{StatusCode: 429, Request: &http.Request{}, Response: resp})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.False(t, appErr.NonRetryable())
	require.Equal(t, 7*time.Second, appErr.NextRetryDelay())
	resp.Header.Set("Retry-After", "86400")
	err = classify("files.create", &openai.Error{StatusCode: 503, Request: &http.Request{}, Response: resp})
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, maxRetryAfter, appErr.NextRetryDelay(), "capped")
}

func TestPollReportsStatusChangesAndThrottledCounts(t *testing.T) {
	now := time.Now()
	st := BatchState{Status: "in_progress", RequestCounts: RequestCount{Total: 10, Completed: 3}}
	require.True(t, PollInput{}.ShouldReport(st, now), "first poll always reports")
	known := st
	in := PollInput{Known: &known, ReportedAt: now, ReportEvery: time.Minute}
	require.False(t, in.ShouldReport(st, now.Add(time.Hour)), "nothing changed")
	more := st
	more.RequestCounts.Completed = 5
	require.False(t, in.ShouldReport(more, now.Add(30*time.Second)), "counts changed, too soon")
	require.True(t, in.ShouldReport(more, now.Add(time.Minute)), "counts changed, interval passed")
	fin := st
	fin.Status = "finalizing"
	require.True(t, in.ShouldReport(fin, now), "a new status is reported at once")
}
