package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/backup"
	"github.com/basalt-dev/basalt/internal/job"
)

// Built-in cron entries (GET /api/crons). PocketBase's ids are kept for the
// same work; the auto backup is listed only while settings.backups.cron is
// set.
const (
	cronAutoBackup  = "__pbAutoBackup__"
	cronJobsCleanup = "__basaltJobsCleanup__"
	cronOTPCleanup  = "__pbOTPCleanup__"
	cronMFACleanup  = "__pbMFACleanup__"
)

// jobOptions configure the job queue of "basalt serve".
type jobOptions struct {
	// workers is how many jobs this process runs at once (0: it runs
	// none, other replicas do).
	workers int
	// maxAttempts is the default attempt limit of a job.
	maxAttempts int
	// retention is how long succeeded and dead jobs are kept.
	retention time.Duration
	// poll is the longest wait between looks for due jobs when idle.
	poll time.Duration
	// lease is how long a claimed job stays with a worker that stopped
	// renewing it (crashed) before another worker runs it again.
	lease time.Duration
}

func jobFlags(fs *flag.FlagSet, getenv func(string) string, o *jobOptions) error {
	ints := []struct {
		name, env string
		def, min  int
		p         *int
		usage     string
	}{
		{"job-workers", "BASALT_JOB_WORKERS", job.DefaultConcurrency, 0, &o.workers, "jobs this process runs at once (0: none; other replicas run them)"},
		{"job-max-attempts", "BASALT_JOB_MAX_ATTEMPTS", job.DefaultMaxAttempts, 1, &o.maxAttempts, "default attempts of a job before it is dead"},
	}
	for _, f := range ints {
		v := f.def
		if s := getenv(f.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < f.min {
				return fmt.Errorf("%s: want a number of at least %d, got %q", f.env, f.min, s)
			}
			v = n
		}
		fs.IntVar(f.p, f.name, v, f.usage+" (env "+f.env+")")
	}
	durations := []struct {
		name, env string
		def       time.Duration
		p         *time.Duration
		usage     string
	}{
		{"job-retention", "BASALT_JOB_RETENTION", 7 * 24 * time.Hour, &o.retention, "how long succeeded and dead jobs are kept"},
		{"job-poll", "BASALT_JOB_POLL", job.DefaultPollMax, &o.poll, "longest wait between looks for due jobs when idle"},
		{"job-lease", "BASALT_JOB_LEASE", job.DefaultLease, &o.lease, "how long a crashed worker's job waits before another worker runs it again"},
	}
	for _, d := range durations {
		v := d.def
		if s := getenv(d.env); s != "" {
			parsed, err := time.ParseDuration(s)
			if err != nil || parsed <= 0 {
				return fmt.Errorf("%s: want a positive duration, got %q", d.env, s)
			}
			v = parsed
		}
		fs.DurationVar(d.p, d.name, v, d.usage+" (env "+d.env+")")
	}
	return nil
}

// check reports flag values out of range.
func (o jobOptions) check() error {
	switch {
	case o.workers < 0:
		return fmt.Errorf("--job-workers: want 0 or more, got %d", o.workers)
	case o.maxAttempts < 1:
		return fmt.Errorf("--job-max-attempts: want 1 or more, got %d", o.maxAttempts)
	case o.retention <= 0 || o.poll <= 0 || o.lease <= 0:
		return fmt.Errorf("--job-retention, --job-poll and --job-lease must be positive")
	}
	return nil
}

// newJobs gives a its job queue and cron scheduler with the built-in
// entries; nothing runs until startJobs.
func newJobs(a *app, o jobOptions) {
	a.jobs = job.New(a.store, job.Options{
		Logger: a.logger, Concurrency: max(o.workers, 1), MaxAttempts: o.maxAttempts, PollMax: o.poll, Lease: o.lease,
	})
	a.crons = job.NewScheduler(a.store, job.SchedulerOptions{Logger: a.logger})
	a.crons.Add(cronJobsCleanup, "@hourly", func(ctx context.Context) error {
		n, err := a.jobs.Prune(ctx, o.retention)
		if n > 0 {
			a.logger.Info("pruned finished jobs", "count", n)
		}
		return err
	})
	a.crons.Add(cronOTPCleanup, "0 * * * *", func(ctx context.Context) error {
		_, err := a.auth.CleanupOTPs(ctx)
		return err
	})
	a.crons.Add(cronMFACleanup, "0 * * * *", func(ctx context.Context) error {
		_, err := a.auth.CleanupMFAs(ctx)
		return err
	})
}

// startJobs runs the job workers (unless o.workers is 0) and the cron
// schedule until stop, which stops the schedule and shuts the workers down
// by ctx's deadline (releasing the jobs still running then); only its
// first call does anything.
func startJobs(ctx context.Context, a *app, o jobOptions, backups *backup.Service) (stop func(ctx context.Context) error) {
	syncCtx, cancelSync := context.WithCancel(ctx)
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		syncAutoBackup(syncCtx, a, backups)
	}()
	a.crons.Start(ctx)
	if o.workers > 0 {
		a.jobs.Start(ctx)
	}
	var once sync.Once
	var err error
	return func(sctx context.Context) error {
		once.Do(func() {
			cancelSync()
			<-synced
			a.crons.Stop()
			err = a.jobs.Shutdown(sctx)
		})
		return err
	}
}

// syncAutoBackup keeps the __pbAutoBackup__ entry in step with
// settings.backups (settings apply without a restart) until ctx ends.
func syncAutoBackup(ctx context.Context, a *app, backups *backup.Service) {
	if backups == nil || !backups.Supported() {
		return
	}
	current := ""
	for {
		b := a.settings.Get().Backups
		if b.Cron != current {
			current = b.Cron
			if current == "" {
				a.crons.Remove(cronAutoBackup)
			} else if err := a.crons.Add(cronAutoBackup, current, func(ctx context.Context) error {
				return backups.Auto(ctx, time.Now().UTC().Truncate(time.Minute), a.settings.Get().Backups.CronMaxKeep)
			}); err != nil {
				a.logger.Error("scheduling automatic backups", "cron", current, "err", err)
			}
		}
		t := time.NewTimer(2 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
