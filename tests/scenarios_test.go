package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scenario is one simulator behaviour and the outcome each row must get.
type scenario struct {
	name      string                // simulator scenario, chosen by the deployment name sim-<name>
	rows      int                   // rows in the generated input
	args      []string              // extra starter flags
	want      func(i, n int) string // outcome of 0-based row i of n
	message   string                // substring every row without a line must carry in its message
	anomalies int                   // lines Azure sent that match no row
	cancel    bool                  // a user cancels the workflow once the batch is in progress
	status    string                // final batch status
}

func every(outcome string) func(int, int) string { return func(int, int) string { return outcome } }

func firstHalf(first, rest string) func(int, int) string {
	return func(i, n int) string {
		if i < n/2 {
			return first
		}
		return rest
	}
}

var scenarios = []scenario{
	{name: "default", rows: 5, want: every("response"), status: "completed"},
	{name: "line_errors", rows: 7, status: "completed", want: func(i, _ int) string {
		if i%3 == 2 {
			return "api_error"
		}
		return "response"
	}},
	{name: "content_filter", rows: 8, status: "completed", want: func(i, _ int) string {
		if i%4 == 1 || i%4 == 3 {
			return "content_filtered"
		}
		return "response"
	}},
	{name: "malformed_output", rows: 9, status: "completed", anomalies: 2, want: func(i, _ int) string {
		switch i {
		case 0: // not JSON, but its custom_id is readable: the row is told its line was malformed
			return "invalid_response"
		case 1, 2: // no custom_id / an unknown custom_id: the row's own line never came
			return "result_not_found"
		case 3, 4, 5, 6: // both response and error, neither, no choices, empty choices
			return "invalid_response"
		}
		return "response"
	}},
	{name: "all_failed", rows: 4, want: every("api_error"), status: "completed"},
	{name: "error_file_empty", rows: 6, status: "completed", want: func(i, _ int) string {
		if i%2 == 1 {
			return "error_details_unavailable"
		}
		return "response"
	}},
	{name: "error_file_blank", rows: 6, status: "completed", want: func(i, _ int) string {
		if i%2 == 1 {
			return "error_details_unavailable"
		}
		return "response"
	}},
	{name: "error_file_missing", rows: 6, status: "completed", want: func(i, _ int) string {
		if i%2 == 1 {
			return "error_details_unavailable"
		}
		return "response"
	}},
	{name: "invalid_json_line", rows: 3, want: every("batch_failed"), message: "line 2: invalid_json_line", status: "failed"},
	{name: "token_limit_exceeded", rows: 3, want: every("batch_failed"), message: "token_limit_exceeded", status: "failed"},
	{name: "expire", rows: 6, want: firstHalf("response", "batch_expired"), status: "expired"},
	{name: "stuck_finalizing", rows: 3, want: every("response"), status: "completed"},
	{name: "slow", rows: 6, args: []string{"--max-wait", "4s"}, want: firstHalf("response", "batch_timeout"), status: "cancelled"},
	{name: "slow", rows: 6, cancel: true, want: firstHalf("response", "batch_cancelled"), status: "cancelled"},
}

// TestScenarios runs every simulator scenario through the real stack and
// checks each row's outcome and that explain verifies every row.
func TestScenarios(t *testing.T) {
	s := requireStack(t)
	s.sharedWorker(t)
	for _, sc := range scenarios {
		name := sc.name
		if sc.cancel {
			name += "_user_cancel"
		} else if len(sc.args) > 0 {
			name += "_max_wait"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			runID := fmt.Sprintf("e2e-%s-%d", name, time.Now().UnixNano())
			input := writeRows(t, sc.rows)
			args := append([]string{"run", "--input", input, "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
				"--deployment", "sim-" + sc.name, "--poll-interval", "300ms", "--run-id", runID}, sc.args...)
			if sc.cancel {
				s.run(t, ctx, "starter", args...)
				s.awaitBatchStatus(t, ctx, runID, "in_progress")
				s.await(t, ctx, "progress query shows the batch in progress", func() bool {
					out, err := s.exec(ctx, nil, "temporal", "workflow", "query", "--workflow-id", runID, "--type", "progress")
					return err == nil && strings.Contains(out, `"batch_status":"in_progress"`) &&
						strings.Contains(out, fmt.Sprintf(`"total":%d`, sc.rows))
				})
				s.run(t, ctx, "temporal", "workflow", "cancel", "--workflow-id", runID)
				s.awaitResults(t, ctx, runID)
				desc := s.run(t, ctx, "temporal", "workflow", "describe", "--workflow-id", runID, "--output", "json")
				require.Contains(t, desc, "WORKFLOW_EXECUTION_STATUS_CANCELED")
			} else {
				s.run(t, ctx, "starter", append(args, "--wait")...)
			}
			s.checkOutcomes(t, ctx, runID, sc)
		})
	}
}

// writeRows makes a CSV in the shape of examples/rows.csv with n rows.
func writeRows(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,product,review\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,Product %d,\"Review number %d, written %d\"\n", i, i, i, time.Now().UnixNano())
	}
	path := filepath.Join(t.TempDir(), "rows.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

func (s *stack) checkOutcomes(t *testing.T, ctx context.Context, runID string, sc scenario) {
	t.Helper()
	res := filepath.Join(t.TempDir(), "results.jsonl")
	s.run(t, ctx, "starter", "results", runID, "-o", res)
	lines := readResults(t, res)
	require.Len(t, lines, sc.rows, "every row is in the results exactly once")
	for i, l := range lines {
		require.EqualValues(t, i+1, l["row"], "results are in input order")
		require.Equal(t, sc.want(i, sc.rows), l["outcome"], "row %d: %v", i+1, l)
		if sc.message != "" && l["outcome"] != "response" {
			require.Contains(t, l["message"], sc.message, "row %d", i+1)
		}
		if l["outcome"] == "response" {
			require.NotNil(t, l["response"], "row %d has its response", i+1)
		}
		out := s.run(t, ctx, "starter", "explain", runID, "--row", fmt.Sprint(i+1))
		require.Contains(t, out, "checks verified", "explain row %d", i+1)
		require.Contains(t, out, "outcome: "+sc.want(i, sc.rows))
	}
	var anomalies int
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM anomalies WHERE run_id = $1`, runID).Scan(&anomalies))
	require.Equal(t, sc.anomalies, anomalies, "anomalies recorded")
	var status string
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT batch_status FROM runs WHERE run_id = $1`, runID).Scan(&status))
	require.Equal(t, sc.status, status)
}

// awaitBatchStatus waits until the run's recorded batch status is want.
func (s *stack) awaitBatchStatus(t *testing.T, ctx context.Context, runID, want string) {
	t.Helper()
	s.await(t, ctx, "batch "+want, func() bool {
		var st string
		_ = s.db.QueryRowContext(ctx, `SELECT batch_status FROM runs WHERE run_id = $1`, runID).Scan(&st)
		return st == want
	})
}

// awaitResults waits until the run has recorded its results.
func (s *stack) awaitResults(t *testing.T, ctx context.Context, runID string) {
	t.Helper()
	s.await(t, ctx, "results", func() bool {
		var h string
		_ = s.db.QueryRowContext(ctx, `SELECT results_hash FROM runs WHERE run_id = $1`, runID).Scan(&h)
		return h != ""
	})
}

// await polls a condition on the stack until it holds or ctx ends.
func (s *stack) await(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}
