package simulator

import "time"

// Batch statuses as the 2024-10-21 spec spells them (lowercase).
const (
	statusValidating = "validating"
	statusFailed     = "failed"
	statusInProgress = "in_progress"
	statusFinalizing = "finalizing"
	statusCompleted  = "completed"
	statusExpired    = "expired"
	statusCancelling = "cancelling"
	statusCancelled  = "cancelled"
)

const (
	purposeBatch       = "batch"
	purposeBatchOutput = "batch_output"
)

// fileRecord is the persisted form of a file; CreatedAt keeps sub-second
// precision so listing order is stable within one second.
type fileRecord struct {
	ID        string    `json:"id"`
	Bytes     int64     `json:"bytes"`
	CreatedAt time.Time `json:"created_at"`
	Filename  string    `json:"filename"`
	Purpose   string    `json:"purpose"`
	// BatchID names the batch that produced an output file ("" for uploads).
	BatchID string `json:"batch_id,omitempty"`
	// Model is the deployment named by the first parseable line of an upload.
	Model string `json:"model,omitempty"`
	// Scenario governs calls on the file: the one chosen at upload, or the
	// producing batch's.
	Scenario string `json:"scenario,omitempty"`
}

// apiFile is the file object of the REST API.
type apiFile struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
}

func (f *fileRecord) api() apiFile {
	return apiFile{
		ID:        f.ID,
		Object:    "file",
		Bytes:     f.Bytes,
		CreatedAt: f.CreatedAt.Unix(),
		Filename:  f.Filename,
		Purpose:   f.Purpose,
		Status:    "processed",
	}
}

// BatchError is one entry of a batch's errors.data.
type BatchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int    `json:"line"`
}

// BatchErrors is the errors object of a failed batch.
type BatchErrors struct {
	Object string       `json:"object"`
	Data   []BatchError `json:"data"`
}

// RequestCounts mirrors the batch request_counts object.
type RequestCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

// batchRecord is the persisted form of a batch. Times keep full precision so
// progression computed after a restart matches what was computed before it.
type batchRecord struct {
	ID               string            `json:"id"`
	Endpoint         string            `json:"endpoint"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	Scenario         string            `json:"scenario"`
	Metadata         map[string]string `json:"metadata"`
	Errors           *BatchErrors      `json:"errors"`
	OutputFileID     string            `json:"output_file_id,omitempty"`
	ErrorFileID      string            `json:"error_file_id,omitempty"`
	// BlankErrorFileID answers error_file_id "" rather than null when there
	// is no error file.
	BlankErrorFileID bool          `json:"blank_error_file_id,omitempty"`
	Counts           RequestCounts `json:"request_counts"`

	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	InProgressAt *time.Time `json:"in_progress_at,omitempty"`
	FinalizingAt *time.Time `json:"finalizing_at,omitempty"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	FailedAt     *time.Time `json:"failed_at,omitempty"`
	ExpiredAt    *time.Time `json:"expired_at,omitempty"`
	CancellingAt *time.Time `json:"cancelling_at,omitempty"`
	CancelledAt  *time.Time `json:"cancelled_at,omitempty"`

	// LineCount is the number of requests, known once validation passed.
	LineCount int `json:"line_count"`
	// FinishedAtCancel is how many leading lines count as executed when the
	// cancel arrived; the rest end as batch_cancelled.
	FinishedAtCancel int `json:"finished_at_cancel"`
}

func (b *batchRecord) terminal() bool {
	switch b.Status {
	case statusCompleted, statusFailed, statusExpired, statusCancelled:
		return true
	}
	return false
}

// apiBatch is the batch object of the REST API, fields in spec order.
type apiBatch struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Errors           *BatchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    RequestCounts     `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
}

func (b *batchRecord) api() apiBatch {
	expires := b.ExpiresAt.Unix()
	return apiBatch{
		ID:               b.ID,
		Object:           "batch",
		Endpoint:         b.Endpoint,
		Errors:           b.Errors,
		InputFileID:      b.InputFileID,
		CompletionWindow: b.CompletionWindow,
		Status:           b.Status,
		OutputFileID:     optString(b.OutputFileID),
		ErrorFileID:      b.apiErrorFileID(),
		CreatedAt:        b.CreatedAt.Unix(),
		InProgressAt:     optUnix(b.InProgressAt),
		ExpiresAt:        &expires,
		FinalizingAt:     optUnix(b.FinalizingAt),
		CompletedAt:      optUnix(b.CompletedAt),
		FailedAt:         optUnix(b.FailedAt),
		ExpiredAt:        optUnix(b.ExpiredAt),
		CancellingAt:     optUnix(b.CancellingAt),
		CancelledAt:      optUnix(b.CancelledAt),
		RequestCounts:    b.Counts,
		Metadata:         b.Metadata,
	}
}

func (b *batchRecord) apiErrorFileID() *string {
	if b.ErrorFileID == "" && b.BlankErrorFileID {
		return strPtr("")
	}
	return optString(b.ErrorFileID)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optUnix(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	u := t.Unix()
	return &u
}

// apiList is the list envelope shared by files and batches.
type apiList[T any] struct {
	Object  string  `json:"object"`
	Data    []T     `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}
