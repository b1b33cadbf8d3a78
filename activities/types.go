// Package activities holds the BatchRun activities and the small types they
// exchange with the workflow: references and counts, never payloads.
package activities

import (
	"time"

	"github.com/batchledger/batchledger/models"
)

// Source names a text input: a blob in the audit container (preferred: it
// keeps payloads out of Temporal history) or inline text for small manual runs.
type Source struct {
	Blob   string `json:"blob,omitempty"`
	Inline string `json:"inline,omitempty"`
	Name   string `json:"name,omitempty"` // file name, for messages and format detection
}

// IsZero reports whether the source names nothing.
func (s Source) IsZero() bool { return s.Blob == "" && s.Inline == "" }

// ModelParams are recorded once per run and applied to every request line.
type ModelParams struct {
	Deployment  string   `json:"deployment,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	MaxTokens   *int64   `json:"max_tokens,omitempty"`
}

// RenderInput is what Render needs to build the batch input file.
type RenderInput struct {
	RunID        string      `json:"run_id"`
	Input        Source      `json:"input"`
	Format       string      `json:"format,omitempty"` // csv or jsonl; from the name when empty
	Template     Source      `json:"template"`
	SystemPrompt *Source     `json:"system_prompt,omitempty"`
	Params       ModelParams `json:"params"`
}

// RenderResult refers to the recorded batch input file.
type RenderResult struct {
	Input       models.Ref `json:"input"`
	Template    models.Ref `json:"template"`
	Requests    models.Ref `json:"requests"`
	Rows        int        `json:"rows"`
	Submitted   int        `json:"submitted"`
	NotRendered int        `json:"not_rendered"`
}

// UploadInput names the rendered file and the run's idempotency key.
type UploadInput struct {
	RunID          string     `json:"run_id"`
	IdempotencyKey string     `json:"idempotency_key"`
	Requests       models.Ref `json:"requests"`
}

// UploadResult holds Azure's ids for the run's input file and batch.
type UploadResult struct {
	FileID  string `json:"file_id"`
	BatchID string `json:"batch_id"`
	Adopted bool   `json:"adopted"` // found from an earlier attempt instead of created
}

// PollInput names the batch to poll and what the workflow already knows of
// it. Poll returns early (instead of "not ready") when the status changed, or
// when the counts changed and ReportEvery has passed since ReportedAt, so the
// workflow's progress query stays current while history stays small.
type PollInput struct {
	RunID       string        `json:"run_id"`
	BatchID     string        `json:"batch_id"`
	Known       *BatchState   `json:"known,omitempty"`
	ReportedAt  time.Time     `json:"reported_at,omitempty"`
	ReportEvery time.Duration `json:"report_every,omitempty"`
}

// BatchState is the small, validated summary of a batch object. Batch points
// at the exact JSON Azure sent, inside the recorded response.
type BatchState struct {
	ID            string       `json:"id"`
	Status        string       `json:"status"`
	OutputFileID  string       `json:"output_file_id,omitempty"`
	ErrorFileID   string       `json:"error_file_id,omitempty"`
	RequestCounts RequestCount `json:"request_counts"`
	Batch         models.Range `json:"batch"`
}

// RequestCount mirrors the batch's request_counts.
type RequestCount struct {
	Total     int64 `json:"total"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
}

// Terminal reports whether Azure will not change the batch any more.
func (b BatchState) Terminal() bool { return IsTerminal(b.Status) }

// IsTerminal reports whether a batch status is final.
func IsTerminal(status string) bool {
	switch status {
	case "completed", "failed", "expired", "cancelled":
		return true
	}
	return false
}

// DownloadInput names the finished batch; Batch is nil when no row was submitted.
type DownloadInput struct {
	RunID    string      `json:"run_id"`
	Batch    *BatchState `json:"batch,omitempty"`
	TimedOut bool        `json:"timed_out,omitempty"` // we cancelled the batch after max_wait
	Canceled bool        `json:"canceled,omitempty"`  // a user cancelled the run
}

// CancelInput names the batch to cancel, or the key to find it by.
type CancelInput struct {
	RunID          string `json:"run_id"`
	IdempotencyKey string `json:"idempotency_key"`
	BatchID        string `json:"batch_id,omitempty"`
}

// CancelResult names the batch that was asked to cancel; empty when the run has none.
type CancelResult struct {
	BatchID string `json:"batch_id,omitempty"`
}

// DownloadResult refers to the results JSONL and counts rows per outcome.
type DownloadResult struct {
	Results   models.Ref     `json:"results"`
	Counts    map[string]int `json:"counts"`
	Anomalies int            `json:"anomalies"`
}

// Error types the workflow does not retry.
const (
	ErrInvalidInput  = "InvalidInput"
	ErrBatchNotReady = "BatchNotReady"
	ErrAzureRejected = "AzureRejected"
	ErrAuditCorrupt  = "AuditIntegrity"
)
