package simulator

import (
	"encoding/json"
	"net/http"
	"time"
)

// MetadataScenarioKey is the batch metadata key that selects a scenario.
const MetadataScenarioKey = "sim_scenario"

// DefaultScenario is used when a batch names no scenario.
const DefaultScenario = "default"

// Scenario decides how the simulator treats the batches (and files) that
// select it. It is the extension point for misbehaviour: every hook is
// optional, and a nil hook means "behave like the real service on a good day".
type Scenario struct {
	Name        string
	Description string

	// Line decides the outcome of one valid, executed input line.
	// Nil: every line succeeds.
	Line func(in LineInput) LineOutcome

	// Fault may disturb one HTTP exchange of an operation on a batch or file.
	// Nil: no faults.
	Fault func(in FaultInput) Fault

	// Validate may fail a batch whose input passed validation: a non-empty
	// result becomes the failed batch's errors.data. Nil: no extra failures.
	Validate func(in ValidateInput) []BatchError

	// Phases adjusts the lifecycle durations of the scenario's batches, given
	// the configured ones. Nil: the configured durations and a 24h window.
	Phases func(p Phases) Phases

	// Partial is how many leading lines count as executed when a batch is cut
	// short while in progress (cancelled or expired). Nil: the elapsed
	// fraction of the in-progress phase.
	Partial func(total int) int

	// ErrorFile shapes how failed lines are reported.
	ErrorFile ErrorFileMode
}

// Phases are the durations of a batch's lifecycle.
type Phases struct {
	Validating  time.Duration
	InProgress  time.Duration
	Finalizing  time.Duration
	CancelDelay time.Duration
	// Window is the time from created_at to expires_at. A batch still in
	// progress at expires_at expires with partial results.
	Window time.Duration
}

// ErrorFileMode says how a batch's failed lines reach the client.
type ErrorFileMode int

const (
	// ErrorFileNormal writes failed lines to an error file; with no failed
	// line there is no error file (error_file_id null).
	ErrorFileNormal ErrorFileMode = iota
	// ErrorFileEmpty always creates an error file, always empty (0 bytes);
	// failed lines are only counted.
	ErrorFileEmpty
	// ErrorFileBlankID creates no error file and answers error_file_id "";
	// failed lines are only counted.
	ErrorFileBlankID
	// ErrorFileDangling answers an error_file_id naming a file that does
	// not exist, so its content is a 404.
	ErrorFileDangling
)

// LineInput describes one validated request line.
type LineInput struct {
	BatchID  string
	Index    int // 0-based position in the input file
	CustomID string
	Model    string
	Body     json.RawMessage // the line's "body" object, verbatim
	Raw      []byte          // the whole input line, verbatim, without newline
}

// LineOutcome is a scenario's verdict on one line; the zero value is success.
// At most one field should be set; Failure wins, then ContentFiltered.
type LineOutcome struct {
	// Failure, if set, sends the line to the error file as an API error
	// response, the way OpenAI reports per-line failures.
	Failure *LineFailure
	// ContentFiltered answers the line in the output file with status 200 and
	// a completion withheld by the content filter: message.content null,
	// finish_reason "content_filter", the violence category filtered (high).
	ContentFiltered bool
	// Rewrite, if set, replaces the success line written to the output file
	// with its result (one line without newline; need not be valid JSON). The
	// line still counts as completed.
	Rewrite func(line []byte) []byte
}

// LineFailure is an API error answered for one line.
type LineFailure struct {
	StatusCode int
	Code       string
	Message    string
	// Param and InnerError are added to the error body when set.
	Param      string
	InnerError json.RawMessage
}

// ValidateInput describes an input file that passed validation.
type ValidateInput struct {
	BatchID string
	Model   string // the deployment name (body.model of the lines)
	Lines   int
}

// Operation names an API call a scenario may disturb.
type Operation string

// Operations a Fault hook is consulted for.
const (
	OpUploadFile  Operation = "files.create"
	OpListFiles   Operation = "files.list"
	OpGetFile     Operation = "files.retrieve"
	OpDeleteFile  Operation = "files.delete"
	OpFileContent Operation = "files.content"
	OpCreateBatch Operation = "batches.create"
	OpGetBatch    Operation = "batches.retrieve"
	OpCancelBatch Operation = "batches.cancel"
	OpListBatches Operation = "batches.list"
)

// FaultInput tells a Fault hook which exchange it is looking at.
type FaultInput struct {
	Op      Operation
	BatchID string // "" before the batch exists (create) or for file calls
	FileID  string // the file operated on; the input file for batches.create
	// ContentSHA256 is the hex SHA-256 of the uploaded file (files.create).
	ContentSHA256 string
	// Attempt is 1 for the first call of Op on this object (batch, file, or
	// uploaded content) under this scenario since the simulator started.
	Attempt  int
	Metadata map[string]string
	Request  *http.Request
}

// Fault is what a scenario injects into one exchange; the zero value is none.
type Fault struct {
	// Delay holds the response back (a slow service).
	Delay time.Duration
	// Status, if non-zero, answers with this status and an Azure error body
	// instead of performing the operation (e.g. 429, 500, 503).
	Status     int
	Code       string
	Message    string
	RetryAfter string // Retry-After header value, if any
	// Reset closes the connection without any response, before the operation.
	Reset bool
	// ResetMidBody performs the operation and sends the status, the headers
	// and the first half of the body (by Content-Length), then closes the
	// connection.
	ResetMidBody bool
	// LoseResponse performs the operation, then closes the connection without
	// sending the response (the client cannot know whether it happened).
	LoseResponse bool
}

func (f Fault) none() bool { return f == Fault{} }
