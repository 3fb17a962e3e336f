package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// The job queue (store.JobQueue) lives in "_jobs"; "_cronRuns" records which
// replica ran each scheduled cron minute. Claims, finishes and other job
// writes run outside the writer lock: a claim locks its candidate rows FOR
// UPDATE SKIP LOCKED, so concurrent claims from other workers and replicas
// pass over them instead of waiting, and checks the due condition again on
// the row it locked.

// jobsMigration creates the job and cron run tables. An empty idempotency
// key is stored as NULL, which the UNIQUE constraint lets repeat.
var jobsMigration = systemMigration{
	name: "0009_jobs",
	sql: []string{`CREATE TABLE "_jobs" (
			"id"             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
			"name"           TEXT NOT NULL,
			"payload"        TEXT NOT NULL,
			"state"          TEXT COLLATE "C" NOT NULL,
			"priority"       INTEGER NOT NULL DEFAULT 0,
			"idempotencyKey" TEXT UNIQUE,
			"attempts"       INTEGER NOT NULL DEFAULT 0,
			"maxAttempts"    INTEGER NOT NULL,
			"runAt"          TEXT COLLATE "C" NOT NULL,
			"lastError"      TEXT NOT NULL DEFAULT '',
			"leaseOwner"     TEXT NOT NULL DEFAULT '',
			"leaseUntil"     TEXT COLLATE "C" NOT NULL DEFAULT '',
			"created"        TEXT COLLATE "C" NOT NULL,
			"updated"        TEXT COLLATE "C" NOT NULL,
			"seq"            BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL
		)`,
		`CREATE INDEX "_jobs_due" ON "_jobs" ("state", "runAt")`,
		`CREATE INDEX "_jobs_created" ON "_jobs" ("created", "seq")`,
		`CREATE TABLE "_cronRuns" (
			"cronId"  TEXT COLLATE "C" NOT NULL,
			"tick"    TEXT COLLATE "C" NOT NULL,
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
		`CREATE INDEX "_jobs_ready" ON "_jobs" ("priority" DESC, "runAt", "seq") WHERE "state" IN ('queued', 'failed')`,
		`CREATE INDEX "_jobs_leases" ON "_jobs" ("leaseUntil") WHERE "state" = 'running'`,
	},
}

const jobColumns = `"id", "name", "payload", "state", "priority", "idempotencyKey", "attempts", "maxAttempts", "runAt", "lastError", "leaseOwner", "leaseUntil", "created", "updated"`

// EnqueueJob stores j unless its idempotency key is taken.
func (t *tx) EnqueueJob(ctx context.Context, j *store.Job) (bool, error) {
	if j == nil || j.ID == "" || j.Name == "" || !json.Valid(j.Payload) {
		return false, apperr.New(apperr.Invalid, "Incomplete job.")
	}
	var key any
	if j.IdempotencyKey != "" {
		key = j.IdempotencyKey
	}
	tag, err := t.exec(ctx, `INSERT INTO "_jobs" (`+jobColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', '', $11, $12)
		ON CONFLICT ("idempotencyKey") DO NOTHING`,
		j.ID, j.Name, string(j.Payload), string(j.State), j.Priority, key, j.Attempts, j.MaxAttempts,
		schema.FormatTime(j.RunAt), j.LastError, schema.FormatTime(j.Created), schema.FormatTime(j.Updated))
	if err != nil {
		return false, formatError(ctx, fmt.Errorf("enqueueing job: %w", err))
	}
	if tag.RowsAffected() > 0 {
		return true, nil
	}
	list, err := t.jobs(ctx, `SELECT `+jobColumns+` FROM "_jobs" WHERE "idempotencyKey" = $1`, j.IdempotencyKey)
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
	where, args := "TRUE", []any{}
	if f.State != "" {
		args = append(args, string(f.State))
		where += fmt.Sprintf(` AND "state" = $%d`, len(args))
	}
	if f.Name != "" {
		args = append(args, f.Name)
		where += fmt.Sprintf(` AND "name" = $%d`, len(args))
	}
	var total int64
	if err := r.q.QueryRow(ctx, `SELECT COUNT(*) FROM "_jobs" WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, formatError(ctx, fmt.Errorf("counting jobs: %w", err))
	}
	var limit any // NULL: no limit
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	n := len(args)
	list, err := r.jobs(ctx, `SELECT `+jobColumns+` FROM "_jobs" WHERE `+where+fmt.Sprintf(` ORDER BY "created" DESC, "seq" DESC LIMIT $%d OFFSET $%d`, n+1, n+2),
		append(args, limit, int64(max(f.Offset, 0)))...)
	return list, total, err
}

// Job returns one job.
func (r reader) Job(ctx context.Context, id string) (*store.Job, error) {
	list, err := r.jobs(ctx, `SELECT `+jobColumns+` FROM "_jobs" WHERE "id" = $1`, id)
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
	list, err := s.jobs(ctx, `WITH "expired" AS (
			SELECT "seq" FROM "_jobs" WHERE "state" = 'running' AND "leaseUntil" < $1 LIMIT $4 FOR UPDATE SKIP LOCKED
		), "ready" AS (
			SELECT "seq" FROM "_jobs" WHERE "state" IN ('queued', 'failed') AND "runAt" <= $1
			ORDER BY "priority" DESC, "runAt", "seq" LIMIT $4 FOR UPDATE SKIP LOCKED
		)
		UPDATE "_jobs" AS "j" SET "state" = 'running', "leaseOwner" = $2, "leaseUntil" = $3,
			"attempts" = "j"."attempts" + 1, "updated" = $1
		FROM (SELECT "seq" FROM (
				SELECT "seq" FROM "expired" UNION ALL SELECT "seq" FROM "ready") AS "both" LIMIT $4) AS "c"
		WHERE "j"."seq" = "c"."seq" AND (("j"."state" IN ('queued', 'failed') AND "j"."runAt" <= $1) OR ("j"."state" = 'running' AND "j"."leaseUntil" < $1))
		RETURNING `+qualified("j", jobColumns),
		schema.FormatTime(now), owner, schema.FormatTime(leaseUntil), int64(limit))
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Priority != list[j].Priority {
			return list[i].Priority > list[j].Priority
		}
		return list[i].RunAt.Before(list[j].RunAt)
	})
	return list, nil
}

// ExtendJobLease moves the end of owner's lease on job id.
func (s *Store) ExtendJobLease(ctx context.Context, id, owner string, until time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE "_jobs" SET "leaseUntil" = $1 WHERE "id" = $2 AND "state" = 'running' AND "leaseOwner" = $3`,
		schema.FormatTime(until), id, owner)
	return s.jobWritten(ctx, "extending job lease", id, tag, err, "The job is not leased to this worker.")
}

// FinishJob writes the outcome of owner's run of j.
func (s *Store) FinishJob(ctx context.Context, j *store.Job, owner string) error {
	if owner == "" {
		return apperr.New(apperr.Invalid, "Missing lease owner.")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE "_jobs" SET "state" = $1, "attempts" = $2, "runAt" = $3, "lastError" = $4, "updated" = $5,
			"leaseOwner" = '', "leaseUntil" = ''
		WHERE "id" = $6 AND "state" = 'running' AND "leaseOwner" = $7`,
		string(j.State), j.Attempts, schema.FormatTime(j.RunAt), j.LastError, schema.FormatTime(j.Updated), j.ID, owner)
	return s.jobWritten(ctx, "finishing job", j.ID, tag, err, "The job is not leased to this worker.")
}

// RetryJob queues job id again.
func (s *Store) RetryJob(ctx context.Context, id string, runAt time.Time) (*store.Job, error) {
	at := schema.FormatTime(runAt)
	tag, err := s.pool.Exec(ctx, `UPDATE "_jobs" SET "state" = 'queued', "attempts" = 0, "runAt" = $1, "updated" = $1
		WHERE "id" = $2 AND "state" <> 'running'`, at, id)
	if err := s.jobWritten(ctx, "retrying job", id, tag, err, "The job is running."); err != nil {
		return nil, err
	}
	return s.Job(ctx, id)
}

// DeleteJob deletes job id unless it is running.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM "_jobs" WHERE "id" = $1 AND "state" <> 'running'`, id)
	return s.jobWritten(ctx, "deleting job", id, tag, err, "The job is running.")
}

// jobWritten turns the result of a conditional write of job id into the
// error contract: NotFound when the job is absent, Conflict (with message)
// when it exists but the condition did not hold.
func (s *Store) jobWritten(ctx context.Context, doing, id string, tag pgconn.CommandTag, err error, message string) error {
	if err != nil {
		return formatError(ctx, fmt.Errorf("%s: %w", doing, err))
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	if _, err := s.Job(ctx, id); err != nil {
		return err
	}
	return apperr.New(apperr.Conflict, message)
}

// PruneJobs deletes finished jobs last updated before olderThan.
func (s *Store) PruneJobs(ctx context.Context, olderThan time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = pruneChunk
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM "_jobs" WHERE "seq" IN (
		SELECT "seq" FROM "_jobs" WHERE "state" IN ('succeeded', 'dead') AND "updated" < $1 LIMIT $2)`,
		schema.FormatTime(olderThan), int64(limit))
	if err != nil {
		return 0, formatError(ctx, fmt.Errorf("pruning jobs: %w", err))
	}
	return tag.RowsAffected(), nil
}

// ClaimCronRun records owner's run of cronID at tick unless one exists.
func (s *Store) ClaimCronRun(ctx context.Context, cronID string, tick time.Time, owner string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO "_cronRuns" ("cronId", "tick", "owner", "created") VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, cronID, schema.FormatTime(tick), owner, nowText())
	if err != nil {
		return false, formatError(ctx, fmt.Errorf("claiming cron run: %w", err))
	}
	return tag.RowsAffected() > 0, nil
}

// PruneCronRuns deletes the run records of ticks before olderThan.
func (s *Store) PruneCronRuns(ctx context.Context, olderThan time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM "_cronRuns" WHERE "tick" < $1`, schema.FormatTime(olderThan))
	if err != nil {
		return 0, formatError(ctx, fmt.Errorf("pruning cron runs: %w", err))
	}
	return tag.RowsAffected(), nil
}

// jobs runs a query returning jobColumns.
func (r reader) jobs(ctx context.Context, query string, args ...any) ([]*store.Job, error) {
	rows, err := r.q.Query(ctx, query, args...)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading jobs: %w", err))
	}
	defer rows.Close()
	out := []*store.Job{}
	for rows.Next() {
		var (
			j                                     store.Job
			payload, state, runAt, until, cr, upd string
			key                                   *string
		)
		if err := rows.Scan(&j.ID, &j.Name, &payload, &state, &j.Priority, &key, &j.Attempts, &j.MaxAttempts,
			&runAt, &j.LastError, &j.LeaseOwner, &until, &cr, &upd); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading job: %w", err))
		}
		j.Payload = json.RawMessage(payload)
		j.State = store.JobState(state)
		if key != nil {
			j.IdempotencyKey = *key
		}
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
