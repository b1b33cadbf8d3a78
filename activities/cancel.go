package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/openai/openai-go/v3"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/azureopenai"
	"github.com/batchledger/batchledger/models"
)

// CancelBatch asks Azure to cancel the run's batch. The batch is found by id,
// by the runs row, or by the idempotency key in Azure's batch list, so a batch
// created by an interrupted Upload is cancelled too. A batch that is already
// terminal (409) is fine: its results are collected as they are.
func (a *Activities) CancelBatch(ctx context.Context, in CancelInput) (CancelResult, error) {
	ctx, done := a.begin(ctx, in.RunID)
	defer done()
	var run models.Run
	if err := a.DB.WithContext(ctx).First(&run, "run_id = ?", in.RunID).Error; err != nil {
		return CancelResult{}, fmt.Errorf("load run %s: %w", in.RunID, err)
	}
	id := in.BatchID
	if id == "" && run.IdempotencyKey == in.IdempotencyKey {
		id = run.BatchID
	}
	if id == "" && in.IdempotencyKey != "" {
		b, err := a.findBatch(ctx, in.IdempotencyKey, run.CreatedAt.Add(-lookupSkew))
		if err != nil {
			return CancelResult{}, err
		}
		if b != nil {
			id = b.ID
			if err := a.saveIDs(ctx, in.RunID, b.InputFileID, b.ID); err != nil {
				return CancelResult{}, err
			}
		}
	}
	if id == "" {
		return CancelResult{}, nil
	}
	_, err := a.AI.Batches.Cancel(audit.WithOperation(ctx, azureopenai.OpBatchesCancel), id)
	var apiErr *openai.Error
	if err != nil && !(errors.As(err, &apiErr) && apiErr.StatusCode == 409) {
		return CancelResult{}, classify("batches.cancel", err)
	}
	return CancelResult{BatchID: id}, nil
}
