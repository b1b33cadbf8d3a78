package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openai/openai-go/v3"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/batchledger/batchledger/audit"
)

// Activities holds the dependencies of the BatchRun activities. AI must be
// built with Rec's middleware (azureopenai.NewClient) so every call is recorded.
type Activities struct {
	Rec        *audit.Recorder
	Store      audit.Store
	DB         *gorm.DB
	AI         openai.Client
	Deployment string // used when a run names none
	Log        *slog.Logger
	// Failpoint, when set, is called at named points; crash tests use it to
	// kill the worker at an exact step. Nil in normal operation.
	Failpoint func(point string)
}

// begin attaches the audit scope of this activity attempt to ctx and keeps
// heartbeating until done is called, so that if this worker dies the
// activity is retried elsewhere after the heartbeat timeout, not after the
// much longer start-to-close timeout.
func (a *Activities) begin(ctx context.Context, runID string) (context.Context, func()) {
	info := activity.GetInfo(ctx)
	scope := audit.NewScope(runID, info.ActivityType.Name, info.Attempt)
	scope.WorkflowRunID = info.WorkflowExecution.RunID
	ctx = audit.WithScope(ctx, scope)
	if info.HeartbeatTimeout <= 0 {
		return ctx, func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(info.HeartbeatTimeout / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return ctx, func() { close(stop); <-finished }
}

// crash is a failpoint for the crash tests: when the worker is configured
// with it (BATCHLEDGER_FAILPOINTS), the process dies right here.
func (a *Activities) crash(point string) {
	if a.Failpoint != nil {
		a.Failpoint(point)
	}
}

// load reads a Source. A blob named by the user is read as is; it gets
// recorded (and so hashed) by the caller.
func (a *Activities) load(ctx context.Context, s Source, what string) ([]byte, error) {
	switch {
	case s.Blob != "" && s.Inline != "":
		return nil, invalid("%s: give either blob or inline, not both", what)
	case s.Blob != "":
		b, err := a.Store.ReadNamed(ctx, s.Blob)
		if errors.Is(err, audit.ErrNotFound) {
			return nil, invalid("%s: blob %q not found in the audit container", what, s.Blob)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return b, nil
	case s.Inline != "":
		return []byte(s.Inline), nil
	}
	return nil, invalid("%s: missing (give blob or inline)", what)
}

// invalid is a non-retryable failure caused by the run's own input.
func invalid(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrInvalidInput, nil)
}

// integrity turns an audit-data anomaly into a non-retryable failure: our
// own records disagreeing with their hashes is a crash, not a retry.
func integrity(err error) error {
	if errors.Is(err, audit.ErrIntegrity) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrAuditCorrupt, err)
	}
	return err
}
