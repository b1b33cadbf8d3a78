package outcome

import (
	"fmt"
	"strings"
)

// Submitted is a row that was sent in the batch.
type Submitted struct {
	RowIndex int    `json:"row_index"`
	CustomID string `json:"custom_id"`
}

// BatchInfo is what Assign needs to know about the finished batch.
type BatchInfo struct {
	Status string `json:"status"` // completed | failed | expired | cancelled (case-insensitive)
	// TimedOut: we cancelled the batch ourselves after the maximum wait.
	TimedOut bool `json:"timed_out"`
	// ErrorFileMissing: error_file_id absent, empty or unreadable while
	// request_counts.failed > 0.
	ErrorFileMissing bool `json:"error_file_missing"`
	FailedCount      int  `json:"failed_count"` // request_counts.failed
}

// Assignment is a row's one outcome.
type Assignment struct {
	RowIndex int    `json:"row_index"`
	CustomID string `json:"custom_id"`
	Outcome  string `json:"outcome"`
	// Line is the line that decided the outcome (it points into the slice
	// given to Assign); nil when no line did.
	Line *Line `json:"line,omitempty"`
	// Message is the reason in words: why there is no line, or the line's
	// Problem for an invalid_response.
	Message string `json:"message,omitempty"`
}

// Anomaly is a line that could not be attributed to a row. It is reported,
// never dropped and never assigned.
type Anomaly struct {
	Source   Source `json:"source"`
	LineNo   int    `json:"line_no"`
	Offset   int64  `json:"offset"` // the line's byte range and hash, as in Line
	Length   int64  `json:"length"`
	SHA256   string `json:"sha256"`
	CustomID string `json:"custom_id,omitempty"`
	Problem  string `json:"problem"`
}

// Assign gives every submitted row exactly one outcome; see the package
// documentation for the rules. The error reports our own inconsistencies
// (duplicate or empty custom_id or row index among submitted) and a batch
// status that is not final: those are bugs, not Azure's data.
func Assign(submitted []Submitted, b BatchInfo, output, errs []Line) ([]Assignment, []Anomaly, error) {
	status := strings.ToLower(strings.TrimSpace(b.Status))
	switch status {
	case "completed", "failed", "expired", "cancelled":
	default:
		return nil, nil, fmt.Errorf("assign outcomes: batch status %q is not final", b.Status)
	}

	pos := make(map[string]int, len(submitted))
	rows := make(map[int]bool, len(submitted))
	for i, s := range submitted {
		if s.CustomID == "" {
			return nil, nil, fmt.Errorf("assign outcomes: row %d submitted with an empty custom_id", s.RowIndex)
		}
		if j, dup := pos[s.CustomID]; dup {
			return nil, nil, fmt.Errorf("assign outcomes: custom_id %q submitted twice (rows %d and %d)",
				s.CustomID, submitted[j].RowIndex, s.RowIndex)
		}
		if rows[s.RowIndex] {
			return nil, nil, fmt.Errorf("assign outcomes: row %d submitted twice", s.RowIndex)
		}
		pos[s.CustomID] = i
		rows[s.RowIndex] = true
	}

	decided := make([]*Line, len(submitted))
	var anomalies []Anomaly
	for _, file := range [][]Line{output, errs} {
		for i := range file {
			l := &file[i]
			anomaly := func(problem string) {
				anomalies = append(anomalies, Anomaly{
					Source: l.Source, LineNo: l.LineNo, Offset: l.Offset, Length: l.Length,
					SHA256: l.SHA256, CustomID: l.CustomID, Problem: problem,
				})
			}
			if l.CustomID == "" {
				anomaly(withLineProblem("no usable custom_id", l))
				continue
			}
			j, ok := pos[l.CustomID]
			if !ok {
				anomaly(withLineProblem("unknown custom_id", l))
				continue
			}
			if first := decided[j]; first != nil {
				anomaly(withLineProblem(fmt.Sprintf("duplicate custom_id (first on %s line %d)", first.Source, first.LineNo), l))
				continue
			}
			decided[j] = l
		}
	}

	out := make([]Assignment, len(submitted))
	for i, s := range submitted {
		a := Assignment{RowIndex: s.RowIndex, CustomID: s.CustomID}
		if l := decided[i]; l != nil {
			a.Outcome, a.Line = l.Outcome, l
			if l.Outcome == InvalidResponse {
				a.Message = l.Problem
			}
			if l.Outcome == BatchCancelled && b.TimedOut {
				// Azure says "cancelled" because we cancelled it for running past the maximum wait.
				a.Outcome, a.Message = BatchTimeout, "batch cancelled after the maximum wait; the line was not executed"
			}
		} else {
			a.Outcome, a.Message = noLineOutcome(status, b)
		}
		out[i] = a
	}
	return out, anomalies, nil
}

func withLineProblem(what string, l *Line) string {
	if l.Problem != "" {
		return what + "; line: " + l.Problem
	}
	return what
}

// noLineOutcome is the outcome of a row that neither file mentions.
func noLineOutcome(status string, b BatchInfo) (string, string) {
	const none = "no line in the output or error file"
	switch status {
	case "failed":
		return BatchFailed, "batch failed; " + none
	case "expired":
		return BatchExpired, "batch expired before this row ran; " + none
	case "cancelled":
		if b.TimedOut {
			return BatchTimeout, "batch cancelled after the maximum wait; " + none
		}
		return BatchCancelled, "batch cancelled; " + none
	}
	if b.ErrorFileMissing && b.FailedCount > 0 {
		return ErrorDetailsUnavailable, fmt.Sprintf(
			"batch completed with %d failed request(s) but its error file is missing or unreadable; %s", b.FailedCount, none)
	}
	return ResultNotFound, "batch completed; " + none
}
