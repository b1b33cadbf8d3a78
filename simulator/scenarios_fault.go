package simulator

import "net/http"

// faulted reports whether the first-attempt status scenarios disturb op.
func faulted(op Operation) bool {
	switch op {
	case OpUploadFile, OpCreateBatch, OpGetBatch, OpFileContent:
		return true
	}
	return false
}

// Azure-style bodies of the transient failures.
const (
	msg429 = "Requests to the Batch API under Azure OpenAI API version 2024-10-21 have exceeded call rate limit " +
		"of your current OpenAI S0 pricing tier. Please retry after 1 second. " +
		"Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
	msg500 = "The server had an error while processing your request. Sorry about that!"
	msg503 = "The service is temporarily unable to process your request. Please try again later."
)

// firstAttemptStatus fails the first attempt of every faulted operation on
// each object with status and Retry-After: 1.
func firstAttemptStatus(status int, code, msg string) func(FaultInput) Fault {
	return func(in FaultInput) Fault {
		if in.Attempt != 1 || !faulted(in.Op) {
			return Fault{}
		}
		return Fault{Status: status, Code: code, Message: msg, RetryAfter: "1"}
	}
}

func firstAttemptOf(op Operation, f Fault) func(FaultInput) Fault {
	return func(in FaultInput) Fault {
		if in.Attempt != 1 || in.Op != op {
			return Fault{}
		}
		return f
	}
}

// faultScenarios disturb single exchanges; the batches themselves succeed.
func faultScenarios(cfg Config) []Scenario {
	return []Scenario{
		{
			Name:        "fault_429",
			Description: "first files.create (per content), batches.create (per input file), batches.retrieve and files.content (per object) answer 429, Retry-After: 1",
			Fault:       firstAttemptStatus(http.StatusTooManyRequests, "429", msg429),
		},
		{
			Name:        "fault_500",
			Description: "like fault_429 with 500",
			Fault:       firstAttemptStatus(http.StatusInternalServerError, "InternalServerError", msg500),
		},
		{
			Name:        "fault_503",
			Description: "like fault_429 with 503",
			Fault:       firstAttemptStatus(http.StatusServiceUnavailable, "ServiceUnavailable", msg503),
		},
		{
			Name:        "fault_reset",
			Description: "first files.content of each file sends half the body, then closes the connection",
			Fault:       firstAttemptOf(OpFileContent, Fault{ResetMidBody: true}),
		},
		{
			Name:        "fault_slow",
			Description: "first batches.retrieve of each batch waits --slow-response (" + cfg.SlowResponse.String() + ") before answering",
			Fault:       firstAttemptOf(OpGetBatch, Fault{Delay: cfg.SlowResponse}),
		},
		{
			Name:        "fault_lost_create_file",
			Description: "first files.create (per content) stores the file, then closes the connection without a response",
			Fault:       firstAttemptOf(OpUploadFile, Fault{LoseResponse: true}),
		},
		{
			Name:        "fault_lost_create_batch",
			Description: "first batches.create (per input file) creates the batch, then closes the connection without a response",
			Fault:       firstAttemptOf(OpCreateBatch, Fault{LoseResponse: true}),
		},
	}
}
