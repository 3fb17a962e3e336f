package store

import (
	"context"
	"encoding/json"
	"time"
)

// JobState is where a job stands.
type JobState string

// The job states: queued until a worker claims it (running); a failed
// attempt puts it back as failed until its next run time, and when attempts
// run out it is dead (the dead-letter state, kept for inspection and manual
// retry); succeeded once a run returned without error.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobFailed    JobState = "failed"
	JobSucceeded JobState = "succeeded"
	JobDead      JobState = "dead"
)

// Job is one durable unit of background work.
type Job struct {
	ID string
	// Name selects the handler that runs the job.
	Name    string
	Payload json.RawMessage
	State   JobState
	// Priority orders due jobs: higher first.
	Priority int
	// IdempotencyKey, when not empty, is unique among stored jobs: a
	// second enqueue with the same key returns the first job.
	IdempotencyKey string
	// Attempts counts the runs started (claims), MaxAttempts bounds them.
	Attempts    int
	MaxAttempts int
	// RunAt is when the job is due (for a failed job: its next attempt).
	RunAt     time.Time
	LastError string
	// LeaseOwner and LeaseUntil say which worker runs the job and until
	// when its claim holds ("" and zero when not running).
	LeaseOwner string
	LeaseUntil time.Time
	Created    time.Time
	Updated    time.Time
}

// JobFilter selects jobs to list.
type JobFilter struct {
	State JobState // "" = every state
	Name  string   // "" = every name
	// Limit <= 0 means no limit.
	Limit, Offset int
}

// JobQueue is the durable job queue and the cron run ledger, shared by every
// process on the database. Job methods other than JobTx.EnqueueJob run on
// their own, outside any transaction: a worker's claim or finish concerns
// one job and must not wait for record writers.
type JobQueue interface {
	// Jobs returns the jobs matching f, newest first, with the total count
	// of matches.
	Jobs(ctx context.Context, f JobFilter) ([]*Job, int64, error)
	// Job returns the job with id; NotFound when absent.
	Job(ctx context.Context, id string) (*Job, error)
	// ClaimJobs leases up to limit due jobs to owner until leaseUntil and
	// returns them, highest priority then earliest RunAt first. Due means
	// queued or failed with RunAt at or before now, or running with a lease
	// that expired before now (its worker died: at-least-once). A claimed
	// job is running, its Attempts one higher. No job is claimed by two
	// owners at once, even when processes claim at the same moment.
	// Invalid when owner is empty.
	ClaimJobs(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*Job, error)
	// ExtendJobLease moves the lease end of the running job id held by
	// owner to until. Conflict when owner does not hold it (any more).
	ExtendJobLease(ctx context.Context, id, owner string, until time.Time) error
	// FinishJob ends owner's lease on j and writes j's State, Attempts,
	// RunAt, LastError and Updated. NotFound when no job has j's id;
	// Conflict, writing nothing, when j is not running under owner's lease.
	FinishJob(ctx context.Context, j *Job, owner string) error
	// RetryJob makes the job id queued again, due at runAt with no attempts
	// counted. NotFound when absent; Conflict when it is running.
	RetryJob(ctx context.Context, id string, runAt time.Time) (*Job, error)
	// DeleteJob deletes the job id. NotFound when absent; Conflict when it
	// is running.
	DeleteJob(ctx context.Context, id string) error
	// PruneJobs deletes up to limit succeeded or dead jobs last updated
	// before olderThan and returns how many it deleted.
	PruneJobs(ctx context.Context, olderThan time.Time, limit int) (int64, error)
	// ClaimCronRun records that owner runs the cron job cronID for its
	// scheduled minute tick and reports true, or reports false when some
	// owner already recorded that run: of several processes claiming one
	// tick, exactly one gets true.
	ClaimCronRun(ctx context.Context, cronID string, tick time.Time, owner string) (bool, error)
	// PruneCronRuns deletes the cron run records of ticks before olderThan.
	PruneCronRuns(ctx context.Context, olderThan time.Time) (int64, error)
}

// JobTx is the job side of a write transaction.
type JobTx interface {
	// EnqueueJob stores j as part of the transaction (it exists if and only
	// if the transaction commits) and reports true. When j has an
	// IdempotencyKey that a stored job has, it stores nothing, fills j from
	// that job and reports false. Invalid when j lacks an id or name or
	// its payload is not JSON; Conflict when a job with j's id exists.
	EnqueueJob(ctx context.Context, j *Job) (bool, error)
}
