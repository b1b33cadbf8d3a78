package simulator

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// APIKey is the only key accepted (api-key header or Bearer token).
	APIKey string
	// DataDir holds all state; a new Server on the same dir resumes it.
	DataDir string
	// Phase durations; zero is valid and makes the phase instantaneous.
	Validating  time.Duration
	InProgress  time.Duration
	Finalizing  time.Duration
	CancelDelay time.Duration
	// ForceScenario, if set, overrides every other scenario choice and also
	// applies to calls tied to no object (lists).
	ForceScenario string
	// SlowInProgress is the in-progress phase of the "slow" scenario
	// (default 1h).
	SlowInProgress time.Duration
	// SlowResponse is how long "fault_slow" holds back the first
	// batches.retrieve of a batch (default 3m).
	SlowResponse time.Duration
	// Scenarios are registered after the built-in ones (same name replaces).
	Scenarios []Scenario
	// MaxLines is the request limit per input file (default 100,000).
	MaxLines int
	// MaxUploadBytes limits uploaded file size (default 200 MB, as Azure).
	MaxUploadBytes int64
	// Now is the clock (default time.Now); tests drive progression with it.
	Now func() time.Time
	// Logger receives request and lifecycle logs (default slog.Default()).
	Logger *slog.Logger
}

// Defaults for Config fields left zero.
const (
	DefaultMaxLines       = 100_000
	DefaultMaxUploadBytes = 200 << 20
	DefaultSlowInProgress = time.Hour
	DefaultSlowResponse   = 3 * time.Minute
	completionWindow      = 24 * time.Hour
)

// Server is the simulated Azure OpenAI Files and Batches service.
type Server struct {
	cfg       Config
	log       *slog.Logger
	store     *store
	scenarios map[string]Scenario

	mu       sync.Mutex // guards the maps below and all store writes of them
	files    map[string]*fileRecord
	batches  map[string]*batchRecord
	attempts map[string]int // fault attempt counters, per scenario, operation and object; in memory only
}

// New loads the state under cfg.DataDir and returns a ready Server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("new simulator: api key is required")
	}
	if cfg.Validating < 0 || cfg.InProgress < 0 || cfg.Finalizing < 0 || cfg.CancelDelay < 0 ||
		cfg.SlowInProgress < 0 || cfg.SlowResponse < 0 {
		return nil, errors.New("new simulator: durations must not be negative")
	}
	if cfg.MaxLines <= 0 {
		cfg.MaxLines = DefaultMaxLines
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.SlowInProgress == 0 {
		cfg.SlowInProgress = DefaultSlowInProgress
	}
	if cfg.SlowResponse == 0 {
		cfg.SlowResponse = DefaultSlowResponse
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		scenarios: map[string]Scenario{},
		attempts:  map[string]int{},
	}
	for _, sc := range append(builtinScenarios(cfg), cfg.Scenarios...) {
		if sc.Name == "" {
			return nil, errors.New("new simulator: scenario without a name")
		}
		s.scenarios[sc.Name] = sc
	}
	if cfg.ForceScenario != "" {
		if _, ok := s.scenarios[cfg.ForceScenario]; !ok {
			return nil, fmt.Errorf("new simulator: unknown scenario %q (known: %s)", cfg.ForceScenario, strings.Join(s.ScenarioNames(), ", "))
		}
	}
	st, err := openStore(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("new simulator: %w", err)
	}
	s.store = st
	if s.files, err = st.loadFiles(); err != nil {
		return nil, fmt.Errorf("new simulator: %w", err)
	}
	if s.batches, err = st.loadBatches(); err != nil {
		return nil, fmt.Errorf("new simulator: %w", err)
	}
	s.log.InfoContext(ctx, "simulator state loaded", "data_dir", cfg.DataDir, "files", len(s.files), "batches", len(s.batches))
	return s, nil
}

// ScenarioNames lists the registered scenarios, sorted.
func (s *Server) ScenarioNames() []string {
	names := make([]string, 0, len(s.scenarios))
	for n := range s.scenarios {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Handler returns the HTTP handler serving the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.requireKey(requireAPIVersion(h)))
	}
	api("POST /openai/files", s.handleUploadFile)
	api("GET /openai/files", s.handleListFiles)
	api("GET /openai/files/{id}", s.handleGetFile)
	api("DELETE /openai/files/{id}", s.handleDeleteFile)
	api("GET /openai/files/{id}/content", s.handleFileContent)
	api("POST /openai/batches", s.handleCreateBatch)
	api("GET /openai/batches", s.handleListBatches)
	api("GET /openai/batches/{id}", s.handleGetBatch)
	api("POST /openai/batches/{id}/cancel", s.handleCancelBatch)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("GET /_sim/batches", s.requireKey(http.HandlerFunc(s.handleSimBatches)))
	mux.Handle("GET /_sim/files", s.requireKey(http.HandlerFunc(s.handleSimFiles)))
	mux.Handle("GET /_sim/scenarios", s.requireKey(http.HandlerFunc(s.handleSimScenarios)))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "404", "Resource not found", nil)
	})
	return s.logRequests(mux)
}

// requireKey accepts the configured key as api-key header or Bearer token.
// Key values are compared in constant time and never logged.
func (s *Server) requireKey(next http.Handler) http.Handler {
	want := []byte(s.cfg.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("api-key")
		if got == "" {
			if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				got = token
			}
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			writeUnauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func requireAPIVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("api-version") == "" {
			writeError(w, http.StatusBadRequest, "MissingApiVersionParameter",
				"The api-version query parameter (?api-version=) is required for all requests.", strPtr("api-version"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (for faults).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs method, path, status and duration; never headers or query
// values, which may carry credentials.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w.Header().Set("apim-request-id", formatUUID(randomBytes16()))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.InfoContext(r.Context(), "request",
			"method", r.Method, "path", r.URL.Path, "status", rec.status,
			"bytes", rec.bytes, "duration", time.Since(start))
	})
}
