// Package job runs background work: a durable queue of jobs stored in the
// application database and a cron scheduler whose runs happen once across
// every process sharing that database.
//
// # Jobs
//
// A Queue stores jobs through store.JobQueue and runs them with the handler
// registered for their name:
//
//	q := job.New(st, job.Options{Concurrency: 4})
//	q.Handle("thumbnail", func(ctx context.Context, j *job.Job) error { … })
//	q.Enqueue(ctx, job.EnqueueOptions{Name: "thumbnail", Payload: json.RawMessage(`{"id":"x"}`)})
//	q.Start(ctx) … q.Shutdown(shutdownCtx)
//
// Handle replaces the handler of a name (reloaded functions call it again)
// and Unhandle removes it; a job whose name has no handler when it is
// claimed fails its attempt and is retried like any failure. EnqueueTx
// enqueues inside a write transaction (store.Tx, as the record service's
// hooks hold it): the job exists if and only if that transaction commits.
// An IdempotencyKey makes a second enqueue return the first job.
//
// Execution is at least once. A worker claims a job with a lease (Options.
// Lease, renewed while the handler runs); a job whose worker died is claimed
// again when the lease expires, so handlers must tolerate a repeat. A failed
// attempt is retried after BackoffBase·2^(attempt-1), jittered to between
// half and all of that and capped at BackoffMax; after MaxAttempts attempts
// the job is dead (kept for inspection; Retry queues it again). Shutdown
// stops claiming, waits for running handlers until its context ends, then
// cancels them and releases their jobs for another worker.
//
// # Cron
//
// A Scheduler runs functions on cron schedules (package cron's syntax):
//
//	s := job.NewScheduler(st, job.SchedulerOptions{})
//	s.Add("__reports__", "@hourly", func(ctx context.Context) error { … })
//	s.Start(ctx) … s.Stop()
//
// Add replaces an entry with the same id, Remove deletes one, List returns
// them ({ID, Expression}, by id) and RunNow runs one at once in this process.
// For every scheduled minute each process asks the database to record the
// run (store.JobQueue.ClaimCronRun); only the process that records it runs
// the entry, so with several replicas each scheduled run happens exactly
// once. Minutes are read in UTC.
//
// job is a service: it imports the store port and leaf packages, never
// adapters or transports.
package job
