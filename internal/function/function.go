// Package function runs user JavaScript ("functions") loaded from a
// directory: record hooks, custom HTTP routes, cron jobs and job handlers.
// Each invocation runs on a warm runtime from a pool, within a time limit
// and a memory budget, and reaches Basalt only through the basalt API
// object (records, mail, jobs, outbound HTTP, secrets, log). Files are
// polled for changes; a reload builds a new pool and swaps it in without
// dropping requests, and a broken file keeps the previous version running.
//
// function is a service: it imports the record service, the mail port, the
// netguard and apperr leaves and the goja runtime; never transports or
// adapters. Its HTTP routes are served by the api/fnroute transport.
package function

import (
	"context"
	"errors"
	"fmt"
	"github.com/basalt-dev/basalt/internal/store"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Defaults of Options.
const (
	DefaultTimeLimit    = 2 * time.Second
	DefaultMemoryBudget = 64 << 20
	DefaultPollInterval = time.Second
	DefaultHTTPTimeout  = 10 * time.Second
	// MaxFileSize bounds one function file.
	MaxFileSize = 1 << 20
)

// Records is what functions need of the record service.
type Records interface {
	View(ctx context.Context, req *record.Request, collection, id, expand string) (*record.Item, error)
	List(ctx context.Context, req *record.Request, collection string, opts record.ListOptions) (*record.ListResult, error)
	Create(ctx context.Context, req *record.Request, collection string, in record.Input, expand string) (*record.Item, error)
	Update(ctx context.Context, req *record.Request, collection, id string, in record.Input, expand string) (*record.Item, error)
	Delete(ctx context.Context, req *record.Request, collection, id string) error
	Visibility(ctx context.Context, req *record.Request)
	Collection(nameOrID string) (*schema.Collection, error)
}

// Mailer queues mail.
type Mailer interface {
	Send(ctx context.Context, m *mail.Message) error
}

// Options configure the service.
type Options struct {
	// Dir holds the function files (*.js, not recursive).
	Dir string
	// TimeLimit bounds one invocation (and the loading of the files).
	TimeLimit time.Duration
	// MemoryBudget is how much the process heap may grow during one
	// invocation before it is interrupted (see limits.go).
	MemoryBudget int64
	// PoolSize is the number of warm runtimes (concurrent invocations).
	PoolSize int
	// PollInterval is how often the directory is checked for changes.
	PollInterval time.Duration
	// Secrets are what basalt.secrets.get reads.
	Secrets map[string]string
	// HTTPAllow lists private networks basalt.http.fetch may reach.
	HTTPAllow []netip.Prefix
	// HTTPTimeout caps one outbound call.
	HTTPTimeout time.Duration
	// Wrap, when set, wraps the outbound transport (tracing).
	Wrap func(http.RoundTripper) http.RoundTripper

	Logger  *slog.Logger
	Records Records
	// Mail queues basalt.mail.send; nil refuses it. MailFrom is the sender.
	Mail     Mailer
	MailFrom func() mail.Address
	// Jobs enqueues jobs and registers handlers and crons; nil leaves
	// basalt.jobs, basalt.job and basalt.cron unavailable.
	Jobs Jobs
}

// Service loads function files and runs them.
type Service struct {
	opts Options
	log  *slog.Logger
	// prelude compiles the prelude on first use: a server without
	// function files never builds a runtime, so it never needs it.
	prelude func() *goja.Program
	watch   *watchdog
	http    *fetcher

	cur atomic.Pointer[pool]
	// stamp identifies the loaded version of the directory (names, sizes
	// and modification times).
	mu    sync.Mutex
	stamp string
	// onLoad is called after each successful (re)load with the new pool.
	onLoad func(p *pool)
	// jobNames and cronNames are the registered job handlers and crons.
	jobNames, cronNames map[string]bool
}

// New returns a service; Start loads the files.
func New(opts Options) *Service {
	if opts.TimeLimit <= 0 {
		opts.TimeLimit = DefaultTimeLimit
	}
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = DefaultMemoryBudget
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = 4
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.HTTPTimeout <= 0 {
		opts.HTTPTimeout = DefaultHTTPTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		opts: opts, log: opts.Logger,
		prelude: sync.OnceValue(func() *goja.Program { return goja.MustCompile("prelude.js", prelude, true) }),
		watch:   newWatchdog(opts.MemoryBudget, 5*time.Millisecond),
	}
	s.http = newFetcher(opts.HTTPAllow, opts.HTTPTimeout, opts.Wrap)
	return s
}

// Start loads the files (an error in one is returned: the server should
// not start with broken functions) and keeps watching the directory and the
// memory of invocations until ctx ends. A missing directory means no
// functions until it appears.
func (s *Service) Start(ctx context.Context) error {
	if err := s.reload(); err != nil {
		return err
	}
	go s.watch.run(ctx)
	go s.poll(ctx)
	return nil
}

// Reload loads the directory again if it changed. An error leaves the
// previous version running; it is also logged.
func (s *Service) Reload() error {
	err := s.reload()
	if err != nil {
		s.log.Error("functions: reload failed; the previous version keeps running", "dir", s.opts.Dir, "err", err)
	}
	return err
}

func (s *Service) poll(ctx context.Context) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.Reload()
		}
	}
}

// reload builds a pool from the directory when its stamp changed.
func (s *Service) reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, stamp, err := s.scan()
	if err != nil {
		return err
	}
	if stamp == s.stamp && s.cur.Load() != nil {
		return nil
	}
	files := make([]*source, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(s.opts.Dir, name))
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if len(b) > MaxFileSize {
			return fmt.Errorf("%s is larger than %d bytes", name, MaxFileSize)
		}
		src, err := compile(name, string(b))
		if err != nil {
			return err
		}
		files = append(files, src)
	}
	p, err := s.newPool(files, s.opts.PoolSize)
	if err != nil {
		return err
	}
	if s.onLoad != nil {
		s.onLoad(p)
	}
	s.cur.Store(p)
	s.stamp = stamp
	if s.opts.Jobs != nil {
		s.registerJobs(p)
	}
	s.log.Info("functions loaded", "dir", s.opts.Dir, "files", len(files), "registrations", len(p.regs))
	return nil
}

// scan lists the *.js files of the directory and a stamp of their state.
func (s *Service) scan() ([]string, string, error) {
	entries, err := os.ReadDir(s.opts.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading the functions directory: %w", err)
	}
	var names []string
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".js") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile: the next poll sees it
		}
		names = append(names, e.Name())
		fmt.Fprintf(&b, "%s|%d|%d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
	}
	sort.Strings(names)
	return names, b.String(), nil
}

// call runs registration idx of p with args built on the runtime, within
// the limits, and gives the result to use (on the runtime's goroutine).
// Errors are service errors: an ApiError thrown by the function keeps its
// status, message and data; anything else is logged and is an internal (or
// for the limits, unavailable) error.
func (s *Service) call(ctx context.Context, p *pool, idx int, tx store.Tx,
	args func(v *vm) []goja.Value, use func(v *vm, res goja.Value) error) error {
	reg := &p.regs[idx]
	// A function whose API call runs another function (an after-hook that
	// saves a record of its own collection) holds a runtime per level:
	// refuse the level the pool cannot serve instead of waiting for it.
	depth, _ := ctx.Value(depthKey{}).(int)
	if depth >= s.opts.PoolSize || depth >= maxDepth {
		s.log.Error("functions: nested too deeply (does a hook trigger itself?)", "function", reg.label(), "file", reg.file, "depth", depth)
		return apperr.New(apperr.Internal, "functions nested too deeply")
	}
	ctx = context.WithValue(ctx, depthKey{}, depth+1)
	wait, cancelWait := context.WithTimeout(ctx, s.opts.TimeLimit)
	v, err := p.acquire(wait)
	cancelWait()
	if err != nil {
		s.log.Warn("functions: no free runtime", "function", reg.label(), "file", reg.file)
		return err
	}
	ictx, cancel := context.WithTimeout(ctx, s.opts.TimeLimit)
	defer cancel()
	inv := &invocation{ctx: ictx, rt: v.rt, label: reg.label(), file: reg.file, tx: tx}
	v.inv = inv
	stopTimer := s.timer(inv)
	defer stopTimer()
	stopCancel := context.AfterFunc(ctx, func() { inv.interrupt(errCancelled) })
	defer stopCancel()
	s.watch.add(inv)
	defer s.watch.remove(inv)

	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		res, err := v.fns[idx](goja.Undefined(), args(v)...)
		if err == nil {
			res, err = settle(res)
		}
		if err == nil && use != nil {
			err = use(v, res)
		}
		done <- v.convert(err)
	}()
	abandoned := false
	select {
	case err = <-done:
	case <-ictx.Done():
		select {
		case err = <-done:
		case <-time.After(abandonAfter):
			abandoned = true
			inv.interrupt(errTimeLimit)
		}
	}
	reason := inv.finish()
	switch {
	case abandoned:
		go func() { <-done; s.replace(p) }()
	case reason != nil:
		v.rt.ClearInterrupt()
		v.inv = nil
		s.replace(p)
	default:
		v.inv = nil
		if isPanic(err) {
			s.replace(p)
		} else {
			p.release(v)
		}
	}
	return s.failure(reg, reason, err)
}

// depthKey marks the context of API calls made by a function with how many
// invocations are nested there.
type depthKey struct{}

// maxDepth bounds nested invocations whatever the pool size.
const maxDepth = 8

func isPanic(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "panic: ") }

// settle unwraps a promise that has settled (an async handler that awaited
// nothing pending); a pending one is an error.
func settle(res goja.Value) (goja.Value, error) {
	if res == nil {
		return goja.Undefined(), nil
	}
	pr, ok := res.Export().(*goja.Promise)
	if !ok {
		return res, nil
	}
	switch pr.State() {
	case goja.PromiseStateFulfilled:
		return pr.Result(), nil
	case goja.PromiseStateRejected:
		return nil, &thrown{value: pr.Result()}
	}
	return nil, errors.New("the handler returned a promise that is still pending; handlers must finish synchronously")
}

// thrown is a value a rejected promise carried.
type thrown struct{ value goja.Value }

func (t *thrown) Error() string { return "uncaught (in promise) " + t.value.String() }

// failure turns the outcome of an invocation into the error its caller
// returns, and logs what is not the function's deliberate answer.
func (s *Service) failure(reg *registration, reason, err error) error {
	if reason != nil {
		s.log.Error("function interrupted", "function", reg.label(), "file", reg.file, "reason", reason.Error())
		switch {
		case errors.Is(reason, errCancelled):
			return apperr.Wrap(apperr.Unavailable, "The request was cancelled.", reason)
		case errors.Is(reason, errMemory):
			return apperr.Wrap(apperr.Unavailable, "The function exceeded its memory budget.", reason)
		}
		return apperr.Wrap(apperr.Unavailable, "The function exceeded its time limit.", reason)
	}
	if err == nil {
		return nil
	}
	if e := apperr.As(err); e != nil {
		if e.Code == apperr.Internal {
			s.log.Error("function failed", "function", reg.label(), "file", reg.file, "err", err)
		}
		return e
	}
	s.log.Error("function failed", "function", reg.label(), "file", reg.file, "err", describe(err))
	return apperr.Wrap(apperr.Internal, "The function failed.", err)
}

// current returns the loaded pool, or nil before Start.
func (s *Service) current() *pool { return s.cur.Load() }
