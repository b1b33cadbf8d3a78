// Command simulator serves the simulated Azure OpenAI Files and Batches API.
//
// Flags fall back to environment variables: SIM_ADDR, SIM_DATA_DIR,
// SIM_API_KEY, SIM_VALIDATING, SIM_IN_PROGRESS, SIM_FINALIZING,
// SIM_CANCEL_DELAY, SIM_SLOW, SIM_SLOW_RESPONSE, SIM_SCENARIO. Durations accept Go syntax ("1.5s") or
// plain seconds ("2").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/batchledger/batchledger/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, log, nil); err != nil {
		log.Error("simulator failed", "err", err)
		os.Exit(1)
	}
}

// options are the parsed command line.
type options struct {
	addr     string
	cfg      simulator.Config
	showHelp bool
}

func parseOptions(args []string, getenv func(string) string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(out)
	envOr := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&o.addr, "addr", envOr("SIM_ADDR", "127.0.0.1:18090"), "listen address (SIM_ADDR)")
	fs.StringVar(&o.cfg.DataDir, "data-dir", getenv("SIM_DATA_DIR"), "directory for all state; required (SIM_DATA_DIR)")
	fs.StringVar(&o.cfg.APIKey, "api-key", getenv("SIM_API_KEY"), "the accepted API key; required (SIM_API_KEY)")
	fs.StringVar(&o.cfg.ForceScenario, "scenario", getenv("SIM_SCENARIO"), "force this scenario for every batch (SIM_SCENARIO)")
	durations := []struct {
		name, env, def, usage string
		dst                   *time.Duration
	}{
		{"validating", "SIM_VALIDATING", "1s", "time a batch spends validating", &o.cfg.Validating},
		{"in-progress", "SIM_IN_PROGRESS", "2s", "time a batch spends in progress", &o.cfg.InProgress},
		{"finalizing", "SIM_FINALIZING", "1s", "time a batch spends finalizing", &o.cfg.Finalizing},
		{"cancel-delay", "SIM_CANCEL_DELAY", "1s", "time from cancelling to cancelled", &o.cfg.CancelDelay},
		{"slow", "SIM_SLOW", "1h", "in-progress time of the slow scenario", &o.cfg.SlowInProgress},
		{"slow-response", "SIM_SLOW_RESPONSE", "3m", "delay of the first batches.retrieve under fault_slow", &o.cfg.SlowResponse},
	}
	for _, d := range durations {
		def := envOr(d.env, d.def)
		v, err := parseDuration(def)
		if err != nil {
			return o, fmt.Errorf("%s=%q: %w", d.env, def, err)
		}
		*d.dst = v
		dst := d.dst
		fs.Func(d.name, fmt.Sprintf("%s (%s, default %s)", d.usage, d.env, def), func(s string) error {
			v, err := parseDuration(s)
			if err != nil {
				return err
			}
			*dst = v
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.cfg.DataDir == "" {
		return o, errors.New("--data-dir (or SIM_DATA_DIR) is required")
	}
	if o.cfg.APIKey == "" {
		return o, errors.New("--api-key (or SIM_API_KEY) is required")
	}
	return o, nil
}

// parseDuration accepts Go durations and plain (possibly fractional) seconds.
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, errors.New("duration must not be negative")
		}
		return d, nil
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || secs < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// run serves until ctx ends. If ready is not nil it receives the bound
// address once listening.
func run(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger, ready chan<- string) error {
	o, err := parseOptions(args, getenv, os.Stderr)
	if err != nil {
		return err
	}
	o.cfg.Logger = log
	sim, err := simulator.New(ctx, o.cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	srv := &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	// The key is deliberately absent from this line.
	log.Info("simulator listening", "addr", ln.Addr().String(), "data_dir", o.cfg.DataDir,
		"validating", o.cfg.Validating, "in_progress", o.cfg.InProgress, "finalizing", o.cfg.Finalizing,
		"cancel_delay", o.cfg.CancelDelay, "slow", o.cfg.SlowInProgress, "slow_response", o.cfg.SlowResponse,
		"forced_scenario", o.cfg.ForceScenario)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
