package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseOptions(t *testing.T) {
	_, err := parseOptions([]string{"--data-dir", "/tmp/x"}, env(nil), io.Discard)
	assert.ErrorContains(t, err, "api-key")
	_, err = parseOptions([]string{"--api-key", "k"}, env(nil), io.Discard)
	assert.ErrorContains(t, err, "data-dir")

	o, err := parseOptions(nil, env(map[string]string{
		"SIM_DATA_DIR": "/d", "SIM_API_KEY": "k", "SIM_ADDR": "127.0.0.1:1",
		"SIM_VALIDATING": "0", "SIM_IN_PROGRESS": "2", "SIM_FINALIZING": "250ms", "SIM_SCENARIO": "line_errors",
	}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", o.addr)
	assert.Equal(t, "/d", o.cfg.DataDir)
	assert.Equal(t, time.Duration(0), o.cfg.Validating)
	assert.Equal(t, 2*time.Second, o.cfg.InProgress)
	assert.Equal(t, 250*time.Millisecond, o.cfg.Finalizing)
	assert.Equal(t, time.Second, o.cfg.CancelDelay)
	assert.Equal(t, "line_errors", o.cfg.ForceScenario)
	assert.Equal(t, time.Hour, o.cfg.SlowInProgress, "default")
	assert.Equal(t, 3*time.Minute, o.cfg.SlowResponse, "default")

	// Flags win over the environment.
	o, err = parseOptions([]string{"--in-progress", "0", "--addr", ":0"}, env(map[string]string{
		"SIM_DATA_DIR": "/d", "SIM_API_KEY": "k", "SIM_IN_PROGRESS": "5s",
	}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), o.cfg.InProgress)
	assert.Equal(t, ":0", o.addr)
	assert.Equal(t, time.Second, o.cfg.Validating, "default")

	o, err = parseOptions([]string{"--slow", "90s", "--slow-response", "2"}, env(map[string]string{
		"SIM_DATA_DIR": "/d", "SIM_API_KEY": "k", "SIM_SLOW_RESPONSE": "10m",
	}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, o.cfg.SlowInProgress)
	assert.Equal(t, 2*time.Second, o.cfg.SlowResponse)

	_, err = parseOptions([]string{"--validating", "-1s"}, env(map[string]string{"SIM_DATA_DIR": "/d", "SIM_API_KEY": "k"}), io.Discard)
	assert.Error(t, err)
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		errc <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()},
			env(map[string]string{"SIM_API_KEY": "k"}), log, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}
	res, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	cancel()
	require.NoError(t, <-errc)
}
