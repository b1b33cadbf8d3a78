package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"go.temporal.io/sdk/temporal"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/azureopenai"
	"github.com/batchledger/batchledger/models"
)

// Batch metadata keys that tie an Azure batch to its run.
const (
	MetaRun = "batchledger_run"
	MetaKey = "batchledger_key"
)

// Lists are newest first: the search for an earlier attempt's objects stops
// at objects older than the run (less a margin for clock skew), or after
// lookupLimit objects at most.
const (
	lookupLimit = 10000
	lookupSkew  = 15 * time.Minute
)

// Upload creates the run's input file and batch, exactly once: an earlier
// attempt's file or batch (found in our runs row or by listing Azure) is
// adopted instead of created again, and the SDK never blindly retries the
// non-idempotent POSTs.
func (a *Activities) Upload(ctx context.Context, in UploadInput) (UploadResult, error) {
	ctx, done := a.begin(ctx, in.RunID)
	defer done()
	var run models.Run
	if err := a.DB.WithContext(ctx).First(&run, "run_id = ?", in.RunID).Error; err != nil {
		return UploadResult{}, fmt.Errorf("load run %s: %w", in.RunID, err)
	}
	if run.IdempotencyKey != in.IdempotencyKey {
		// A deliberate re-run of this workflow id: the ids saved belong to the earlier run.
		run.InputFileID, run.BatchID = "", ""
	}
	if run.BatchID != "" {
		return UploadResult{FileID: run.InputFileID, BatchID: run.BatchID, Adopted: true}, nil
	}
	if err := a.setRunKey(ctx, in.RunID, in.IdempotencyKey); err != nil {
		return UploadResult{}, err
	}
	since := run.CreatedAt.Add(-lookupSkew)
	if b, err := a.findBatch(ctx, in.IdempotencyKey, since); err != nil {
		return UploadResult{}, err
	} else if b != nil {
		if err := a.saveIDs(ctx, in.RunID, b.InputFileID, b.ID); err != nil {
			return UploadResult{}, err
		}
		return UploadResult{FileID: b.InputFileID, BatchID: b.ID, Adopted: true}, nil
	}

	fileID := run.InputFileID
	filename := fmt.Sprintf("batchledger-%s.jsonl", audit.Hash([]byte(in.IdempotencyKey))[:24])
	if fileID == "" {
		found, err := a.findFile(ctx, filename, in.Requests.Size, since)
		if err != nil {
			return UploadResult{}, err
		}
		fileID = found
	}
	if fileID == "" {
		jsonl, err := a.Store.Get(ctx, in.Requests)
		if err != nil {
			return UploadResult{}, integrity(err)
		}
		f, err := a.AI.Files.New(audit.WithOperation(ctx, azureopenai.OpFilesCreate), openai.FileNewParams{
			File:    openai.File(bytes.NewReader(jsonl), filename, "application/jsonl"),
			Purpose: openai.FilePurposeBatch,
		}, option.WithMaxRetries(0))
		if err != nil {
			return UploadResult{}, classify("files.create", err)
		}
		fileID = f.ID
		a.crash("upload.after_files_create")
		if err := a.saveIDs(ctx, in.RunID, fileID, ""); err != nil {
			return UploadResult{}, err
		}
	}

	b, err := a.AI.Batches.New(audit.WithOperation(ctx, azureopenai.OpBatchesCreate), openai.BatchNewParams{
		InputFileID:      fileID,
		Endpoint:         openai.BatchNewParamsEndpoint("/chat/completions"),
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata:         shared.Metadata{MetaRun: in.RunID, MetaKey: in.IdempotencyKey},
	}, option.WithMaxRetries(0))
	if err != nil {
		return UploadResult{}, classify("batches.create", err)
	}
	if b.ID == "" {
		return UploadResult{}, temporal.NewNonRetryableApplicationError("batches.create: response has no batch id", ErrAzureRejected, nil)
	}
	a.crash("upload.after_batches_create")
	if err := a.saveIDs(ctx, in.RunID, fileID, b.ID); err != nil {
		return UploadResult{}, err
	}
	return UploadResult{FileID: fileID, BatchID: b.ID}, nil
}

// setRunKey claims the runs row for this key; ids saved under another key
// (an earlier run of the same workflow id) are cleared in the same statement.
func (a *Activities) setRunKey(ctx context.Context, runID, key string) error {
	if err := a.DB.WithContext(ctx).Model(&models.Run{}).Where("run_id = ? AND idempotency_key <> ?", runID, key).
		Updates(map[string]any{"idempotency_key": key, "input_file_id": "", "batch_id": "", "batch_status": ""}).Error; err != nil {
		return fmt.Errorf("save idempotency key of %s: %w", runID, err)
	}
	return nil
}

func (a *Activities) saveIDs(ctx context.Context, runID, fileID, batchID string) error {
	upd := map[string]any{"input_file_id": fileID}
	if batchID != "" {
		upd["batch_id"] = batchID
	}
	if err := a.DB.WithContext(ctx).Model(&models.Run{}).Where("run_id = ?", runID).Updates(upd).Error; err != nil {
		return fmt.Errorf("save ids of %s: %w", runID, err)
	}
	return nil
}

// findBatch looks for a batch an earlier attempt created for this key.
func (a *Activities) findBatch(ctx context.Context, key string, since time.Time) (*openai.Batch, error) {
	it := a.AI.Batches.ListAutoPaging(audit.WithOperation(ctx, azureopenai.OpBatchesList), openai.BatchListParams{Limit: openai.Int(100)})
	for n := 0; n < lookupLimit && it.Next(); n++ {
		b := it.Current()
		if b.CreatedAt > 0 && time.Unix(b.CreatedAt, 0).Before(since) {
			break
		}
		if b.Metadata[MetaKey] == key {
			return &b, nil
		}
	}
	if err := it.Err(); err != nil {
		return nil, classify("batches.list", err)
	}
	return nil, nil
}

// findFile looks for an input file an earlier attempt uploaded for this key.
func (a *Activities) findFile(ctx context.Context, filename string, size int64, since time.Time) (string, error) {
	// Azure's 2024-10-21 files list takes only purpose: no order is promised,
	// so older files are skipped rather than ending the search.
	it := a.AI.Files.ListAutoPaging(audit.WithOperation(ctx, azureopenai.OpFilesList), openai.FileListParams{
		Purpose: openai.String("batch"),
	})
	for n := 0; n < lookupLimit && it.Next(); n++ {
		f := it.Current()
		if f.CreatedAt > 0 && time.Unix(f.CreatedAt, 0).Before(since) {
			continue
		}
		if f.Filename == filename && f.Bytes == size {
			return f.ID, nil
		}
	}
	if err := it.Err(); err != nil {
		return "", classify("files.list", err)
	}
	return "", nil
}

// maxRetryAfter caps how long a Retry-After answer may hold an activity back.
const maxRetryAfter = 5 * time.Minute

// classify makes Azure's 4xx answers (other than 408/409/429) non-retryable:
// repeating a rejected request cannot help. Everything else is retried by
// Temporal, after Azure's Retry-After when it gave one (capped).
func classify(op string, err error) error {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		switch code := apiErr.StatusCode; {
		case code == 408 || code == 409 || code == 429 || code >= 500:
			if d, ok := retryAfter(apiErr.Response); ok {
				return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: HTTP %d, retry after %s", op, code, d),
					"AzureBusy", temporal.ApplicationErrorOptions{NextRetryDelay: d})
			}
			return fmt.Errorf("%s: %w", op, err)
		case code >= 400:
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s rejected by Azure OpenAI: HTTP %d %s", op, code, apiErr.Message), ErrAzureRejected, nil)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// retryAfter reads Retry-After (seconds) from a response, capped at maxRetryAfter.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	secs, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64)
	if err != nil || secs < 0 || secs != secs {
		return 0, false
	}
	d := time.Duration(secs * float64(time.Second))
	if d > maxRetryAfter {
		d = maxRetryAfter
	}
	return d, true
}
