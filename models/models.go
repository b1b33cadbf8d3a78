// Package models holds the audit trail's PostgreSQL tables (GORM models) and
// the small reference types that travel in Temporal history instead of payloads.
package models

import (
	"fmt"
	"time"
)

// Ref names exact bytes in the content-addressed store: the blob
// "sha256/<SHA256>" holds Size bytes whose SHA-256 is SHA256.
type Ref struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// BlobName is the blob's name in the audit container.
func (r Ref) BlobName() string { return BlobName(r.SHA256) }

// IsZero reports whether r names nothing.
func (r Ref) IsZero() bool { return r.SHA256 == "" }

// BlobName returns the content-addressed blob name for a lowercase hex SHA-256.
func BlobName(sha string) string { return "sha256/" + sha }

// Range names one line inside a recorded blob: Length bytes at Offset of
// blob sha256/Blob, whose own SHA-256 is SHA256. Rows point into the files
// that were sent and received instead of becoming one blob each.
type Range struct {
	Blob   string `json:"blob"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

func (r Range) String() string {
	return fmt.Sprintf("%s[%d:+%d]", BlobName(r.Blob), r.Offset, r.Length)
}

// Call is one recorded exchange: an HTTP attempt to Azure OpenAI (every
// attempt, retries and failures included) or one of our own recorded steps
// (inputs, render, results). Request and response are blobs holding exact
// bytes; for HTTP they are the message as sent/received (start line, headers
// with secrets redacted, blank line, body), and *BodyOffset says where the
// body starts.
type Call struct {
	ID                 uint64  `gorm:"primaryKey"`
	RunID              string  `gorm:"not null;uniqueIndex:calls_attempt_uidx,priority:1;index"`
	WorkflowRunID      string  `gorm:"not null;default:'';uniqueIndex:calls_attempt_uidx,priority:2"` // Temporal run: a deliberate re-run of the same workflow id
	Activity           string  `gorm:"not null;uniqueIndex:calls_attempt_uidx,priority:3"`
	Attempt            int32   `gorm:"not null;uniqueIndex:calls_attempt_uidx,priority:4"`
	CallIndex          int32   `gorm:"not null;uniqueIndex:calls_attempt_uidx,priority:5"`
	Operation          string  `gorm:"not null;index"`
	Method             string  `gorm:"not null;default:''"`
	URL                string  `gorm:"not null;default:''"`
	Status             int     `gorm:"not null;default:0"` // HTTP status; 0 when no response arrived or not HTTP
	RequestHash        string  `gorm:"not null;default:''"`
	RequestRef         string  `gorm:"not null;default:''"`
	RequestSize        int64   `gorm:"not null;default:0"`
	RequestBodyOffset  int64   `gorm:"not null;default:0"`
	ResponseHash       *string // nil when no response arrived
	ResponseRef        *string
	ResponseSize       *int64
	ResponseBodyOffset *int64
	ErrorJSON          *string `gorm:"type:jsonb"`
	LatencyMS          int64   `gorm:"not null;default:0"`
	CreatedAt          time.Time
}

// Run is one BatchRun: what went in, what was created at Azure, what came out.
type Run struct {
	RunID          string `gorm:"primaryKey"`
	IdempotencyKey string `gorm:"not null;default:'';index"`
	InputName      string
	InputFormat    string
	InputHash      string
	InputSize      int64
	TemplateName   string
	TemplateHash   string
	SystemHash     string // empty when no system prompt
	ParamsHash     string // blob with deployment, temperature, max_tokens
	RequestsHash   string
	RequestsSize   int64
	Rows           int
	Submitted      int
	InputFileID    string
	BatchID        string
	BatchStatus    string
	OutputFileID   string
	ErrorFileID    string
	ResultsHash    string
	ResultsSize    int64
	CountsJSON     *string `gorm:"type:jsonb"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RowRecord links one input row to the request line it was sent as and the
// output or error line it came back as, each as a range into a recorded blob.
type RowRecord struct {
	RunID    string  `gorm:"primaryKey"`
	RowIndex int     `gorm:"primaryKey;autoIncrement:false"` // 1-based data row
	Line     int     `gorm:"not null"`                       // line in the input file
	CustomID *string // nil when the row was not submitted
	VarsHash string  `gorm:"not null;default:''"`

	InputBlob   string `gorm:"not null"`
	InputOffset int64  `gorm:"not null"`
	InputLength int64  `gorm:"not null"`
	InputSHA    string `gorm:"not null"`

	RequestBlob   *string
	RequestOffset *int64
	RequestLength *int64
	RequestSHA    *string
	PromptHash    *string

	Outcome string  `gorm:"not null;default:'';index"`
	Message *string // reason in words when no line decided the outcome (template error, batch failed, ...)

	ResultSource *string // "output" or "error"
	ResultLineNo *int
	ResultBlob   *string // the recorded files.content response
	ResultOffset *int64
	ResultLength *int64
	ResultSHA    *string

	ResultsOffset *int64 // this row's line in the results JSONL
	ResultsLength *int64
	ResultsSHA    *string
}

// Anomaly is a line Azure sent that could not be attributed to a row
// (malformed, unknown or duplicate custom_id). It is kept, never dropped.
type Anomaly struct {
	ID       uint64 `gorm:"primaryKey"`
	RunID    string `gorm:"not null;index"`
	Source   string `gorm:"not null"`
	LineNo   int    `gorm:"not null"`
	CustomID string `gorm:"not null;default:''"`
	Problem  string `gorm:"not null"`
	Blob     string
	Offset   int64
	Length   int64
	SHA256   string
}

// All lists the tables for migration.
func All() []any { return []any{&Call{}, &Run{}, &RowRecord{}, &Anomaly{}} }
