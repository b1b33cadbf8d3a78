package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/config"
)

// deps are the services the starter talks to; each is opened on demand.
type deps struct {
	cfg   config.Config
	log   *slog.Logger
	store *audit.BlobStore
	db    *gorm.DB
	tc    client.Client
}

func newDeps(log *slog.Logger) (*deps, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	return &deps{cfg: cfg, log: log}, nil
}

// parseRunArgs parses flags and returns the RUN_ID, accepted before or after them.
func parseRunArgs(fs *flag.FlagSet, args []string) (string, error) {
	var runID string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		runID, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if runID == "" && fs.NArg() > 0 {
		runID = fs.Arg(0)
	}
	return runID, nil
}

func (d *deps) blobs(ctx context.Context) (*audit.BlobStore, error) {
	if d.store == nil {
		s, err := audit.NewBlobStore(ctx, d.cfg.StorageConnection, d.cfg.AuditContainer)
		if err != nil {
			return nil, err
		}
		d.store = s
	}
	return d.store, nil
}

func (d *deps) database(ctx context.Context) (*gorm.DB, error) {
	if d.db == nil {
		db, err := audit.OpenDB(ctx, d.cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		d.db = db
	}
	return d.db, nil
}

func (d *deps) temporal() (client.Client, error) {
	if d.tc == nil {
		c, err := client.Dial(client.Options{
			HostPort: d.cfg.TemporalAddress, Namespace: d.cfg.TemporalNamespace,
			Logger: tlog.NewStructuredLogger(d.log),
		})
		if err != nil {
			return nil, fmt.Errorf("connect to temporal at %s: %w", d.cfg.TemporalAddress, err)
		}
		d.tc = c
	}
	return d.tc, nil
}

func (d *deps) close() {
	if d.tc != nil {
		d.tc.Close()
	}
}
