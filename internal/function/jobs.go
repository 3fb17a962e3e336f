package function

import (
	"context"
	"encoding/json"
	"github.com/basalt-dev/basalt/internal/store"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// Jobs is what functions need of the job queue and its cron scheduler.
// Names are the functions' own: the wiring keeps them apart from the
// server's jobs and crons.
type Jobs interface {
	// Enqueue queues a job for the handler name with a JSON payload.
	Enqueue(ctx context.Context, name string, payload []byte) error
	// EnqueueTx is Enqueue inside the write transaction tx: the job is
	// stored only if the write commits.
	EnqueueTx(ctx context.Context, tx store.Tx, name string, payload []byte) error
	// Handle makes fn the handler of jobs named name (nil removes it).
	Handle(name string, fn func(ctx context.Context, payload []byte) error)
	// Schedule runs fn on a cron schedule under name, replacing what name
	// ran before; a nil fn removes it.
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

// registerJobs makes the job handlers and crons of p the registered ones:
// new names are added, names p no longer has are removed. Handlers look
// the function up in the loaded pool when they run, so a reload that keeps
// a name changes what it runs.
func (s *Service) registerJobs(p *pool) {
	jobs, crons := map[string]bool{}, map[string]bool{}
	for _, r := range p.regs {
		switch r.kind {
		case "job":
			if !jobs[r.name] {
				jobs[r.name] = true
				name := r.name
				s.opts.Jobs.Handle(name, func(ctx context.Context, payload []byte) error {
					return s.runNamed(ctx, "job", name, payload)
				})
			}
		case "cron":
			crons[r.name] = true
			name := r.name
			if err := s.opts.Jobs.Schedule(name, r.arg, func(ctx context.Context) error {
				return s.runNamed(ctx, "cron", name, nil)
			}); err != nil {
				s.log.Error("functions: scheduling a cron failed", "cron", name, "file", r.file, "err", err)
			}
		}
	}
	for name := range s.jobNames {
		if !jobs[name] {
			s.opts.Jobs.Handle(name, nil)
		}
	}
	for name := range s.cronNames {
		if !crons[name] {
			_ = s.opts.Jobs.Schedule(name, "", nil)
		}
	}
	s.jobNames, s.cronNames = jobs, crons
}

// runNamed runs the job handler or cron named name in the loaded pool
// (the last registration of the name wins).
func (s *Service) runNamed(ctx context.Context, kind, name string, payload []byte) error {
	p := s.current()
	if p == nil {
		return apperr.New(apperr.Unavailable, "functions are not loaded")
	}
	idx := -1
	for i, r := range p.regs {
		if r.kind == kind && r.name == name {
			idx = i
		}
	}
	if idx < 0 {
		return apperr.New(apperr.NotFound, "no function handles "+kind+" "+name)
	}
	return s.call(ctx, p, idx, nil, func(v *vm) []goja.Value {
		if kind == "cron" {
			return nil
		}
		if len(payload) == 0 {
			return []goja.Value{goja.Null()}
		}
		return []goja.Value{v.parseJSON(payload)}
	}, nil)
}

// jobsEnqueue is basalt.jobs.enqueue(name, payload?): the payload is
// stored as JSON. From a before-hook the job joins the write's transaction:
// it is queued only if the write commits.
func (v *vm) jobsEnqueue(c goja.FunctionCall) goja.Value {
	if v.svc.opts.Jobs == nil {
		v.throw(apperr.New(apperr.Unavailable, "Jobs are not available in this server."))
	}
	var payload []byte
	if a := c.Argument(1); !goja.IsUndefined(a) {
		b, err := json.Marshal(a.Export())
		if err != nil {
			v.throw(apperr.New(apperr.Invalid, "The job payload must be JSON data."))
		}
		payload = b
	}
	var err error
	if v.inv != nil && v.inv.tx != nil {
		err = v.svc.opts.Jobs.EnqueueTx(v.ctx(), v.inv.tx, c.Argument(0).String(), payload)
	} else {
		err = v.svc.opts.Jobs.Enqueue(v.ctx(), c.Argument(0).String(), payload)
	}
	if err != nil {
		v.throw(err)
	}
	return goja.Undefined()
}
