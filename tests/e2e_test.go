package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type callRow struct {
	ID                         int64
	Activity, Operation        string
	Attempt, CallIndex, Status int
	ReqHash, ReqRef            string
	ReqSize                    int64
	RespHash, RespRef          *string
	RespSize                   *int64
	ErrorJSON                  *string
}

func (s *stack) calls(t *testing.T, ctx context.Context, runID string) []callRow {
	t.Helper()
	rows, err := s.db.QueryContext(ctx, `SELECT id, activity, operation, attempt, call_index, status,
		request_hash, request_ref, request_size, response_hash, response_ref, response_size, error_json
		FROM calls WHERE run_id = $1 ORDER BY id`, runID)
	require.NoError(t, err)
	defer rows.Close()
	var out []callRow
	for rows.Next() {
		var c callRow
		require.NoError(t, rows.Scan(&c.ID, &c.Activity, &c.Operation, &c.Attempt, &c.CallIndex, &c.Status,
			&c.ReqHash, &c.ReqRef, &c.ReqSize, &c.RespHash, &c.RespRef, &c.RespSize, &c.ErrorJSON))
		out = append(out, c)
	}
	require.NoError(t, rows.Err())
	return out
}

// verifyCalls checks that every calls row's blobs exist and re-hash to the
// recorded hashes and sizes; it returns the count per operation and the blobs.
func (s *stack) verifyCalls(t *testing.T, ctx context.Context, calls []callRow) (map[string]int, map[string][]byte) {
	t.Helper()
	ops := map[string]int{}
	blobs := map[string][]byte{}
	for _, c := range calls {
		ops[c.Operation]++
		require.Equal(t, "sha256/"+c.ReqHash, c.ReqRef)
		b := s.blob(t, ctx, c.ReqRef)
		require.Equal(t, c.ReqHash, sum(b), "call %d request", c.ID)
		require.EqualValues(t, c.ReqSize, len(b))
		blobs[c.ReqRef] = b
		if c.RespRef != nil {
			b := s.blob(t, ctx, *c.RespRef)
			require.Equal(t, *c.RespHash, sum(b), "call %d response", c.ID)
			require.EqualValues(t, *c.RespSize, len(b))
			blobs[*c.RespRef] = b
		}
	}
	return ops, blobs
}

// TestEndToEnd runs the examples through worker and simulator processes and
// then checks the audit trail without using the code under test.
func TestEndToEnd(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	worker := s.sharedWorker(t)

	runID := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	out := s.run(t, ctx, "starter", "run", "--input", "examples/rows.csv", "--template", "examples/prompt.tmpl",
		"--system-prompt-file", "examples/system.txt", "--poll-interval", "300ms", "--temperature", "0.2",
		"--run-id", runID, "--wait")
	t.Logf("starter output:\n%s", out)
	require.Contains(t, out, "web UI: http://127.0.0.1:8233/namespaces/")

	calls := s.calls(t, ctx, runID)
	ops, blobs := s.verifyCalls(t, ctx, calls)
	for _, op := range []string{"input.rows", "input.template", "input.system_prompt", "render.requests",
		"files.create", "batches.create", "batches.retrieve", "files.content", "results.write"} {
		require.NotZero(t, ops[op], "a %s call is recorded (have %v)", op, ops)
	}
	require.Equal(t, 1, ops["files.create"])
	require.Equal(t, 1, ops["batches.create"])

	// The JSONL inside the recorded files.create request equals Render's output.
	var rendered, upload []byte
	for _, c := range calls {
		switch c.Operation {
		case "render.requests":
			rendered = blobs[c.ReqRef]
		case "files.create":
			upload = blobs[c.ReqRef]
		}
	}
	require.NotEmpty(t, rendered)
	require.Equal(t, rendered, multipartFile(t, upload, "file"))
	input, err := os.ReadFile(filepath.Join(s.root, "examples/rows.csv"))
	require.NoError(t, err)
	require.Contains(t, blobs, "sha256/"+sum(input), "the exact input file is recorded")

	// The memo carries the counts per outcome; explain finds a row by custom_id too.
	desc := s.run(t, ctx, "temporal", "workflow", "describe", "--workflow-id", runID, "--output", "json")
	require.Contains(t, desc, `"counts"`)
	require.Contains(t, s.run(t, ctx, "starter", "explain", runID, "--custom-id", "row-2"), "checks verified")

	// Every input row is in the results, in order, with a response.
	resFile := filepath.Join(t.TempDir(), "results.jsonl")
	s.run(t, ctx, "starter", "results", runID, "-o", resFile)
	records, err := csv.NewReader(bytes.NewReader(input)).ReadAll()
	require.NoError(t, err)
	results := readResults(t, resFile)
	require.Len(t, results, len(records)-1)
	var texts []string
	for i, r := range results {
		require.EqualValues(t, i+1, r["row"])
		require.Equal(t, "response", r["outcome"], "row %d", i+1)
		resp := r["response"].(map[string]any)
		texts = append(texts, resp["content"].(string))
	}

	// No API key anywhere: blobs, rows, workflow history, worker output.
	require.NotEmpty(t, s.apiKey)
	for name, b := range blobs {
		require.NotContains(t, string(b), s.apiKey, "blob %s", name)
	}
	for _, table := range []string{"calls", "runs", "row_records", "anomalies"} {
		var dump string
		require.NoError(t, s.db.QueryRowContext(ctx,
			fmt.Sprintf(`SELECT coalesce(string_agg(t::text, E'\n'), '') FROM %s t WHERE run_id = $1`, table), runID).Scan(&dump))
		require.NotContains(t, dump, s.apiKey, "table %s", table)
	}
	hist := s.run(t, ctx, "temporal", "workflow", "show", "--workflow-id", runID, "--output", "json")
	require.NotContains(t, hist, s.apiKey)
	require.NotContains(t, worker.Output(), s.apiKey, "worker log")
	require.NotContains(t, out, s.apiKey, "starter output")
	if dir := os.Getenv("BATCHLEDGER_STACK_DIR"); dir != "" {
		logs, err := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
		require.NoError(t, err)
		require.NotEmpty(t, logs)
		for _, l := range logs {
			b, err := os.ReadFile(l)
			require.NoError(t, err)
			require.NotContains(t, string(b), s.apiKey, "stack log %s", l)
		}
	}
	// History holds refs and counts, never prompt or response text.
	for _, rec := range records[1:] {
		require.NotContains(t, hist, rec[2], "review text in history")
	}
	for _, txt := range texts {
		require.NotContains(t, hist, jsonEscape(txt[:40]), "response text in history")
	}
	require.NotContains(t, hist, "Classify the sentiment")
	t.Logf("history: %d bytes; calls: %d; distinct blobs: %d; ops: %v", len(hist), len(calls), len(blobs), ops)
}

// TestStartFromTemporalCLI starts BatchRun with the temporal CLI, once with
// inline rows and once with an input already in the audit container.
func TestStartFromTemporalCLI(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s.sharedWorker(t)
	tq := envOr("TASK_QUEUE", "batchledger")

	_, err := s.blobs.UploadBuffer(ctx, s.ctr, "inputs/e2e-cli.jsonl",
		[]byte(`{"city":"Lisbon"}`+"\n"+`{"city":"Oslo"}`+"\n"), nil)
	require.NoError(t, err)
	cases := map[string]string{
		"inline": `{"input":{"inline":"city\nParis\nRome\nKyoto\n","name":"cities.csv"},"template":{"inline":"One fact about {{.city}}."},"poll_interval":"300ms"}`,
		"blob":   `{"input":{"blob":"inputs/e2e-cli.jsonl"},"template":{"inline":"One fact about {{.city}}."},"poll_interval":"300ms"}`,
	}
	want := map[string]int{"inline": 3, "blob": 2}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			id := fmt.Sprintf("e2e-cli-%s-%d", name, time.Now().UnixNano())
			// The same command as in README.md.
			s.run(t, ctx, "temporal", "workflow", "start", "--type", "BatchRun", "--task-queue", tq,
				"--workflow-id", id, "--input", in)
			out := s.run(t, ctx, "temporal", "workflow", "result", "--workflow-id", id, "--output", "json")
			require.Contains(t, out, `"status": "COMPLETED"`, out)
			res := filepath.Join(t.TempDir(), "r.jsonl")
			s.run(t, ctx, "starter", "results", id, "-o", res)
			lines := readResults(t, res)
			require.Len(t, lines, want[name])
			for _, l := range lines {
				require.Equal(t, "response", l["outcome"])
			}
		})
	}
}

func readResults(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "results line %q", sc.Text())
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

// multipartFile extracts one part's bytes from a recorded HTTP request message.
func multipartFile(t *testing.T, msg []byte, field string) []byte {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(msg)))
	require.NoError(t, err, "recorded request parses as HTTP")
	_, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(req.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		require.NoError(t, err, "part %q in upload", field)
		if p.FormName() == field {
			b, err := io.ReadAll(p)
			require.NoError(t, err)
			return b
		}
	}
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// TestHistoryDoesNotGrowWithRows: history holds refs and counts only, so a
// 2,000-row run's history is the size of a 3-row run's.
func TestHistoryDoesNotGrowWithRows(t *testing.T) {
	s := requireStack(t)
	s.sharedWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	size, inputSize := map[int]int{}, 0
	for _, n := range []int{3, 2000} {
		runID := fmt.Sprintf("e2e-hist-%05d-%d", n, time.Now().UnixNano())
		input := writeRows(t, n)
		st, err := os.Stat(input)
		require.NoError(t, err)
		inputSize = int(st.Size())
		s.run(t, ctx, "starter", "run", "--input", input, "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
			"--poll-interval", "300ms", "--run-id", runID, "--wait")
		hist := s.run(t, ctx, "temporal", "workflow", "show", "--workflow-id", runID, "--output", "json")
		size[n] = len(hist)
		require.NotContains(t, hist, "Review number", "no row text in history")
	}
	t.Logf("history bytes: 3 rows %d, 2000 rows %d (input %d bytes)", size[3], size[2000], inputSize)
	// The two runs may see a different number of batch status changes (a few KB
	// each); rows in history would add at least the input's size.
	require.InDelta(t, size[3], size[2000], 8192, "history size does not depend on the row count")
	require.Less(t, 8192, inputSize/10)
}

// TestDeliberateRerunGetsItsOwnBatch: running the same workflow id again
// (after the first run closed) is a new run: a new idempotency key, a new
// batch, its own calls; retries within each run still adopt, never duplicate.
func TestDeliberateRerunGetsItsOwnBatch(t *testing.T) {
	s := requireStack(t)
	s.sharedWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id := fmt.Sprintf("e2e-rerun-%d", time.Now().UnixNano())
	in := `{"input":{"inline":"city\nParis\n","name":"c.csv"},"template":{"inline":"One fact about {{.city}}."},"poll_interval":"300ms"}`
	for i := 0; i < 2; i++ {
		s.run(t, ctx, "temporal", "workflow", "start", "--type", "BatchRun", "--task-queue", envOr("TASK_QUEUE", "batchledger"),
			"--workflow-id", id, "--id-reuse-policy", "AllowDuplicate", "--input", in)
		s.run(t, ctx, "temporal", "workflow", "result", "--workflow-id", id)
	}
	batches := s.simList(t, ctx, "/_sim/batches", url.Values{"metadata.batchledger_run": {id}})
	require.Len(t, batches, 2, "one batch per run")
	keys := map[string]bool{}
	for _, b := range batches {
		keys[b["metadata"].(map[string]any)["batchledger_key"].(string)] = true
	}
	require.Len(t, keys, 2, "each run has its own idempotency key")
	var execs int
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(DISTINCT workflow_run_id) FROM calls WHERE run_id = $1`, id).Scan(&execs))
	require.Equal(t, 2, execs, "calls are kept per Temporal run")
}
