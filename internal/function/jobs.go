package function

import (
	"context"

	"github.com/dop251/goja"
)

// Jobs is what functions need of the job queue and its cron scheduler.
type Jobs interface {
	// Enqueue queues a job for the handler name with a JSON payload.
	Enqueue(ctx context.Context, name string, payload []byte) error
	// Handle makes fn the handler of jobs named name (nil removes it).
	Handle(name string, fn func(ctx context.Context, payload []byte) error)
	// Schedule runs fn on a cron schedule under name, replacing what name
	// ran before; an empty schedule removes it.
	Schedule(name, schedule string, fn func(ctx context.Context) error) error
	// CheckSchedule reports whether schedule is a valid cron expression.
	CheckSchedule(schedule string) error
}

// checkCron validates a cron schedule while a file loads.
func (s *Service) checkCron(schedule string) error {
	if s.opts.Jobs == nil {
		return nil
	}
	return s.opts.Jobs.CheckSchedule(schedule)
}

// registerJobs is called after a (re)load: it is filled in when the job
// queue is wired.
func (s *Service) registerJobs(p *pool) {}

// jobsEnqueue is basalt.jobs.enqueue(name, payload).
func (v *vm) jobsEnqueue(c goja.FunctionCall) goja.Value {
	panic(v.rt.NewTypeError("jobs are not available in this server"))
}
