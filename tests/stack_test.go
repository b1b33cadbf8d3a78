// Package tests holds end-to-end tests that run the real local stack:
// Temporal dev server, Azurite, PostgreSQL and the Azure OpenAI simulator,
// with worker and starter as separate processes. scripts/test.sh starts the
// stack and sets BATCHLEDGER_E2E=1.
package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
)

// stack gives tests their own handles on the services, independent of the
// code under test: raw SQL, a plain blob client, the temporal CLI.
type stack struct {
	root   string
	bin    string
	db     *sql.DB
	blobs  *azblob.Client
	ctr    string
	apiKey string

	workerOnce sync.Once
	worker     *process
	workerErr  error
}

var (
	stackOnce sync.Once
	shared    *stack
	stackErr  error
)

// TestMain stops the shared worker after all tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil && shared.worker != nil {
		if err := shared.worker.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "shared worker did not shut down cleanly:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func requireStack(t *testing.T) *stack {
	t.Helper()
	if os.Getenv("BATCHLEDGER_E2E") != "1" {
		t.Skip("end-to-end test: run through scripts/test.sh (make test), which starts the stack and sets BATCHLEDGER_E2E=1")
	}
	stackOnce.Do(func() { shared, stackErr = openStack() })
	require.NoError(t, stackErr)
	return shared
}

func openStack() (*stack, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin, err := os.MkdirTemp("", "batchledger-e2e-bin")
	if err != nil {
		return nil, err
	}
	for _, b := range []string{"worker", "starter"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b), "./"+b)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, &buildError{b, string(out), err}
		}
	}
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	blobs, err := azblob.NewClientFromConnectionString(os.Getenv("AZURE_STORAGE_CONNECTION_STRING"), nil)
	if err != nil {
		return nil, err
	}
	return &stack{root: root, bin: bin, db: db, blobs: blobs, ctr: envOr("AUDIT_CONTAINER", "audit"), apiKey: os.Getenv("AZURE_OPENAI_API_KEY")}, nil
}

type buildError struct {
	what, out string
	err       error
}

func (e *buildError) Error() string { return "build " + e.what + ": " + e.err.Error() + "\n" + e.out }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// process is a background binary whose output is kept for assertions.
type process struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startWorker runs a worker process until the test ends; it is stopped with
// SIGTERM so its graceful shutdown is exercised.
func (s *stack) startWorker(t *testing.T, env ...string) *process {
	t.Helper()
	p, err := s.newWorker(env...)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("worker did not shut down cleanly on SIGINT: %v", err)
		} else if !strings.Contains(p.Output(), "worker stopped cleanly") {
			t.Errorf("worker exited without its clean-shutdown message")
		}
		if t.Failed() {
			t.Logf("worker output:\n%s", p.Output())
		}
	})
	return p
}

// sharedWorker is one worker process for the tests that do not kill workers.
func (s *stack) sharedWorker(t *testing.T) *process {
	t.Helper()
	s.workerOnce.Do(func() { s.worker, s.workerErr = s.newWorker() })
	require.NoError(t, s.workerErr)
	return s.worker
}

func (s *stack) newWorker(env ...string) (*process, error) {
	p := &process{}
	p.cmd = exec.Command(filepath.Join(s.bin, "worker"))
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	return p, p.cmd.Start()
}

// stop sends SIGINT and waits for the graceful shutdown, killing after 30 s.
func (p *process) stop() error {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		return errors.New("still running 30s after SIGINT; killed")
	}
}

// exec runs a project binary or the temporal CLI with extra environment.
func (s *stack) exec(ctx context.Context, env []string, name string, args ...string) (string, error) {
	path := name
	if name == "starter" {
		path = filepath.Join(s.bin, name)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// run executes a command that must succeed and returns its output.
func (s *stack) run(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	return s.runEnv(t, ctx, nil, name, args...)
}

// runEnv is run with extra environment (e.g. another TASK_QUEUE).
func (s *stack) runEnv(t *testing.T, ctx context.Context, env []string, name string, args ...string) string {
	t.Helper()
	out, err := s.exec(ctx, env, name, args...)
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return out
}

// runFails executes a command that must fail and returns its output.
func (s *stack) runFails(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := s.exec(ctx, nil, name, args...)
	require.Error(t, err, "%s %s should fail:\n%s", name, strings.Join(args, " "), out)
	return out
}

// blob reads a blob straight from the container.
func (s *stack) blob(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	resp, err := s.blobs.DownloadStream(ctx, s.ctr, name, nil)
	require.NoError(t, err, "blob %s", name)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
