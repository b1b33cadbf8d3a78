package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBadRowsAreAccountedFor: unreadable lines and rows the template cannot
// use get their own outcome with their line number; the rest go on.
func TestBadRowsAreAccountedFor(t *testing.T) {
	s := requireStack(t)
	s.sharedWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	input := filepath.Join(dir, "rows.jsonl")
	require.NoError(t, os.WriteFile(input, []byte(fmt.Sprintf(
		"{\"city\":\"Lisbon\",\"n\":%d}\n{\"city\": oops}\n{\"n\":2}\n\n{\"city\":\"Oslo\"}\n", time.Now().UnixNano())), 0o644))
	tmpl := filepath.Join(dir, "prompt.tmpl")
	require.NoError(t, os.WriteFile(tmpl, []byte("One fact about {{.city}}."), 0o644))
	runID := fmt.Sprintf("e2e-badrows-%d", time.Now().UnixNano())
	s.run(t, ctx, "starter", "run", "--input", input, "--template", tmpl, "--poll-interval", "300ms", "--run-id", runID, "--wait")

	res := filepath.Join(dir, "results.jsonl")
	s.run(t, ctx, "starter", "results", runID, "-o", res)
	lines := readResults(t, res)
	require.Len(t, lines, 4)
	want := []struct {
		outcome string
		line    int
	}{{"response", 1}, {"input_error", 2}, {"template_error", 3}, {"response", 5}}
	for i, w := range want {
		require.Equal(t, w.outcome, lines[i]["outcome"], "row %d: %v", i+1, lines[i])
		require.EqualValues(t, w.line, lines[i]["line"], "row %d keeps its line number", i+1)
		out := s.run(t, ctx, "starter", "explain", runID, "--row", fmt.Sprint(i+1))
		require.Contains(t, out, "checks verified")
	}
	require.Contains(t, lines[1]["message"], "line 2")
	require.Contains(t, lines[2]["message"], "city")
}

// TestInputRejectedBeforeAzure: empty input, a template that does not parse
// and an unknown column fail with a clear error before anything is sent.
func TestInputRejectedBeforeAzure(t *testing.T) {
	s := requireStack(t)
	s.sharedWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	good := write("rows.csv", "city\nParis\n")
	cases := []struct {
		input, tmpl, want string
	}{
		{write("empty.csv", ""), write("t1.tmpl", "{{.city}}"), "empty.csv"},
		{good, write("broken.tmpl", "Hello {{.city"), "broken.tmpl"},
		{good, write("unknown.tmpl", "Hello {{.town}}"), `unknown column "town"`},
	}
	for _, c := range cases {
		out := s.runFails(t, ctx, "starter", "run", "--input", c.input, "--template", c.tmpl, "--wait")
		require.Contains(t, out, c.want)
		require.NotContains(t, out, "started run", "nothing was started")
	}

	// The same checks hold inside the workflow, for runs started without the starter:
	// the run fails, and its inputs are still recorded.
	runID := fmt.Sprintf("e2e-cli-unknown-col-%d", time.Now().UnixNano())
	s.run(t, ctx, "temporal", "workflow", "start", "--type", "BatchRun", "--task-queue", envOr("TASK_QUEUE", "batchledger"),
		"--workflow-id", runID, "--input", `{"input":{"inline":"city\nParis\n","name":"c.csv"},"template":{"inline":"Hi {{.town}}","name":"t.tmpl"}}`)
	out := s.runFails(t, ctx, "temporal", "workflow", "result", "--workflow-id", runID)
	require.Contains(t, out, `unknown column`)
	var n int
	require.NoError(t, s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM calls WHERE run_id = $1 AND operation IN ('input.rows','input.template')`, runID).Scan(&n))
	require.Equal(t, 2, n, "inputs are recorded before they are rejected")
	require.NoError(t, s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM calls WHERE run_id = $1 AND operation LIKE 'files.%'`, runID).Scan(&n))
	require.Zero(t, n, "nothing was sent to Azure")
}

// TestExplainDetectsTampering: explain exits non-zero and names the piece
// whose bytes no longer match their hash.
func TestExplainDetectsTampering(t *testing.T) {
	s := requireStack(t)
	s.sharedWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runID := fmt.Sprintf("e2e-tamper-%d", time.Now().UnixNano())
	s.run(t, ctx, "starter", "run", "--input", writeRows(t, 2), "--template", filepath.Join(s.root, "examples/prompt.tmpl"),
		"--poll-interval", "300ms", "--run-id", runID, "--wait")
	require.Contains(t, s.run(t, ctx, "starter", "explain", runID, "--row", "2"), "checks verified")

	var hash string
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT results_hash FROM runs WHERE run_id = $1`, runID).Scan(&hash))
	orig := s.blob(t, ctx, "sha256/"+hash)
	forged := append([]byte(nil), orig...)
	for i := range forged {
		if forged[i] == 'r' {
			forged[i] = 'R'
		}
	}
	_, err := s.blobs.UploadBuffer(ctx, s.ctr, "sha256/"+hash, forged, nil)
	require.NoError(t, err)
	out := s.runFails(t, ctx, "starter", "explain", runID, "--row", "2")
	require.Contains(t, out, "results line")
	require.Contains(t, out, "integrity")
	_, err = s.blobs.UploadBuffer(ctx, s.ctr, "sha256/"+hash, orig, nil)
	require.NoError(t, err)
}
