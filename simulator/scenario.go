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

// Scenario decides how the simulator treats the batches that select it. It is
// the extension point for misbehaviour: every hook is optional, and a nil hook
// means "behave like the real service on a good day". Future hooks (expiry,
// content filtering, malformed output, token quota) belong here as further
// optional fields, consulted by the code that owns that step.
type Scenario struct {
	Name        string
	Description string

	// Line decides the outcome of one valid, executed input line.
	// Nil: every line succeeds.
	Line func(in LineInput) LineOutcome

	// Fault may disturb one HTTP exchange of an operation on a batch (or on a
	// file, for the scenario forced with --scenario). Nil: no faults.
	Fault func(in FaultInput) Fault
}

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
type LineOutcome struct {
	// Failure, if set, sends the line to the error file as an API error
	// response, the way OpenAI reports per-line failures.
	Failure *LineFailure
}

// LineFailure is an API error answered for one line.
type LineFailure struct {
	StatusCode int
	Code       string
	Message    string
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
	Op       Operation
	BatchID  string // "" before the batch exists (create) or for file calls
	FileID   string
	Attempt  int // 1 for the first call of Op (per scenario and batch/file) since start
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
	// LoseResponse performs the operation, then closes the connection without
	// sending the response (the client cannot know whether it happened).
	LoseResponse bool
}

func (f Fault) none() bool { return f == Fault{} }

// builtinScenarios are registered in every server.
func builtinScenarios() []Scenario {
	return []Scenario{
		{
			Name:        DefaultScenario,
			Description: "every line succeeds",
		},
		{
			Name:        "line_errors",
			Description: "every third line (index%3==2) fails with a per-line 400 invalid_request",
			Line: func(in LineInput) LineOutcome {
				if in.Index%3 != 2 {
					return LineOutcome{}
				}
				return LineOutcome{Failure: &LineFailure{
					StatusCode: http.StatusBadRequest,
					Code:       "invalid_request",
					Message:    "Simulated per-line failure.",
				}}
			},
		},
	}
}
