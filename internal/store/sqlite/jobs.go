package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// The job queue (store.JobQueue) lives in "_jobs"; "_cronRuns" records which
// process ran each scheduled cron minute. SQLite has one writer, so a claim
// is one UPDATE … RETURNING in a write transaction; a read first checks that
// something is due, so that idle polling never takes the writer.

// jobsMigration creates the job and cron run tables. An empty idempotency
// key is stored as NULL, which the UNIQUE constraint lets repeat.
var jobsMigration = systemMigration{
	name: "0009_jobs",
	sql: []string{`CREATE TABLE "_jobs" (
			"id"             TEXT PRIMARY KEY NOT NULL,
			"name"           TEXT NOT NULL,
			"payload"        TEXT NOT NULL,
			"state"          TEXT NOT NULL,
			"priority"       INTEGER NOT NULL DEFAULT 0,
			"idempotencyKey" TEXT UNIQUE,
			"attempts"       INTEGER NOT NULL DEFAULT 0,
			"maxAttempts"    INTEGER NOT NULL,
			"runAt"          TEXT NOT NULL,
			"lastError"      TEXT NOT NULL DEFAULT '',
			"leaseOwner"     TEXT NOT NULL DEFAULT '',
			"leaseUntil"     TEXT NOT NULL DEFAULT '',
			"created"        TEXT NOT NULL,
			"updated"        TEXT NOT NULL
		)`,
		`CREATE INDEX "_jobs_due" ON "_jobs" ("state", "runAt")`,
		`CREATE INDEX "_jobs_created" ON "_jobs" ("created")`,
		`CREATE TABLE "_cronRuns" (
			"cronId"  TEXT NOT NULL,
			"tick"    TEXT NOT NULL,
			"owner"   TEXT NOT NULL,
			"created" TEXT NOT NULL,
			PRIMARY KEY ("cronId", "tick")
		)`},
}

// jobIndexMigration adds the claim's indexes: due jobs in claim order, and
// running jobs by lease end (both partial, so that finished jobs cost them
// nothing).
var jobIndexMigration = systemMigration{
	name: "0010_job_claim_indexes",
	sql: []string{
		`CREATE INDEX "_jobs_ready" ON "_jobs" ("priority" DESC, "runAt") WHERE "state" IN ('queued', 'failed')`,
		`CREATE INDEX "_jobs_leases" ON "_jobs" ("leaseUntil") WHERE "state" = 'running'`,
	},
}

const jobColumns = `"id", "name", "payload", "state", "priority", "idempotencyKey", "attempts", "maxAttempts", "runAt", "lastError", "leaseOwner", "leaseUntil", "created", "updated"`

// claimableJobsSQL selects the rowids of up to limit claimable jobs in claim
// order: running jobs whose lease expired, and queued or failed jobs that
// are due, each read through its partial index (named: the planner would
// rather sort every due job) (parameters: now, limit, now, limit, limit).
const claimableJobsSQL = `SELECT "rid" FROM (
		SELECT "rid", "priority", "runAt" FROM (SELECT rowid AS "rid", "priority", "runAt" FROM "_jobs" INDEXED BY "_jobs_leases"
			WHERE "state" = 'running' AND "leaseUntil" < ? LIMIT ?)
		UNION ALL
		SELECT "rid", "priority", "runAt" FROM (SELECT rowid AS "rid", "priority", "runAt" FROM "_jobs" INDEXED BY "_jobs_ready"
			WHERE "state" IN ('queued', 'failed') AND "runAt" <= ? ORDER BY "priority" DESC, "runAt" LIMIT ?)
	) ORDER BY "priority" DESC, "runAt", "rid" LIMIT ?`

// EnqueueJob stores j unless its idempotency key is taken.
func (t *tx) EnqueueJob(ctx context.Context, j *store.Job) (bool, error) {
	if j == nil || j.ID == "" || j.Name == "" || !json.Valid(j.Payload) {
		return false, apperr.New(apperr.Invalid, "Incomplete job.")
	}
	var key any
	if j.IdempotencyKey != "" {
		key = j.IdempotencyKey
	}
	res, err := t.conn.ExecContext(ctx, `INSERT INTO "_jobs" (`+jobColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, ?)
		ON CONFLICT ("idempotencyKey") DO NOTHING`,
		j.ID, j.Name, string(j.Payload), string(j.State), j.Priority, key, j.Attempts, j.MaxAttempts,
		schema.FormatTime(j.RunAt), j.LastError, schema.FormatTime(j.Created), schema.FormatTime(j.Updated))
	if err != nil {
		return false, formatError(ctx, fmt.Errorf("enqueueing job: %w", err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, formatError(ctx, fmt.Errorf("enqueueing job: %w", err))
	} else if n > 0 {
		return true, nil
	}
	list, err := t.jobs(ctx, `SELECT `+jobColumns+` FROM "_jobs" WHERE "idempotencyKey" = ?`, j.IdempotencyKey)
	if err != nil {
		return false, err
	}
	if len(list) == 0 {
		return false, internalf("job with idempotency key %q vanished", j.IdempotencyKey)
	}
	*j = *list[0]
	return false, nil
}

// Jobs lists jobs newest first.
func (r reader) Jobs(ctx context.Context, f store.JobFilter) ([]*store.Job, int64, error) {
	where, args := "1 = 1", []any{}
	if f.State != "" {
		where, args = where+` AND "state" = ?`, append(args, string(f.State))
	}
	if f.Name != "" {
		where, args = where+` AND "name" = ?`, append(args, f.Name)
	}
	var total int64
	if err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM "_jobs" WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, formatError(ctx, fmt.Errorf("counting jobs: %w", err))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	list, err := r.jobs(ctx, `SELECT `+jobColumns+` FROM "_jobs" WHERE `+where+` ORDER BY "created" DESC, rowid DESC LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	return list, total, err
}

// Job returns one job.
func (r reader) Job(ctx context.Context, id string) (*store.Job, error) {
	list, err := r.jobs(ctx, `SELECT `+jobColumns+` FROM "_jobs" WHERE "id" = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, apperr.New(apperr.NotFound, "The requested resource wasn't found.")
	}
	return list[0], nil
}

// ClaimJobs leases due jobs to owner.
func (s *Store) ClaimJobs(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*store.Job, error) {
	if owner == "" {
		return nil, apperr.New(apperr.Invalid, "Missing lease owner.")
	}
	if limit <= 0 {
		limit = defaultEventBatch
	}
	at := schema.FormatTime(now)
	var due int
	err := s.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM "_jobs" WHERE "state" IN ('queued', 'failed') AND "runAt" <= ?)
		OR EXISTS (SELECT 1 FROM "_jobs" INDEXED BY "_jobs_leases" WHERE "state" = 'running' AND "leaseUntil" < ?)`, at, at).Scan(&due)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("finding due jobs: %w", err))
	}
	if due == 0 {
		return []*store.Job{}, nil
	}
	var list []*store.Job
	err = s.InTx(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		var err error
		list, err = t.jobs(ctx, `UPDATE "_jobs" SET "state" = 'running', "leaseOwner" = ?, "leaseUntil" = ?, "attempts" = "attempts" + 1, "updated" = ?
			WHERE rowid IN (`+claimableJobsSQL+`)
			RETURNING `+jobColumns,
			owner, schema.FormatTime(leaseUntil), at, at, limit, at, limit, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	sortClaimed(list)
	return list, nil
}

// sortClaimed orders claimed jobs as the claim chose them (RETURNING keeps
// no order).
func sortClaimed(list []*store.Job) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Priority != list[j].Priority {
			return list[i].Priority > list[j].Priority
		}
		return list[i].RunAt.Before(list[j].RunAt)
	})
}

// ExtendJobLease moves the end of owner's lease on job id.
func (s *Store) ExtendJobLease(ctx context.Context, id, owner string, until time.Time) error {
	return s.jobWrite(ctx, "extending job lease", func(t *tx) (sql.Result, error) {
		return t.conn.ExecContext(ctx, `UPDATE "_jobs" SET "leaseUntil" = ? WHERE "id" = ? AND "state" = 'running' AND "leaseOwner" = ?`,
			schema.FormatTime(until), id, owner)
	}, func(t *tx) error {
		if _, err := t.Job(ctx, id); err != nil {
			return err
		}
		return apperr.New(apperr.Conflict, "The job is not leased to this worker.")
	})
}

// FinishJob writes the outcome of owner's run of j.
func (s *Store) FinishJob(ctx context.Context, j *store.Job, owner string) error {
	if owner == "" {
		return apperr.New(apperr.Invalid, "Missing lease owner.")
	}
	return s.jobWrite(ctx, "finishing job", func(t *tx) (sql.Result, error) {
		return t.conn.ExecContext(ctx, `UPDATE "_jobs" SET "state" = ?, "attempts" = ?, "runAt" = ?, "lastError" = ?, "updated" = ?,
				"leaseOwner" = '', "leaseUntil" = ''
			WHERE "id" = ? AND "state" = 'running' AND "leaseOwner" = ?`,
			string(j.State), j.Attempts, schema.FormatTime(j.RunAt), j.LastError, schema.FormatTime(j.Updated), j.ID, owner)
	}, func(t *tx) error {
		if _, err := t.Job(ctx, j.ID); err != nil {
			return err
		}
		return apperr.New(apperr.Conflict, "The job is not leased to this worker.")
	})
}

// RetryJob queues job id again.
func (s *Store) RetryJob(ctx context.Context, id string, runAt time.Time) (*store.Job, error) {
	var out *store.Job
	err := s.jobWrite(ctx, "retrying job", func(t *tx) (sql.Result, error) {
		return t.conn.ExecContext(ctx, `UPDATE "_jobs" SET "state" = 'queued', "attempts" = 0, "runAt" = ?, "updated" = ?
			WHERE "id" = ? AND "state" <> 'running'`, schema.FormatTime(runAt), schema.FormatTime(runAt), id)
	}, notRunning(ctx, id))
	if err != nil {
		return nil, err
	}
	out, err = s.Job(ctx, id)
	return out, err
}

// DeleteJob deletes job id unless it is running.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	return s.jobWrite(ctx, "deleting job", func(t *tx) (sql.Result, error) {
		return t.conn.ExecContext(ctx, `DELETE FROM "_jobs" WHERE "id" = ? AND "state" <> 'running'`, id)
	}, notRunning(ctx, id))
}

// notRunning explains why a write that skips running jobs changed nothing.
func notRunning(ctx context.Context, id string) func(t *tx) error {
	return func(t *tx) error {
		if _, err := t.Job(ctx, id); err != nil {
			return err
		}
		return apperr.New(apperr.Conflict, "The job is running.")
	}
}

// jobWrite runs one conditional write in a transaction; when it changes no
// row, none explains why.
func (s *Store) jobWrite(ctx context.Context, doing string, write func(t *tx) (sql.Result, error), none func(t *tx) error) error {
	return s.InTx(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		res, err := write(t)
		if err != nil {
			return formatError(ctx, fmt.Errorf("%s: %w", doing, err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return formatError(ctx, fmt.Errorf("%s: %w", doing, err))
		}
		if n == 0 {
			return none(t)
		}
		return nil
	})
}

// PruneJobs deletes finished jobs last updated before olderThan.
func (s *Store) PruneJobs(ctx context.Context, olderThan time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = pruneChunk
	}
	var n int64
	err := s.InTx(ctx, func(stx store.Tx) error {
		res, err := stx.(*tx).conn.ExecContext(ctx, `DELETE FROM "_jobs" WHERE rowid IN (
			SELECT rowid FROM "_jobs" WHERE "state" IN ('succeeded', 'dead') AND "updated" < ? LIMIT ?)`,
			schema.FormatTime(olderThan), limit)
		if err != nil {
			return formatError(ctx, fmt.Errorf("pruning jobs: %w", err))
		}
		n, err = res.RowsAffected()
		return formatError(ctx, err)
	})
	return n, err
}

// ClaimCronRun records owner's run of cronID at tick unless one exists.
func (s *Store) ClaimCronRun(ctx context.Context, cronID string, tick time.Time, owner string) (bool, error) {
	var won bool
	err := s.InTx(ctx, func(stx store.Tx) error {
		res, err := stx.(*tx).conn.ExecContext(ctx, `INSERT INTO "_cronRuns" ("cronId", "tick", "owner", "created") VALUES (?, ?, ?, `+nowSQL+`)
			ON CONFLICT DO NOTHING`, cronID, schema.FormatTime(tick), owner)
		if err != nil {
			return formatError(ctx, fmt.Errorf("claiming cron run: %w", err))
		}
		n, err := res.RowsAffected()
		won = n > 0
		return formatError(ctx, err)
	})
	return won, err
}

// PruneCronRuns deletes the run records of ticks before olderThan.
func (s *Store) PruneCronRuns(ctx context.Context, olderThan time.Time) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(stx store.Tx) error {
		res, err := stx.(*tx).conn.ExecContext(ctx, `DELETE FROM "_cronRuns" WHERE "tick" < ?`, schema.FormatTime(olderThan))
		if err != nil {
			return formatError(ctx, fmt.Errorf("pruning cron runs: %w", err))
		}
		n, err = res.RowsAffected()
		return formatError(ctx, err)
	})
	return n, err
}

// jobs runs a query returning jobColumns.
func (r reader) jobs(ctx context.Context, query string, args ...any) ([]*store.Job, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading jobs: %w", err))
	}
	defer rows.Close()
	out := []*store.Job{}
	for rows.Next() {
		var (
			j                                     store.Job
			payload, state, runAt, until, cr, upd string
			key                                   sql.NullString
		)
		if err := rows.Scan(&j.ID, &j.Name, &payload, &state, &j.Priority, &key, &j.Attempts, &j.MaxAttempts,
			&runAt, &j.LastError, &j.LeaseOwner, &until, &cr, &upd); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading job: %w", err))
		}
		j.Payload = json.RawMessage(payload)
		j.State = store.JobState(state)
		j.IdempotencyKey = key.String
		j.RunAt, _ = schema.ParseTime(runAt)
		if until != "" {
			j.LeaseUntil, _ = schema.ParseTime(until)
		}
		j.Created, _ = schema.ParseTime(cr)
		j.Updated, _ = schema.ParseTime(upd)
		out = append(out, &j)
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading jobs: %w", err))
	}
	return out, nil
}
