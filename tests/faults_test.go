package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// simList reads one of the simulator's /_sim test endpoints.
func (s *stack) simList(t *testing.T, ctx context.Context, path string, query url.Values) []map[string]any {
	t.Helper()
	u := envOr("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:18090") + path + "?" + query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("api-key", s.apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", path)
	var list struct {
		Data []map[string]any `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	return list.Data
}

// azureObjects counts the batches and input files the simulator holds for a run.
func (s *stack) azureObjects(t *testing.T, ctx context.Context, runID string) (batches, files int) {
	t.Helper()
	batches = len(s.simList(t, ctx, "/_sim/batches", url.Values{"metadata.batchledger_run": {runID}}))
	var key string
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT idempotency_key FROM runs WHERE run_id = $1`, runID).Scan(&key))
	name := "batchledger-" + sum([]byte(key))[:24] + ".jsonl"
	for _, f := range s.simList(t, ctx, "/_sim/files", nil) {
		if f["filename"] == name {
			files++
		}
	}
	return batches, files
}

func (s *stack) resultsHash(t *testing.T, ctx context.Context, runID string) string {
	t.Helper()
	var h string
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT results_hash FROM runs WHERE run_id = $1`, runID).Scan(&h))
	return h
}

// baseline runs input once without faults and returns its results hash:
// results are deterministic, so a faulty run must end with the same bytes.
func (s *stack) baseline(t *testing.T, ctx context.Context, input string) string {
	t.Helper()
	s.sharedWorker(t)
	runID := fmt.Sprintf("e2e-baseline-%d", time.Now().UnixNano())
	s.run(t, ctx, "starter", "run", "--input", input, "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
		"--poll-interval", "300ms", "--run-id", runID, "--wait")
	return s.resultsHash(t, ctx, runID)
}

// checkExactlyOnce asserts the invariants every faulty run must keep.
func (s *stack) checkExactlyOnce(t *testing.T, ctx context.Context, runID, wantResults string) map[string]int {
	t.Helper()
	batches, files := s.azureObjects(t, ctx, runID)
	require.Equal(t, 1, batches, "exactly one batch at Azure for the run")
	require.Equal(t, 1, files, "exactly one input file at Azure for the run")
	if wantResults != "" {
		require.Equal(t, wantResults, s.resultsHash(t, ctx, runID), "results identical to a fault-free run")
	}
	ops, _ := s.verifyCalls(t, ctx, s.calls(t, ctx, runID))
	for _, op := range []string{"files.create", "batches.create"} {
		var ok int
		require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM calls
			WHERE run_id = $1 AND operation = $2 AND status BETWEEN 200 AND 299`, runID, op).Scan(&ok))
		require.LessOrEqual(t, ok, 1, "at most one successful %s", op)
	}
	return ops
}

// TestWorkerKilledMidRun kills the worker (SIGKILL, like kill -9) at each
// step of a run, starts a new worker, and checks the run completes once.
func TestWorkerKilledMidRun(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	input := writeRows(t, 5)
	want := s.baseline(t, ctx, input)

	points := []struct{ point, activity string }{
		{"render.before_commit", "Render"},
		{"upload.after_files_create", "Upload"},
		{"upload.after_batches_create", "Upload"},
		{"poll.after_retrieve", "Poll"},
		{"download.after_content", "Download"},
		{"download.before_commit", "Download"},
	}
	for _, p := range points {
		t.Run(p.point, func(t *testing.T) {
			t.Parallel()
			// Parallel subtests run after the parent returns: they need their own context.
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			env := []string{"TASK_QUEUE=crash-" + strings.ReplaceAll(p.point, ".", "-") + fmt.Sprint(time.Now().UnixNano())}
			runID := fmt.Sprintf("e2e-crash-%s-%d", p.point, time.Now().UnixNano())
			doomed, err := s.newWorker(append(env, "BATCHLEDGER_FAILPOINTS="+p.point)...)
			require.NoError(t, err)
			died := make(chan error, 1)
			go func() { died <- doomed.cmd.Wait() }()

			s.runEnv(t, ctx, env, "starter", "run", "--input", input, "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
				"--poll-interval", "300ms", "--heartbeat-timeout", "2s", "--run-id", runID)
			select {
			case err := <-died:
				var exit *exec.ExitError
				require.True(t, errors.As(err, &exit), "worker exited: %v\n%s", err, doomed.Output())
				ws, ok := exit.Sys().(syscall.WaitStatus)
				require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL: %v", err)
			case <-ctx.Done():
				t.Fatalf("the worker never reached %s:\n%s", p.point, doomed.Output())
			}
			killed := time.Now()
			s.startWorker(t, env...)
			s.runEnv(t, ctx, env, "temporal", "workflow", "result", "--workflow-id", runID)
			recovery := time.Since(killed)

			ops := s.checkExactlyOnce(t, ctx, runID, want)
			var dead, retried int
			require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE attempt = 1), count(*) FILTER (WHERE attempt > 1)
				FROM calls WHERE run_id = $1 AND activity = $2`, runID, p.activity).Scan(&dead, &retried))
			require.NotZero(t, dead, "the killed attempt's calls stay recorded")
			require.NotZero(t, retried, "a later attempt finished the work")
			t.Logf("failpoint %s: recovered in %s after the kill; calls %v", p.point, recovery.Round(100*time.Millisecond), ops)
		})
	}
}

// TestTwoWorkersFiveRuns runs five runs at once on two workers sharing a task queue.
func TestTwoWorkersFiveRuns(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	input := writeRows(t, 4)
	want := s.baseline(t, ctx, input)
	env := []string{fmt.Sprintf("TASK_QUEUE=pair-%d", time.Now().UnixNano())}
	s.startWorker(t, env...)
	s.startWorker(t, env...)
	var wg sync.WaitGroup
	ids := make([]string, 5)
	errs := make([]error, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("e2e-pair-%d-%d", i, time.Now().UnixNano())
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := s.exec(ctx, env, "starter", "run", "--input", input, "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
				"--poll-interval", "300ms", "--run-id", ids[i], "--wait")
			if err != nil {
				errs[i] = fmt.Errorf("%w\n%s", err, out)
			}
		}(i)
	}
	wg.Wait()
	for i, id := range ids {
		require.NoError(t, errs[i])
		s.checkExactlyOnce(t, ctx, id, want)
	}
}

// TestServicesRestartMidRun restarts Azurite and then PostgreSQL while a run
// is polling; activities fail while a service is down and are retried.
func TestServicesRestartMidRun(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s.sharedWorker(t)
	input := writeRows(t, 4)
	runID := fmt.Sprintf("e2e-restart-%d", time.Now().UnixNano())
	// stuck_finalizing keeps the batch busy for a few seconds: long enough to restart both.
	s.run(t, ctx, "starter", "run", "--input", input, "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
		"--deployment", "sim-stuck_finalizing", "--poll-interval", "300ms", "--run-id", runID)
	s.awaitBatchStatus(t, ctx, runID, "in_progress")
	for _, part := range []string{"azurite", "postgres"} {
		out, err := exec.CommandContext(ctx, "bash", filepath.Join(s.root, "scripts/stack.sh"), "restart", part).CombinedOutput()
		require.NoError(t, err, "restart %s:\n%s", part, out)
	}
	s.run(t, ctx, "temporal", "workflow", "result", "--workflow-id", runID)
	batches, files := s.azureObjects(t, ctx, runID)
	require.Equal(t, 1, batches)
	require.Equal(t, 1, files)
	ops, _ := s.verifyCalls(t, ctx, s.calls(t, ctx, runID))
	require.Equal(t, 1, ops["batches.create"])
	res := filepath.Join(t.TempDir(), "r.jsonl")
	s.run(t, ctx, "starter", "results", runID, "-o", res)
	lines := readResults(t, res)
	require.Len(t, lines, 4)
	for _, l := range lines {
		require.Equal(t, "response", l["outcome"])
	}
}

// TestAzureFaults runs against simulator faults chosen by deployment name:
// every attempt is recorded with its status or error, and the run still
// completes with one batch and one input file.
func TestAzureFaults(t *testing.T) {
	s := requireStack(t)
	s.sharedWorker(t)
	cases := []struct {
		scenario string
		env      []string // a worker of its own, on its own task queue
		check    string   // SQL condition that some calls row of the run must meet
	}{
		{"fault_429", nil, "status = 429 AND error_json IS NOT NULL"},
		{"fault_500", nil, "status = 500 AND error_json IS NOT NULL"},
		{"fault_503", nil, "status = 503 AND error_json IS NOT NULL"},
		{"fault_reset", nil, "operation = 'files.content' AND response_hash IS NOT NULL AND error_json::text LIKE '%EOF%'"},
		{"fault_slow", []string{"AZURE_OPENAI_REQUEST_TIMEOUT=2s"}, "operation = 'batches.retrieve' AND response_hash IS NULL AND error_json IS NOT NULL"},
		{"fault_lost_create_file", nil, "operation = 'files.create' AND response_hash IS NULL AND error_json IS NOT NULL"},
		{"fault_lost_create_batch", nil, "operation = 'batches.create' AND response_hash IS NULL AND error_json IS NOT NULL"},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			var env []string
			if c.env != nil {
				env = append(c.env, fmt.Sprintf("TASK_QUEUE=faults-%s-%d", c.scenario, time.Now().UnixNano()))
				s.startWorker(t, env...)
			}
			runID := fmt.Sprintf("e2e-%s-%d", c.scenario, time.Now().UnixNano())
			start := time.Now()
			s.runEnv(t, ctx, env, "starter", "run", "--input", writeRows(t, 4), "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
				"--deployment", "sim-"+c.scenario, "--poll-interval", "300ms", "--run-id", runID, "--wait")
			took := time.Since(start)
			ops := s.checkExactlyOnce(t, ctx, runID, "")
			var n int
			require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM calls WHERE run_id = $1 AND `+c.check, runID).Scan(&n))
			require.NotZero(t, n, "a failed attempt is recorded: %s", c.check)
			res := filepath.Join(t.TempDir(), "r.jsonl")
			s.run(t, ctx, "starter", "results", runID, "-o", res)
			for _, l := range readResults(t, res) {
				require.Equal(t, "response", l["outcome"])
			}
			t.Logf("%s: completed in %s; failed attempts recorded: %d; calls %v", c.scenario, took.Round(100*time.Millisecond), n, ops)
		})
	}
}

// TestAzureRejectionIsFinal: a 4xx (here 401 for a wrong key) is not
// retried; the run fails naming the call, and the rejected call is recorded
// without the key it carried.
func TestAzureRejectionIsFinal(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wrongKey := fmt.Sprintf("wrong-key-%d", time.Now().UnixNano())
	env := []string{fmt.Sprintf("TASK_QUEUE=rejected-%d", time.Now().UnixNano())}
	s.startWorker(t, append(env, "AZURE_OPENAI_API_KEY="+wrongKey)...)
	runID := fmt.Sprintf("e2e-rejected-%d", time.Now().UnixNano())
	out, err := s.exec(ctx, env, "starter", "run", "--input", writeRows(t, 2), "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
		"--poll-interval", "300ms", "--run-id", runID, "--wait")
	require.Error(t, err, out)
	require.Contains(t, out, "rejected by Azure OpenAI: HTTP 401")
	var n, attempts int
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*), max(attempt) FROM calls WHERE run_id = $1 AND status = 401`, runID).Scan(&n, &attempts))
	require.Equal(t, 1, n, "the rejected call is recorded once")
	require.Equal(t, 1, attempts, "and not retried")
	calls := s.calls(t, ctx, runID)
	_, blobs := s.verifyCalls(t, ctx, calls)
	for name, b := range blobs {
		require.NotContains(t, string(b), wrongKey, "blob %s", name)
	}
	var dump string
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT coalesce(string_agg(c::text, E'\n'), '') FROM calls c WHERE run_id = $1`, runID).Scan(&dump))
	require.Contains(t, dump, "401", "the error is recorded")
	require.NotContains(t, dump, wrongKey, "calls rows")
	hist := s.run(t, ctx, "temporal", "workflow", "show", "--workflow-id", runID, "--output", "json")
	require.NotContains(t, hist, wrongKey, "workflow history")
	require.NotContains(t, out, wrongKey, "starter output")
}
