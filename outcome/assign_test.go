package outcome

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Line builders for Assign tests, parsed through ParseFile so they are real.
func okLine(id string) string {
	return `{"custom_id":"` + id + `","response":{"status_code":200,"body":{"choices":[{"message":{"content":"ok ` + id + `"}}]}},"error":null}`
}

func errLine(id string, status int) string {
	return `{"custom_id":"` + id + `","response":{"status_code":` + strconv.Itoa(status) + `,"body":{"error":{"code":"c","message":"m"}}},"error":null}`
}

func topErrLine(id, code string) string {
	return `{"custom_id":"` + id + `","response":null,"error":{"code":"` + code + `","message":"m"}}`
}

func file(src Source, lines ...string) []Line {
	return ParseFile(src, []byte(strings.Join(lines, "\n")+"\n"))
}

func submitted(n int) []Submitted {
	s := make([]Submitted, n)
	for i := range s {
		s[i] = Submitted{RowIndex: i + 1, CustomID: "row-" + strconv.Itoa(i+1)}
	}
	return s
}

// want is one expected Assignment: outcome plus where its line came from
// (src "" = no line).
type want struct {
	outcome string
	src     Source
	lineNo  int
	msg     string // substring of Message; "" = empty
}

type wantAnomaly struct {
	src      Source
	lineNo   int
	customID string
	problem  string // substring
}

func TestAssign(t *testing.T) {
	completed := BatchInfo{Status: "completed"}
	tests := []struct {
		name      string
		submitted []Submitted
		batch     BatchInfo
		output    []Line
		errs      []Line
		want      []want
		anomalies []wantAnomaly
	}{
		{
			name:      "every row answered, in submitted order",
			submitted: []Submitted{{RowIndex: 3, CustomID: "row-3"}, {RowIndex: 1, CustomID: "row-1"}},
			batch:     completed,
			output:    file(SourceOutput, okLine("row-1"), okLine("row-3")),
			want:      []want{{Response, SourceOutput, 2, ""}, {Response, SourceOutput, 1, ""}},
		},
		{
			name:      "error file lines decide their rows",
			submitted: submitted(4),
			batch:     BatchInfo{Status: "completed", FailedCount: 3},
			output:    file(SourceOutput, okLine("row-1")),
			errs: file(SourceError, errLine("row-2", 429),
				`{"custom_id":"row-3","response":{"status_code":400,"body":{"error":{"code":"content_filter"}}}}`,
				topErrLine("row-4", "server_error")),
			want: []want{
				{Response, SourceOutput, 1, ""},
				{APIError, SourceError, 1, ""},
				{ContentFiltered, SourceError, 2, ""},
				{APIError, SourceError, 3, ""},
			},
		},
		{
			name:      "duplicate in output: first wins, later is an anomaly",
			submitted: submitted(1),
			batch:     completed,
			output:    file(SourceOutput, errLine("row-1", 500), okLine("row-1")),
			want:      []want{{APIError, SourceOutput, 1, ""}},
			anomalies: []wantAnomaly{{SourceOutput, 2, "row-1", "duplicate custom_id (first on output line 1)"}},
		},
		{
			name:      "output file before error file",
			submitted: submitted(1),
			batch:     completed,
			output:    file(SourceOutput, okLine("row-1")),
			errs:      file(SourceError, errLine("row-1", 500), errLine("row-1", 500)),
			want:      []want{{Response, SourceOutput, 1, ""}},
			anomalies: []wantAnomaly{
				{SourceError, 1, "row-1", "duplicate custom_id (first on output line 1)"},
				{SourceError, 2, "row-1", "duplicate custom_id"},
			},
		},
		{
			name:      "unknown custom_id and unreadable lines are anomalies",
			submitted: submitted(1),
			batch:     completed,
			output:    file(SourceOutput, okLine("row-9"), "not json", okLine("row-1"), `{"custom_id":"task-0","response":{"status_code":200,"body":{}}}`),
			want:      []want{{Response, SourceOutput, 3, ""}},
			anomalies: []wantAnomaly{
				{SourceOutput, 1, "row-9", "unknown custom_id"},
				{SourceOutput, 2, "", "no usable custom_id; line: not JSON"},
				{SourceOutput, 4, "task-0", "unknown custom_id; line: choices missing"},
			},
		},
		{
			name:      "malformed line with known custom_id decides its row",
			submitted: submitted(2),
			batch:     completed,
			output:    file(SourceOutput, `{"custom_id":"row-1","response":{"status_code":200,"body":{"choices":[]}}}`, `{"custom_id":"row-2","response":{"status_`),
			want: []want{
				{InvalidResponse, SourceOutput, 1, "choices empty"},
				{InvalidResponse, SourceOutput, 2, "not JSON"},
			},
		},
		{
			name:      "line-level batch_expired and batch_cancelled",
			submitted: submitted(2),
			batch:     BatchInfo{Status: "expired"},
			errs:      file(SourceError, topErrLine("row-1", "batch_expired"), topErrLine("row-2", "batch_cancelled")),
			want:      []want{{BatchExpired, SourceError, 1, ""}, {BatchCancelled, SourceError, 2, ""}},
		},
		{
			name:      "failed batch, no lines",
			submitted: submitted(2),
			batch:     BatchInfo{Status: "failed"},
			want:      []want{{BatchFailed, "", 0, "batch failed"}, {BatchFailed, "", 0, "batch failed"}},
		},
		{
			name:      "expired batch with partial output",
			submitted: submitted(2),
			batch:     BatchInfo{Status: "expired", TimedOut: true},
			output:    file(SourceOutput, okLine("row-2")),
			want:      []want{{BatchExpired, "", 0, "batch expired"}, {Response, SourceOutput, 1, ""}},
		},
		{
			name:      "cancelled batch",
			submitted: submitted(1),
			batch:     BatchInfo{Status: "cancelled"},
			want:      []want{{BatchCancelled, "", 0, "batch cancelled"}},
		},
		{
			name:      "cancelled by us after max wait",
			submitted: submitted(1),
			batch:     BatchInfo{Status: "cancelled", TimedOut: true},
			want:      []want{{BatchTimeout, "", 0, "maximum wait"}},
		},
		{
			name:      "cancelled by us after max wait, lines marked batch_cancelled",
			submitted: submitted(2),
			batch:     BatchInfo{Status: "cancelled", TimedOut: true},
			output:    file(SourceOutput, okLine("row-1")),
			errs:      file(SourceError, topErrLine("row-2", "batch_cancelled")),
			want:      []want{{Response, SourceOutput, 1, ""}, {BatchTimeout, SourceError, 1, "maximum wait"}},
		},
		{
			name:      "completed, row missing",
			submitted: submitted(2),
			batch:     completed,
			output:    file(SourceOutput, okLine("row-1")),
			want:      []want{{Response, SourceOutput, 1, ""}, {ResultNotFound, "", 0, "batch completed; no line"}},
		},
		{
			name:      "completed, error file missing with failures",
			submitted: submitted(2),
			batch:     BatchInfo{Status: "Completed", ErrorFileMissing: true, FailedCount: 1},
			output:    file(SourceOutput, okLine("row-1")),
			want:      []want{{Response, SourceOutput, 1, ""}, {ErrorDetailsUnavailable, "", 0, "1 failed request(s)"}},
		},
		{
			name:      "completed, error file missing but nothing failed",
			submitted: submitted(1),
			batch:     BatchInfo{Status: "completed", ErrorFileMissing: true},
			want:      []want{{ResultNotFound, "", 0, "batch completed"}},
		},
		{
			name:      "nothing submitted",
			batch:     completed,
			output:    file(SourceOutput, okLine("row-1")),
			want:      []want{},
			anomalies: []wantAnomaly{{SourceOutput, 1, "row-1", "unknown custom_id"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, anomalies, err := Assign(tt.submitted, tt.batch, tt.output, tt.errs)
			require.NoError(t, err)
			require.Len(t, got, len(tt.submitted), "exactly one assignment per row")
			for i, w := range tt.want {
				a := got[i]
				assert.Equal(t, tt.submitted[i].RowIndex, a.RowIndex, "assignment %d row", i)
				assert.Equal(t, tt.submitted[i].CustomID, a.CustomID, "assignment %d custom_id", i)
				assert.Equal(t, w.outcome, a.Outcome, "assignment %d outcome", i)
				if w.src == "" {
					assert.Nil(t, a.Line, "assignment %d line", i)
				} else if assert.NotNil(t, a.Line, "assignment %d line", i) {
					assert.Equal(t, w.src, a.Line.Source, "assignment %d source", i)
					assert.Equal(t, w.lineNo, a.Line.LineNo, "assignment %d line no", i)
					assert.Equal(t, a.CustomID, a.Line.CustomID)
				}
				if w.msg == "" {
					assert.Empty(t, a.Message, "assignment %d message", i)
				} else {
					assert.Contains(t, a.Message, w.msg, "assignment %d message", i)
				}
			}
			require.Len(t, anomalies, len(tt.anomalies))
			for i, w := range tt.anomalies {
				a := anomalies[i]
				assert.Equal(t, w.src, a.Source, "anomaly %d", i)
				assert.Equal(t, w.lineNo, a.LineNo, "anomaly %d", i)
				assert.Equal(t, w.customID, a.CustomID, "anomaly %d", i)
				assert.Contains(t, a.Problem, w.problem, "anomaly %d", i)
				assert.NotEmpty(t, a.SHA256, "anomaly %d", i)
			}
		})
	}
}

func TestAssignLinePointsIntoInput(t *testing.T) {
	out := file(SourceOutput, okLine("row-1"))
	got, _, err := Assign(submitted(1), BatchInfo{Status: "completed"}, out, nil)
	require.NoError(t, err)
	assert.Same(t, &out[0], got[0].Line)
}

func TestAssignErrors(t *testing.T) {
	tests := []struct {
		name      string
		submitted []Submitted
		status    string
		wantErr   string
	}{
		{"not final", submitted(1), "in_progress", `batch status "in_progress" is not final`},
		{"cancelling is not final", submitted(1), "cancelling", "not final"},
		{"empty status", submitted(1), "", `batch status "" is not final`},
		{"duplicate custom_id", []Submitted{{1, "row-1"}, {2, "row-1"}}, "completed", `custom_id "row-1" submitted twice (rows 1 and 2)`},
		{"duplicate row", []Submitted{{1, "row-1"}, {1, "row-2"}}, "completed", "row 1 submitted twice"},
		{"empty custom_id", []Submitted{{1, ""}}, "completed", "row 1 submitted with an empty custom_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Assign(tt.submitted, BatchInfo{Status: tt.status}, nil, nil)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
