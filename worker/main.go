// Command worker runs the BatchRun workflow and its activities.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/batchledger/batchledger/activities"
	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/azureopenai"
	"github.com/batchledger/batchledger/config"
	"github.com/batchledger/batchledger/workflows"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), log); err != nil {
		log.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	db, err := audit.OpenDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if err := audit.Migrate(ctx, db, log); err != nil {
		return err
	}
	store, err := audit.NewBlobStore(ctx, cfg.StorageConnection, cfg.AuditContainer)
	if err != nil {
		return err
	}
	rec := &audit.Recorder{Store: store, DB: db, Log: log}
	ai, err := azureopenai.NewClient(cfg, rec)
	if err != nil {
		return err
	}
	c, err := client.Dial(client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(log),
	})
	if err != nil {
		return fmt.Errorf("connect to temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer c.Close()

	w := worker.New(c, cfg.TaskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.BatchRun)
	w.RegisterActivity(&activities.Activities{
		Rec: rec, Store: store, DB: db, AI: ai, Deployment: cfg.Deployment, Log: log,
		Failpoint: failpoints(os.Getenv("BATCHLEDGER_FAILPOINTS"), log),
	})
	log.Info("worker starting", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "azure_openai", cfg.AzureEndpoint)
	// Run returns after SIGINT/SIGTERM once in-flight tasks have stopped.
	if err := w.Run(worker.InterruptCh()); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	log.Info("worker stopped cleanly")
	return nil
}

// failpoints returns a hook that kills this process (SIGKILL, like kill -9)
// at the named points; crash tests set BATCHLEDGER_FAILPOINTS. Nil when unset.
func failpoints(spec string, log *slog.Logger) func(string) {
	if spec == "" {
		return nil
	}
	points := map[string]bool{}
	for _, p := range strings.Split(spec, ",") {
		points[strings.TrimSpace(p)] = true
	}
	log.Warn("failpoints armed: this worker will kill itself at them", "points", spec)
	return func(point string) {
		if points[point] {
			log.Warn("failpoint hit: killing the worker", "point", point)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
