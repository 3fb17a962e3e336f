package sqlite

import (
	"context"
	"fmt"

	"github.com/basalt-dev/basalt/internal/store"
)

// systemMigration is one step of the system tables' schema. Steps run in
// order, each once, inside one transaction, and are recorded in _migrations.
// Never edit or reorder a released step; append a new one.
type systemMigration struct {
	name string
	sql  []string
}

var systemMigrations = []systemMigration{
	{
		name: "0001_collections",
		sql: []string{`CREATE TABLE "_collections" (
			"id"      TEXT PRIMARY KEY NOT NULL,
			"name"    TEXT NOT NULL COLLATE NOCASE UNIQUE,
			"type"    TEXT NOT NULL DEFAULT 'base',
			"system"  BOOLEAN NOT NULL DEFAULT FALSE,
			"data"    TEXT NOT NULL,
			"created" TEXT NOT NULL DEFAULT '',
			"updated" TEXT NOT NULL DEFAULT ''
		)`},
	},
	{
		name: "0002_params",
		sql: []string{`CREATE TABLE "_params" (
			"key"     TEXT PRIMARY KEY NOT NULL,
			"value"   BLOB NOT NULL,
			"updated" TEXT NOT NULL DEFAULT ''
		)`},
	},
	{
		// The transactional outbox. AUTOINCREMENT keeps seq increasing even
		// after pruning has deleted the newest rows: readers resume "after
		// seq N" and must never see a number again.
		name: "0003_events",
		sql: []string{`CREATE TABLE "_events" (
			"seq"            INTEGER PRIMARY KEY AUTOINCREMENT,
			"id"             TEXT NOT NULL UNIQUE,
			"collectionId"   TEXT NOT NULL,
			"collectionName" TEXT NOT NULL,
			"recordId"       TEXT NOT NULL,
			"action"         TEXT NOT NULL,
			"before"         TEXT,
			"after"          TEXT,
			"created"        TEXT NOT NULL
		)`},
	},
	{
		// Webhook definitions and their deliveries. A delivery keeps a copy
		// of its event, so that retries and replays outlive outbox pruning.
		name: "0004_webhooks",
		sql: []string{`CREATE TABLE "_webhooks" (
			"id"      TEXT PRIMARY KEY NOT NULL,
			"data"    TEXT NOT NULL,
			"created" TEXT NOT NULL,
			"updated" TEXT NOT NULL
		)`, `CREATE TABLE "_webhookDeliveries" (
			"id"          TEXT PRIMARY KEY NOT NULL,
			"webhookId"   TEXT NOT NULL,
			"eventId"     TEXT NOT NULL,
			"event"       TEXT NOT NULL,
			"status"      TEXT NOT NULL,
			"attemptCount" INTEGER NOT NULL DEFAULT 0,
			"nextAttempt" TEXT NOT NULL,
			"attempts"    TEXT NOT NULL,
			"created"     TEXT NOT NULL,
			"updated"     TEXT NOT NULL,
			UNIQUE ("webhookId", "eventId")
		)`,
			`CREATE INDEX "_webhookDeliveries_due" ON "_webhookDeliveries" ("status", "nextAttempt")`,
			`CREATE INDEX "_webhookDeliveries_webhook" ON "_webhookDeliveries" ("webhookId", "created")`},
	},
	webhookLeaseMigration,
	auditMigration,
	jobsMigration,
	jobIndexMigration,
	eventsRowidMigration,
}

// nowSQL is SQLite's clock in Basalt's date layout (2006-01-02 15:04:05.000Z).
const nowSQL = `strftime('%Y-%m-%d %H:%M:%fZ', 'now')`

// migrate creates and upgrades the system tables.
func (s *Store) migrate(ctx context.Context) error {
	return s.InTx(ctx, func(storeTx store.Tx) error {
		t := storeTx.(*tx)
		if _, err := t.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS "_migrations" (
			"name"    TEXT PRIMARY KEY NOT NULL,
			"applied" TEXT NOT NULL
		)`); err != nil {
			return fmt.Errorf("creating _migrations: %w", err)
		}
		for _, m := range systemMigrations {
			var n int
			if err := t.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM "_migrations" WHERE "name" = ?`, m.name).Scan(&n); err != nil {
				return fmt.Errorf("checking migration %s: %w", m.name, err)
			}
			if n > 0 {
				continue
			}
			for _, stmt := range m.sql {
				if _, err := t.conn.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("applying migration %s: %w", m.name, err)
				}
			}
			if _, err := t.conn.ExecContext(ctx, `INSERT INTO "_migrations" ("name", "applied") VALUES (?, `+nowSQL+`)`, m.name); err != nil {
				return fmt.Errorf("recording migration %s: %w", m.name, err)
			}
			s.logger.Info("applied sqlite system migration", "name", m.name)
		}
		return nil
	})
}
