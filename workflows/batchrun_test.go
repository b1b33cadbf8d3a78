package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/batchledger/batchledger/activities"
	"github.com/batchledger/batchledger/models"
)

var a *activities.Activities

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	return env
}

var input = BatchRunInput{
	Input:        activities.Source{Blob: "sha256/aa", Name: "rows.csv"},
	Template:     activities.Source{Blob: "sha256/bb", Name: "prompt.tmpl"},
	PollInterval: "1s",
}

func TestBatchRunOrchestratesAllFourActivities(t *testing.T) {
	env := newEnv(t)
	reqs := models.Ref{SHA256: "cc", Size: 10}
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(activities.RenderResult{Requests: reqs, Rows: 3, Submitted: 2, NotRendered: 1}, nil)
	var gotKey string
	env.OnActivity(a.Upload, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.UploadInput) (activities.UploadResult, error) {
		gotKey = in.IdempotencyKey
		require.Equal(t, reqs, in.Requests)
		return activities.UploadResult{FileID: "file-1", BatchID: "batch_1"}, nil
	})
	polls := 0
	env.OnActivity(a.Poll, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PollInput) (activities.BatchState, error) {
		polls++
		require.Equal(t, "batch_1", in.BatchID)
		if polls < 3 {
			return activities.BatchState{}, temporal.NewApplicationError("not ready", activities.ErrBatchNotReady)
		}
		return activities.BatchState{ID: "batch_1", Status: "completed", OutputFileID: "file-out"}, nil
	})
	env.OnActivity(a.Download, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DownloadInput) (activities.DownloadResult, error) {
		require.NotNil(t, in.Batch)
		require.Equal(t, "file-out", in.Batch.OutputFileID)
		return activities.DownloadResult{Results: models.Ref{SHA256: "dd", Size: 5}, Counts: map[string]int{"response": 2, "template_error": 1}}, nil
	})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "run-1"})
	env.ExecuteWorkflow(BatchRun, input)

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res BatchRunResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "run-1", res.RunID)
	require.Equal(t, "batch_1", res.BatchID)
	require.Equal(t, "completed", res.BatchStatus)
	require.Equal(t, map[string]int{"response": 2, "template_error": 1}, res.Counts)
	require.Equal(t, 3, polls, "poll is retried until the batch is terminal")
	require.Regexp(t, `^run-1/.+`, gotKey, "idempotency key is workflow id + first run id")
}

func TestBatchRunWithNothingSubmittedSkipsAzure(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(activities.RenderResult{Rows: 2, NotRendered: 2}, nil)
	env.OnActivity(a.Download, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DownloadInput) (activities.DownloadResult, error) {
		require.Nil(t, in.Batch)
		return activities.DownloadResult{Counts: map[string]int{"template_error": 2}}, nil
	})
	env.ExecuteWorkflow(BatchRun, input)
	require.NoError(t, env.GetWorkflowError())
	env.AssertNotCalled(t, "Upload", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "Poll", mock.Anything, mock.Anything)
}

func TestBatchRunStopsOnInvalidInput(t *testing.T) {
	env := newEnv(t)
	renders := 0
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(func(context.Context, activities.RenderInput) (activities.RenderResult, error) {
		renders++
		return activities.RenderResult{}, temporal.NewNonRetryableApplicationError("rows.csv line 1: empty", activities.ErrInvalidInput, nil)
	})
	env.ExecuteWorkflow(BatchRun, input)
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, activities.ErrInvalidInput, appErr.Type())
	require.Contains(t, err.Error(), "rows.csv line 1")
	require.Equal(t, 1, renders, "invalid input is not retried")
}

func TestBatchRunRejectsBadDuration(t *testing.T) {
	env := newEnv(t)
	in := input
	in.PollInterval = "soon"
	env.ExecuteWorkflow(BatchRun, in)
	require.ErrorContains(t, env.GetWorkflowError(), "poll_interval")
}

func TestBatchRunProgressQuery(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(activities.RenderResult{Rows: 1, Submitted: 1}, nil)
	env.OnActivity(a.Upload, mock.Anything, mock.Anything).Return(activities.UploadResult{FileID: "f", BatchID: "b"}, nil)
	var seen Progress
	env.OnActivity(a.Poll, mock.Anything, mock.Anything).Return(func(context.Context, activities.PollInput) (activities.BatchState, error) {
		return activities.BatchState{ID: "b", Status: "completed", RequestCounts: activities.RequestCount{Total: 1, Completed: 1}}, nil
	})
	env.OnActivity(a.Download, mock.Anything, mock.Anything).Return(func(context.Context, activities.DownloadInput) (activities.DownloadResult, error) {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&seen))
		return activities.DownloadResult{Counts: map[string]int{"response": 1}}, nil
	})
	env.ExecuteWorkflow(BatchRun, input)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, Progress{Stage: "download", BatchID: "b", BatchStatus: "completed",
		RequestCounts: &activities.RequestCount{Total: 1, Completed: 1}, Rows: 1, Submitted: 1}, seen)
}

// notReadyUntil makes Poll answer "not ready" until done() reports true.
func notReadyUntil(done func() bool, final activities.BatchState) func(context.Context, activities.PollInput) (activities.BatchState, error) {
	return func(context.Context, activities.PollInput) (activities.BatchState, error) {
		if !done() {
			return activities.BatchState{}, temporal.NewApplicationError("in_progress", activities.ErrBatchNotReady)
		}
		return final, nil
	}
}

func TestBatchRunCancelsTheBatchAfterMaxWait(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(activities.RenderResult{Rows: 4, Submitted: 4}, nil)
	env.OnActivity(a.Upload, mock.Anything, mock.Anything).Return(activities.UploadResult{FileID: "f", BatchID: "b"}, nil)
	cancelled := false
	env.OnActivity(a.CancelBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CancelInput) (activities.CancelResult, error) {
		require.Equal(t, "b", in.BatchID)
		cancelled = true
		return activities.CancelResult{BatchID: "b"}, nil
	})
	env.OnActivity(a.Poll, mock.Anything, mock.Anything).Return(notReadyUntil(func() bool { return cancelled },
		activities.BatchState{ID: "b", Status: "cancelled", OutputFileID: "out"}))
	var got activities.DownloadInput
	env.OnActivity(a.Download, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DownloadInput) (activities.DownloadResult, error) {
		got = in
		return activities.DownloadResult{Counts: map[string]int{"response": 2, "batch_timeout": 2}}, nil
	})
	in := input
	in.MaxWait = "5s" // the test environment caps unlimited retries at 10 attempts
	env.ExecuteWorkflow(BatchRun, in)
	require.NoError(t, env.GetWorkflowError())
	require.True(t, cancelled, "batches.cancel after max_wait")
	require.True(t, got.TimedOut)
	require.Equal(t, "cancelled", got.Batch.Status)
	var res BatchRunResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 2, res.Counts["batch_timeout"])
}

func TestBatchRunUserCancelCancelsBatchAndCollectsPartialOutput(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(activities.RenderResult{Rows: 4, Submitted: 4}, nil)
	env.OnActivity(a.Upload, mock.Anything, mock.Anything).Return(activities.UploadResult{FileID: "f", BatchID: "b"}, nil)
	cancelled := false
	env.OnActivity(a.CancelBatch, mock.Anything, mock.Anything).Return(func(context.Context, activities.CancelInput) (activities.CancelResult, error) {
		cancelled = true
		return activities.CancelResult{BatchID: "b"}, nil
	})
	env.OnActivity(a.Poll, mock.Anything, mock.Anything).Return(notReadyUntil(func() bool { return cancelled },
		activities.BatchState{ID: "b", Status: "cancelled", OutputFileID: "out", ErrorFileID: "err"}))
	var got activities.DownloadInput
	env.OnActivity(a.Download, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DownloadInput) (activities.DownloadResult, error) {
		got = in
		return activities.DownloadResult{Counts: map[string]int{"response": 1, "batch_cancelled": 3}}, nil
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, 3*time.Second)
	env.ExecuteWorkflow(BatchRun, input)
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.True(t, temporal.IsCanceledError(err), "the run ends as cancelled: %v", err)
	require.True(t, cancelled)
	require.True(t, got.Canceled)
	require.False(t, got.TimedOut)
	require.Equal(t, "err", got.Batch.ErrorFileID, "partial output is collected after cancelling")
}

func TestBatchRunReportsProgressWhileThePollLoopRuns(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(activities.RenderResult{Rows: 2, Submitted: 2}, nil)
	env.OnActivity(a.Upload, mock.Anything, mock.Anything).Return(activities.UploadResult{FileID: "f", BatchID: "b"}, nil)
	var (
		seenKnown []string
		mid       Progress
	)
	env.OnActivity(a.Poll, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PollInput) (activities.BatchState, error) {
		known := "none"
		if in.Known != nil {
			known = in.Known.Status
		}
		seenKnown = append(seenKnown, known)
		switch known {
		case "none":
			return activities.BatchState{ID: "b", Status: "in_progress", RequestCounts: activities.RequestCount{Total: 2}}, nil
		default:
			v, err := env.QueryWorkflow(ProgressQuery)
			require.NoError(t, err)
			require.NoError(t, v.Get(&mid))
			return activities.BatchState{ID: "b", Status: "completed", RequestCounts: activities.RequestCount{Total: 2, Completed: 2}}, nil
		}
	})
	env.OnActivity(a.Download, mock.Anything, mock.Anything).Return(activities.DownloadResult{}, nil)
	env.ExecuteWorkflow(BatchRun, input)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"none", "in_progress"}, seenKnown, "each poll knows what the last one reported")
	require.Equal(t, "in_progress", mid.BatchStatus, "the query shows what the last poll reported")
	require.Equal(t, &activities.RequestCount{Total: 2}, mid.RequestCounts)
}

// TestDayLongBatchKeepsHistorySmall polls a 24-hour batch every minute. The
// poll loop retries inside one activity while nothing changed and reports
// changed counts at most every progress_every, so the workflow sees about
// 150 poll results for 1,440 polls.
func TestDayLongBatchKeepsHistorySmall(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Render, mock.Anything, mock.Anything).Return(activities.RenderResult{Rows: 1440, Submitted: 1440}, nil)
	env.OnActivity(a.Upload, mock.Anything, mock.Anything).Return(activities.UploadResult{FileID: "f", BatchID: "b"}, nil)
	polls, reports := 0, 0
	env.OnActivity(a.Poll, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PollInput) (activities.BatchState, error) {
		polls++
		st := activities.BatchState{ID: "b", Status: "in_progress", RequestCounts: activities.RequestCount{Total: 1440, Completed: int64(polls)}}
		if polls >= 1440 {
			st.Status = "completed"
		}
		if st.Terminal() || in.ShouldReport(st, env.Now()) {
			reports++
			return st, nil
		}
		return activities.BatchState{}, temporal.NewApplicationError("in_progress", activities.ErrBatchNotReady)
	})
	env.OnActivity(a.Download, mock.Anything, mock.Anything).Return(activities.DownloadResult{Counts: map[string]int{"response": 1440}}, nil)
	in := input
	in.PollInterval, in.MaxWait, in.ProgressEvery = "1m", "25h", "10m"
	env.ExecuteWorkflow(BatchRun, in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 1440, polls)
	t.Logf("1440 polls over 24h, %d reported to the workflow", reports)
	require.LessOrEqual(t, reports, 24*6+3, "history grows with reports, not with polls")
	require.GreaterOrEqual(t, reports, 120, "counts reach the progress query about every 10 minutes")
}
