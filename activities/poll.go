package activities

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/openai/openai-go/v3/option"
	"go.temporal.io/sdk/temporal"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/azureopenai"
	"github.com/batchledger/batchledger/models"
)

// Poll retrieves the batch once. While nothing worth reporting changed it
// fails with a retryable BatchNotReady error: the workflow's retry policy
// (backoff coefficient 1, interval = poll interval) turns that into a poll
// loop that adds nothing to history until there is news.
func (a *Activities) Poll(ctx context.Context, in PollInput) (BatchState, error) {
	ctx, done := a.begin(ctx, in.RunID)
	defer done()
	st, err := a.retrieve(ctx, in.BatchID)
	if err != nil {
		return BatchState{}, err
	}
	a.crash("poll.after_retrieve")
	if err := a.DB.WithContext(ctx).Model(&models.Run{}).Where("run_id = ?", in.RunID).
		Update("batch_status", st.Status).Error; err != nil {
		return BatchState{}, fmt.Errorf("save batch status of %s: %w", in.RunID, err)
	}
	if !st.Terminal() && !in.ShouldReport(st, time.Now()) {
		return BatchState{}, temporal.NewApplicationError(
			fmt.Sprintf("batch %s is %s (%d/%d done, %d failed)", st.ID, st.Status,
				st.RequestCounts.Completed, st.RequestCounts.Total, st.RequestCounts.Failed),
			ErrBatchNotReady, st)
	}
	return st, nil
}

// ShouldReport says whether a poll result is news for the workflow: a new
// status always is; new counts at most every ReportEvery.
func (in PollInput) ShouldReport(st BatchState, now time.Time) bool {
	if in.Known == nil || in.Known.Status != st.Status {
		return true
	}
	return in.Known.RequestCounts != st.RequestCounts && in.ReportEvery > 0 && now.Sub(in.ReportedAt) >= in.ReportEvery
}

// recordedBody reads a response body the recorder has already buffered and
// says where those exact bytes sit inside the recorded response blob.
func recordedBody(ctx context.Context, op string, resp *http.Response) ([]byte, models.Range, error) {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, models.Range{}, fmt.Errorf("read body: %w", err)
	}
	call, ok := audit.ScopeFrom(ctx).Last(op)
	if !ok || call.ResponseHash == nil {
		return nil, models.Range{}, fmt.Errorf("no recorded response for %s", op)
	}
	return body, models.Range{Blob: *call.ResponseHash, Offset: *call.ResponseBodyOffset, Length: int64(len(body)), SHA256: audit.Hash(body)}, nil
}

// retrieve calls batches.retrieve and validates the answer from the exact
// bytes received (Azure's data is untrusted input).
func (a *Activities) retrieve(ctx context.Context, batchID string) (BatchState, error) {
	var raw *http.Response
	_, err := a.AI.Batches.Get(audit.WithOperation(ctx, azureopenai.OpBatchesRetrieve), batchID, option.WithResponseBodyInto(&raw))
	if err != nil {
		return BatchState{}, classify("batches.retrieve", err)
	}
	body, at, err := recordedBody(ctx, azureopenai.OpBatchesRetrieve, raw)
	if err != nil {
		return BatchState{}, fmt.Errorf("batches.retrieve %s: %w", batchID, err)
	}
	st, err := parseBatch(body)
	if err != nil {
		// An unreadable batch object may be a transient fault; it is recorded, retry.
		return BatchState{}, fmt.Errorf("batches.retrieve %s: %w", batchID, err)
	}
	if st.ID != batchID {
		return BatchState{}, fmt.Errorf("batches.retrieve %s: answer is for batch %q", batchID, st.ID)
	}
	st.Batch = at
	return st, nil
}
