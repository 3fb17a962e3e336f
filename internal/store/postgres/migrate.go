package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// systemMigration is one step of the system tables' schema. Steps run in
// order, each once, inside one transaction, and are recorded in _migrations.
// Never edit or reorder a released step; append a new one.
//
// Times are TEXT in Basalt's layout (2006-01-02 15:04:05.000Z), as on
// SQLite: fixed width, so text order is time order, and the services'
// values go in and out unchanged.
type systemMigration struct {
	name string
	sql  []string
}

var systemMigrations = []systemMigration{
	{
		// Collection names are unique case-insensitively (PocketBase's rule);
		// "created" then "seq" give the oldest-first order.
		name: "0001_collections",
		sql: []string{`CREATE TABLE "_collections" (
			"id"      TEXT COLLATE "C" PRIMARY KEY NOT NULL,
			"name"    TEXT COLLATE "C" NOT NULL,
			"type"    TEXT NOT NULL DEFAULT 'base',
			"system"  BOOLEAN NOT NULL DEFAULT FALSE,
			"data"    TEXT NOT NULL,
			"created" TEXT COLLATE "C" NOT NULL DEFAULT '',
			"updated" TEXT COLLATE "C" NOT NULL DEFAULT '',
			"seq"     BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL
		)`, `CREATE UNIQUE INDEX "_collections_name" ON "_collections" (lower("name"))`},
	},
	{
		name: "0002_params",
		sql: []string{`CREATE TABLE "_params" (
			"key"     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
			"value"   BYTEA NOT NULL,
			"updated" TEXT NOT NULL DEFAULT ''
		)`},
	},
	{
		// The transactional outbox. The identity sequence never hands out a
		// number twice, even after pruning has deleted the newest rows.
		// Writers are serialized (see InTx), so seq order is commit order.
		// _eventsPruned keeps the highest seq pruning deleted, so that
		// LastEventSeq survives an emptied outbox.
		name: "0003_events",
		sql: []string{`CREATE TABLE "_events" (
			"seq"            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			"id"             TEXT COLLATE "C" NOT NULL UNIQUE,
			"collectionId"   TEXT NOT NULL,
			"collectionName" TEXT NOT NULL,
			"recordId"       TEXT NOT NULL,
			"action"         TEXT NOT NULL,
			"before"         TEXT,
			"after"          TEXT,
			"created"        TEXT COLLATE "C" NOT NULL
		)`, `CREATE TABLE "_eventsPruned" (
			"one" BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK ("one"),
			"seq" BIGINT NOT NULL
		)`, `INSERT INTO "_eventsPruned" ("one", "seq") VALUES (TRUE, 0)`},
	},
	{
		// Webhook definitions and their deliveries. A delivery keeps a copy
		// of its event, so that retries and replays outlive outbox pruning.
		name: "0004_webhooks",
		sql: []string{`CREATE TABLE "_webhooks" (
			"id"      TEXT COLLATE "C" PRIMARY KEY NOT NULL,
			"data"    TEXT NOT NULL,
			"created" TEXT COLLATE "C" NOT NULL,
			"updated" TEXT COLLATE "C" NOT NULL,
			"seq"     BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL
		)`, `CREATE TABLE "_webhookDeliveries" (
			"id"           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
			"webhookId"    TEXT COLLATE "C" NOT NULL,
			"eventId"      TEXT COLLATE "C" NOT NULL,
			"event"        TEXT NOT NULL,
			"status"       TEXT NOT NULL,
			"attemptCount" INTEGER NOT NULL DEFAULT 0,
			"nextAttempt"  TEXT COLLATE "C" NOT NULL,
			"attempts"     TEXT NOT NULL,
			"created"      TEXT COLLATE "C" NOT NULL,
			"updated"      TEXT COLLATE "C" NOT NULL,
			"seq"          BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL,
			UNIQUE ("webhookId", "eventId")
		)`,
			`CREATE INDEX "_webhookDeliveries_due" ON "_webhookDeliveries" ("status", "nextAttempt")`,
			`CREATE INDEX "_webhookDeliveries_webhook" ON "_webhookDeliveries" ("webhookId", "created")`},
	},
	webhookLeaseMigration,
	auditMigration,
	bucketsMigration,
	jobsMigration,
	jobIndexMigration,
}

// migrate creates and upgrades the system tables in one transaction. A
// transaction-scoped advisory lock, taken before anything else, makes
// replicas that start at once wait for the first one and then find every
// step applied.
func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(ptx pgx.Tx) error {
		if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		if _, err := ptx.Exec(ctx, `CREATE TABLE IF NOT EXISTS "_migrations" (
			"name"    TEXT PRIMARY KEY NOT NULL,
			"applied" TIMESTAMPTZ NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("creating _migrations: %w", err)
		}
		applied := map[string]bool{}
		rows, err := ptx.Query(ctx, `SELECT "name" FROM "_migrations"`)
		if err != nil {
			return fmt.Errorf("reading _migrations: %w", err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("reading _migrations: %w", err)
		}
		for _, n := range names {
			applied[n] = true
		}
		for _, m := range systemMigrations {
			if applied[m.name] {
				continue
			}
			for _, stmt := range m.sql {
				if _, err := ptx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("applying migration %s: %w", m.name, err)
				}
			}
			if _, err := ptx.Exec(ctx, `INSERT INTO "_migrations" ("name") VALUES ($1)`, m.name); err != nil {
				return fmt.Errorf("recording migration %s: %w", m.name, err)
			}
			s.logger.Info("applied postgres system migration", "name", m.name)
		}
		return nil
	})
}
