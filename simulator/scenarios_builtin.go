package simulator

import (
	"fmt"
	"net/http"
	"time"
)

// builtinScenarios are registered in every server; cfg has its defaults set.
func builtinScenarios(cfg Config) []Scenario {
	return append(outcomeScenarios(cfg), faultScenarios(cfg)...)
}

// foreverish is an in-progress phase no test or run waits out (~100 years).
const foreverish = 100 * 365 * 24 * time.Hour

// stuckFinalizingMin is the shortest finalizing phase of stuck_finalizing.
const stuckFinalizingMin = 3 * time.Second

func half(total int) int { return total / 2 }

// lineFailure400 is the per-line failure used by the scenarios that fail lines.
func lineFailure400(msg string) *LineFailure {
	return &LineFailure{StatusCode: http.StatusBadRequest, Code: "invalid_request", Message: msg}
}

func everyOther(in LineInput) LineOutcome {
	if in.Index%2 == 1 {
		return LineOutcome{Failure: lineFailure400("Simulated per-line failure.")}
	}
	return LineOutcome{}
}

// outcomeScenarios shape what a batch ends with.
func outcomeScenarios(cfg Config) []Scenario {
	return []Scenario{
		{
			Name:        DefaultScenario,
			Description: "every line succeeds",
		},
		{
			Name:        "line_errors",
			Description: "every third line (i%3==2) fails with a per-line 400 invalid_request",
			Line: func(in LineInput) LineOutcome {
				if in.Index%3 != 2 {
					return LineOutcome{}
				}
				return LineOutcome{Failure: lineFailure400("Simulated per-line failure.")}
			},
		},
		{
			Name: "content_filter",
			Description: "i%4==1: output line 200 with content null, finish_reason content_filter, violence filtered/high; " +
				"i%4==3: error line 400 content_filter; others succeed",
			Line: func(in LineInput) LineOutcome {
				switch in.Index % 4 {
				case 1:
					return LineOutcome{ContentFiltered: true}
				case 3:
					return LineOutcome{Failure: contentFilterFailure()}
				}
				return LineOutcome{}
			},
		},
		{
			Name: "malformed_output",
			Description: "lines i<7 come back broken in the output file (0 not JSON, 1 no custom_id, 2 unknown custom_id, " +
				"3 response and error, 4 neither, 5 body without choices, 6 choices []); all counted completed",
			Line: func(in LineInput) LineOutcome {
				return LineOutcome{Rewrite: malformation(in.Index)}
			},
		},
		{
			Name:        "all_failed",
			Description: "completed, every line a per-line 400 in the error file, output_file_id null",
			Line: func(LineInput) LineOutcome {
				return LineOutcome{Failure: lineFailure400("Simulated failure of every line.")}
			},
		},
		{
			Name:        "error_file_empty",
			Description: "completed, i%2==1 counted failed, error file exists but is empty (0 bytes)",
			Line:        everyOther,
			ErrorFile:   ErrorFileEmpty,
		},
		{
			Name:        "error_file_blank",
			Description: `completed, i%2==1 counted failed, error_file_id "" (no error file)`,
			Line:        everyOther,
			ErrorFile:   ErrorFileBlankID,
		},
		{
			Name:        "error_file_missing",
			Description: "completed, i%2==1 counted failed, error_file_id names a file that does not exist (404)",
			Line:        everyOther,
			ErrorFile:   ErrorFileDangling,
		},
		{
			Name:        "invalid_json_line",
			Description: "fails at validation with errors.data [invalid_json_line, line 2] (the file is in fact valid)",
			Validate: func(ValidateInput) []BatchError {
				line := 2
				return []BatchError{{Code: "invalid_json_line", Message: "This line is not a valid JSON object.", Line: &line}}
			},
		},
		{
			Name:        "token_limit_exceeded",
			Description: "fails at validation with errors.data [token_limit_exceeded, line null]",
			Validate: func(in ValidateInput) []BatchError {
				return []BatchError{{Code: "token_limit_exceeded", Message: fmt.Sprintf(
					"Enqueued token limit reached for %s. The number of enqueued tokens has surpassed the configured limit "+
						"for the deployment. Please try again once some in_progress batches have been completed.", in.Model)}}
			},
		},
		{
			Name: "expire",
			Description: "expires_at = created_at + validating + in-progress; stays in_progress until then, then expired: " +
				"i<total/2 succeed, the rest batch_expired in the error file",
			Phases: func(p Phases) Phases {
				p.Window = p.Validating + p.InProgress
				p.InProgress = foreverish
				return p
			},
			Partial: half,
		},
		{
			Name: "slow",
			Description: fmt.Sprintf("in_progress for %s (--slow); on cancel, i<total/2 count as finished, the rest batch_cancelled",
				cfg.SlowInProgress),
			Phases: func(p Phases) Phases {
				p.InProgress = cfg.SlowInProgress
				return p
			},
			Partial: half,
		},
		{
			Name:        "stuck_finalizing",
			Description: "finalizing lasts max(10 x finalizing, 3s), then completes normally",
			Phases: func(p Phases) Phases {
				p.Finalizing = max(10*p.Finalizing, stuckFinalizingMin)
				return p
			},
		},
	}
}
