package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/batchledger/batchledger/models"
)

// OpenDB connects to PostgreSQL. GORM's own SQL logging stays off: SQL text
// would carry row data into logs.
func OpenDB(ctx context.Context, dsn string) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(10)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return db, nil
}

// Migrate creates or updates the audit tables. A Postgres advisory lock
// serialises concurrent migrations from several workers.
func Migrate(ctx context.Context, db *gorm.DB, log *slog.Logger) error {
	return db.WithContext(ctx).Connection(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_lock(7325001)").Error; err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer tx.Exec("SELECT pg_advisory_unlock(7325001)")
		// Replaced by calls_attempt_uidx, which also names the Temporal run.
		if err := tx.Exec("DROP INDEX IF EXISTS calls_run_attempt_idx").Error; err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := tx.AutoMigrate(models.All()...); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if log != nil {
			log.Info("audit tables ready")
		}
		return nil
	})
}
