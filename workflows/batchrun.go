// Package workflows holds the BatchRun workflow. It only orchestrates: all
// I/O happens in activities, and only refs and counts pass through history.
package workflows

import (
	"errors"
	"fmt"
	"math"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batchledger/batchledger/activities"
	"github.com/batchledger/batchledger/models"
)

// Defaults for BatchRunInput's durations.
const (
	DefaultPollInterval     = 60 * time.Second
	DefaultMaxWait          = 25 * time.Hour // Azure's window is 24h; a little slack for finalizing
	DefaultProgressEvery    = 10 * time.Minute
	DefaultHeartbeatTimeout = 30 * time.Second
)

// cancelWait bounds the wait for Azure to finish cancelling (it can take minutes).
const cancelWait = time.Hour

// BatchRunInput starts a run. Durations are Go duration strings ("1s",
// "60s") so the workflow can be started from the temporal CLI with JSON.
type BatchRunInput struct {
	Input        activities.Source      `json:"input"`
	Format       string                 `json:"format,omitempty"`
	Template     activities.Source      `json:"template"`
	SystemPrompt *activities.Source     `json:"system_prompt,omitempty"`
	Params       activities.ModelParams `json:"params,omitempty"`
	PollInterval string                 `json:"poll_interval,omitempty"`
	MaxWait      string                 `json:"max_wait,omitempty"`
	// ProgressEvery bounds how often changed request_counts are reported to
	// the progress query (a status change is reported at once).
	ProgressEvery string `json:"progress_every,omitempty"`
	// HeartbeatTimeout is how soon an activity of a dead worker is retried elsewhere.
	HeartbeatTimeout string `json:"heartbeat_timeout,omitempty"`
}

// BatchRunResult summarises a finished run; the rows are in the results blob.
type BatchRunResult struct {
	RunID       string         `json:"run_id"`
	FileID      string         `json:"file_id,omitempty"`
	BatchID     string         `json:"batch_id,omitempty"`
	BatchStatus string         `json:"batch_status,omitempty"`
	Rows        int            `json:"rows"`
	Submitted   int            `json:"submitted"`
	Requests    models.Ref     `json:"requests"`
	Results     models.Ref     `json:"results"`
	Counts      map[string]int `json:"counts"`
	Anomalies   int            `json:"anomalies"`
}

// Progress is what the "progress" query returns.
type Progress struct {
	Stage         string                   `json:"stage"`
	BatchID       string                   `json:"batch_id,omitempty"`
	BatchStatus   string                   `json:"batch_status,omitempty"`
	RequestCounts *activities.RequestCount `json:"request_counts,omitempty"`
	Rows          int                      `json:"rows"`
	Submitted     int                      `json:"submitted"`
}

// ProgressQuery is the query name for Progress.
const ProgressQuery = "progress"

// settings are the run's parsed durations.
type settings struct {
	pollInterval, maxWait, progressEvery, heartbeat time.Duration
}

func parseSettings(in BatchRunInput) (settings, error) {
	var s settings
	var err error
	for _, f := range []struct {
		dst   *time.Duration
		val   string
		def   time.Duration
		field string
	}{
		{&s.pollInterval, in.PollInterval, DefaultPollInterval, "poll_interval"},
		{&s.maxWait, in.MaxWait, DefaultMaxWait, "max_wait"},
		{&s.progressEvery, in.ProgressEvery, DefaultProgressEvery, "progress_every"},
		{&s.heartbeat, in.HeartbeatTimeout, DefaultHeartbeatTimeout, "heartbeat_timeout"},
	} {
		if *f.dst, err = duration(f.val, f.def, f.field); err != nil {
			return s, err
		}
	}
	return s, nil
}

// BatchRun renders, uploads, polls and downloads one Azure OpenAI batch.
func BatchRun(ctx workflow.Context, in BatchRunInput) (BatchRunResult, error) {
	info := workflow.GetInfo(ctx)
	runID := info.WorkflowExecution.ID
	set, err := parseSettings(in)
	if err != nil {
		return BatchRunResult{}, err
	}
	progress := &Progress{Stage: "render"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return *progress, nil }); err != nil {
		return BatchRunResult{}, fmt.Errorf("register progress query: %w", err)
	}

	var a *activities.Activities
	work := workflow.WithActivityOptions(ctx, workOptions(set.heartbeat, 2*time.Hour))

	// Activity errors are returned as they are: they name the activity, and
	// wrapping them would hide their application error type from callers.
	var rendered activities.RenderResult
	if err := workflow.ExecuteActivity(work, a.Render, activities.RenderInput{
		RunID: runID, Input: in.Input, Format: in.Format, Template: in.Template,
		SystemPrompt: in.SystemPrompt, Params: in.Params,
	}).Get(ctx, &rendered); err != nil {
		return BatchRunResult{}, err
	}
	res := BatchRunResult{RunID: runID, Rows: rendered.Rows, Submitted: rendered.Submitted, Requests: rendered.Requests}
	progress.Rows, progress.Submitted = rendered.Rows, rendered.Submitted

	var (
		batch    *activities.BatchState
		timedOut bool
		canceled error
	)
	if rendered.Submitted > 0 {
		progress.Stage = "upload"
		// The key survives activity retries, workflow retries and continue-as-new
		// (FirstRunID is the chain's first run), yet is new for a deliberate re-run.
		first := info.FirstRunID
		if first == "" { // only the test environment leaves it unset
			first = info.WorkflowExecution.RunID
		}
		key := runID + "/" + first
		// Upload waits out a cancellation: a batch it creates must be known so it can be cancelled.
		upOpts := workOptions(set.heartbeat, 2*time.Hour)
		upOpts.WaitForCancellation = true
		var up activities.UploadResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, upOpts), a.Upload, activities.UploadInput{
			RunID: runID, IdempotencyKey: key, Requests: rendered.Requests,
		}).Get(ctx, &up)
		res.FileID, res.BatchID = up.FileID, up.BatchID
		progress.BatchID = up.BatchID

		var st activities.BatchState
		if err == nil {
			progress.Stage = "poll"
			st, err = pollUntilDone(ctx, runID, up.BatchID, set, set.maxWait, progress)
		}
		switch {
		case err == nil:
		case temporal.IsCanceledError(err) || ctx.Err() != nil:
			// A user cancelled the workflow: cancel the batch at Azure and keep what it finished.
			canceled = ctx.Err()
			ctx, _ = workflow.NewDisconnectedContext(ctx)
			progress.Stage = "cancel"
			if st, err = cancelBatch(ctx, runID, key, up.BatchID, set, progress); err != nil {
				return res, err
			}
		case isPollTimeout(err):
			// The batch outlived max_wait: cancel it, keep what it finished, the rest is batch_timeout.
			timedOut = true
			progress.Stage = "cancel"
			if st, err = cancelBatch(ctx, runID, key, up.BatchID, set, progress); err != nil {
				return res, err
			}
		default:
			return res, err
		}
		if st.ID != "" {
			batch = &st
		}
		res.BatchStatus = st.Status
	}

	progress.Stage = "download"
	work = workflow.WithActivityOptions(ctx, workOptions(set.heartbeat, 2*time.Hour))
	var dl activities.DownloadResult
	if err := workflow.ExecuteActivity(work, a.Download, activities.DownloadInput{
		RunID: runID, Batch: batch, TimedOut: timedOut, Canceled: canceled != nil,
	}).Get(ctx, &dl); err != nil {
		return res, err
	}
	res.Results, res.Counts, res.Anomalies = dl.Results, dl.Counts, dl.Anomalies
	progress.Stage = "done"
	if err := workflow.UpsertMemo(ctx, map[string]any{"counts": dl.Counts, "batch_id": res.BatchID}); err != nil {
		return res, fmt.Errorf("memo: %w", err)
	}
	if canceled != nil {
		return res, canceled
	}
	return res, nil
}

// workOptions are for activities that do a bounded piece of work. The
// heartbeat timeout lets another worker take over soon after a crash.
func workOptions(heartbeat, scheduleToClose time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    time.Hour,
		ScheduleToCloseTimeout: scheduleToClose,
		HeartbeatTimeout:       heartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput, activities.ErrAzureRejected, activities.ErrAuditCorrupt},
		},
	}
}

// pollUntilDone polls until the batch is terminal. Each Poll activity retries
// itself every poll interval (backoff coefficient 1) while nothing changed,
// so history grows only with status changes and throttled count updates.
func pollUntilDone(ctx workflow.Context, runID, batchID string, set settings, maxWait time.Duration, progress *Progress) (activities.BatchState, error) {
	var a *activities.Activities
	deadline := workflow.Now(ctx).Add(maxWait)
	in := activities.PollInput{RunID: runID, BatchID: batchID, ReportEvery: set.progressEvery}
	for {
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			return activities.BatchState{}, temporal.NewTimeoutError(0, errors.New("max_wait reached"))
		}
		in.ReportedAt = workflow.Now(ctx)
		opts := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    5 * time.Minute,
			ScheduleToCloseTimeout: left,
			HeartbeatTimeout:       set.heartbeat,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    set.pollInterval,
				BackoffCoefficient: 1,
				MaximumInterval:    set.pollInterval,
				// The schedule-to-close timeout is the real bound; stating the
				// attempts it allows keeps test environments from capping them.
				MaximumAttempts:        maxAttempts(left, set.pollInterval),
				NonRetryableErrorTypes: []string{activities.ErrAzureRejected, activities.ErrAuditCorrupt},
			},
		})
		var st activities.BatchState
		if err := workflow.ExecuteActivity(opts, a.Poll, in).Get(ctx, &st); err != nil {
			return st, err
		}
		counts := st.RequestCounts
		progress.BatchStatus, progress.RequestCounts = st.Status, &counts
		if st.Terminal() {
			return st, nil
		}
		known := st
		in.Known = &known
	}
}

func maxAttempts(window, interval time.Duration) int32 {
	n := int64(window/interval) + 2
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(n)
}

// cancelBatch asks Azure to cancel the run's batch (found by id or by the
// idempotency key) and polls until it is terminal. A zero state means no
// batch exists for the run.
func cancelBatch(ctx workflow.Context, runID, key, batchID string, set settings, progress *Progress) (activities.BatchState, error) {
	var a *activities.Activities
	opts := workflow.WithActivityOptions(ctx, workOptions(set.heartbeat, cancelWait))
	var c activities.CancelResult
	if err := workflow.ExecuteActivity(opts, a.CancelBatch, activities.CancelInput{
		RunID: runID, IdempotencyKey: key, BatchID: batchID,
	}).Get(ctx, &c); err != nil {
		return activities.BatchState{}, err
	}
	if c.BatchID == "" {
		return activities.BatchState{}, nil
	}
	progress.BatchID = c.BatchID
	return pollUntilDone(ctx, runID, c.BatchID, set, cancelWait, progress)
}

// isPollTimeout reports whether polling ran out of max_wait: either a
// timeout, or the poll loop stopped retrying while the batch was still not
// ready (Temporal ends the retries with the last error once the next attempt
// would pass the schedule-to-close timeout).
func isPollTimeout(err error) bool {
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return true
	}
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.ErrBatchNotReady
}

func duration(s string, def time.Duration, field string) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, temporal.NewNonRetryableApplicationError(fmt.Sprintf("input field %s: %q is not a positive duration", field, s), activities.ErrInvalidInput, nil)
	}
	return d, nil
}
