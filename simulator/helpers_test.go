package simulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/stretchr/testify/require"
)

const (
	testKey        = "test-key-123"
	testAPIVersion = "2024-10-21"
)

// fakeClock lets tests move time instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEnv is a running simulator on its own data dir.
type testEnv struct {
	t    *testing.T
	cfg  Config
	sim  *Server
	http *httptest.Server
}

// startEnv starts a simulator; zero durations unless cfg sets them.
func startEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sim, err := New(context.Background(), cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, cfg: cfg, sim: sim, http: srv}
}

// restart stops the HTTP server and starts a new simulator on the same dir.
func (e *testEnv) restart() *testEnv {
	e.t.Helper()
	e.http.Close()
	return startEnv(e.t, e.cfg)
}

// client is the production-shaped openai-go Azure client.
func (e *testEnv) client(key string, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{
		azure.WithEndpoint(e.http.URL, testAPIVersion),
		azure.WithAPIKey(key),
		azure.WithUnsafeAllowHTTP(),
	}
	return openai.NewClient(append(base, opts...)...)
}

// do sends a raw request; path may carry a query string.
func (e *testEnv) do(method, path, key string, body io.Reader, header http.Header) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, body)
	require.NoError(e.t, err)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if key != "" {
		req.Header.Set("api-key", key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res, data
}

// makeInput builds n valid request lines for one deployment.
func makeInput(n int) []byte { return makeInputFor(n, "gpt-4o-batch") }

// makeInputFor builds n valid request lines for the given deployment.
func makeInputFor(n int, model string) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"custom_id":"row-%d","method":"POST","url":"/chat/completions","body":{"model":%q,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Question %d: what is <x> & y?"}]}}`+"\n", i, model, i)
	}
	return b.Bytes()
}

func uploadInput(t *testing.T, ctx context.Context, c openai.Client, data []byte) *openai.FileObject {
	t.Helper()
	f, err := uploadNamed(ctx, c, data, "input.jsonl")
	require.NoError(t, err)
	return f
}

func uploadNamed(ctx context.Context, c openai.Client, data []byte, name string, opts ...option.RequestOption) (*openai.FileObject, error) {
	return c.Files.New(ctx, openai.FileNewParams{
		File:    openai.File(bytes.NewReader(data), name, "application/jsonl"),
		Purpose: openai.FilePurposeBatch,
	}, opts...)
}

func newBatch(ctx context.Context, c openai.Client, fileID string, md map[string]string, opts ...option.RequestOption) (*openai.Batch, error) {
	return c.Batches.New(ctx, openai.BatchNewParams{
		InputFileID:      fileID,
		Endpoint:         openai.BatchNewParamsEndpoint("/chat/completions"),
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata:         shared.Metadata(md),
	}, opts...)
}

func createBatch(t *testing.T, ctx context.Context, c openai.Client, fileID string, md map[string]string) *openai.Batch {
	t.Helper()
	b, err := newBatch(ctx, c, fileID, md)
	require.NoError(t, err)
	return b
}

// waitStatus polls until the batch reaches want, stepping the fake clock (if
// any) between polls instead of sleeping.
func waitStatus(t *testing.T, ctx context.Context, c openai.Client, id string, want openai.BatchStatus, clock *fakeClock) *openai.Batch {
	t.Helper()
	var b *openai.Batch
	for range 200 {
		var err error
		b, err = c.Batches.Get(ctx, id)
		require.NoError(t, err)
		if b.Status == want {
			return b
		}
		if clock != nil {
			clock.Advance(500 * time.Millisecond)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Fatalf("batch %s: status %s, want %s", id, b.Status, want)
	return nil
}

func content(t *testing.T, ctx context.Context, c openai.Client, fileID string) []byte {
	t.Helper()
	res, err := c.Files.Content(ctx, fileID)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return data
}

// resultLine is the parsed shape of an output or error file line.
type resultLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func parseLines(t *testing.T, data []byte) []resultLine {
	t.Helper()
	var out []resultLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l resultLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line %q", sc.Text())
		out = append(out, l)
	}
	require.NoError(t, sc.Err())
	return out
}

func customIDs(lines []resultLine) []string {
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.CustomID
	}
	return ids
}

func rowIDs(idx ...int) []string {
	ids := make([]string, len(idx))
	for i, n := range idx {
		ids[i] = fmt.Sprintf("row-%d", n)
	}
	return ids
}

func apiPath(p string) string {
	if strings.Contains(p, "?") {
		return p + "&api-version=" + testAPIVersion
	}
	return p + "?api-version=" + testAPIVersion
}

// rawFields splits a JSON object into its fields, verbatim.
func rawFields(t *testing.T, raw string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(raw), &m), raw)
	return m
}

// simList decodes a /_sim list answer.
func simList[T any](t *testing.T, e *testEnv, path string) []T {
	t.Helper()
	res, data := e.do("GET", path, testKey, nil, nil)
	require.Equal(t, 200, res.StatusCode, string(data))
	var l apiList[T]
	require.NoError(t, json.Unmarshal(data, &l))
	return l.Data
}

// rawLines splits a JSONL file into its lines, without validating them.
func rawLines(data []byte) []string {
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}
