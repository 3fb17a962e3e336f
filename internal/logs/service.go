package logs

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
)

// Options tune a Service; zero values take the defaults.
type Options struct {
	// Settings returns the current logs settings (maxDays, minLevel,
	// logIP, logAuthId); nil means PocketBase's defaults.
	Settings func() settings.Logs
	// Buffer is how many entries may wait for the writer; beyond it new
	// entries are dropped and counted. Default 4096.
	Buffer int
	// Batch is the most entries written in one transaction. Default 200.
	Batch int
	// FlushEvery is the longest an entry waits before it is written.
	// Default 1 s.
	FlushEvery time.Duration
	// PruneEvery is how often entries older than maxDays are deleted.
	// Default 1 h.
	PruneEvery time.Duration
	Now        func() time.Time
	// NewID makes entry ids; default random.ID.
	NewID func() string
	// Errors receives the writer's own failures. It must not lead back to
	// the Service (that could loop); default discards.
	Errors *slog.Logger
}

// Defaults of Options.
const (
	DefaultBuffer     = 4096
	DefaultBatch      = 200
	DefaultFlushEvery = time.Second
	DefaultPruneEvery = time.Hour
)

// Service writes log entries to the log database and reads them back.
type Service struct {
	st      store.LogStore
	opts    Options
	queue   chan *store.Log
	syncReq chan chan struct{}
	dropped atomic.Int64
	failed  atomic.Int64
}

// New returns a service over st; call Run to start writing.
func New(st store.LogStore, opts Options) *Service {
	if opts.Settings == nil {
		def := settings.Defaults().Logs
		opts.Settings = func() settings.Logs { return def }
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = DefaultFlushEvery
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = DefaultPruneEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = random.ID
	}
	if opts.Errors == nil {
		opts.Errors = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, opts: opts, queue: make(chan *store.Log, opts.Buffer), syncReq: make(chan chan struct{})}
}

// Dropped is how many entries were dropped because the queue was full.
func (s *Service) Dropped() int64 { return s.dropped.Load() }

// Failed is how many entries were lost to failed writes.
func (s *Service) Failed() int64 { return s.failed.Load() }

// stores reports whether entries at level are stored. A nil Service stores
// nothing.
func (s *Service) stores(level slog.Level) bool {
	if s == nil {
		return false
	}
	cfg := s.opts.Settings()
	return cfg.MaxDays > 0 && int(level) >= cfg.MinLevel
}

// enqueue queues an entry without ever blocking: when the queue is full the
// entry is dropped and counted.
func (s *Service) enqueue(t time.Time, level int, message string, data map[string]any) {
	cfg := s.opts.Settings()
	if !cfg.LogIP {
		delete(data, "userIP")
		delete(data, "remoteIP")
	}
	if !cfg.LogAuthID {
		delete(data, "authId")
	}
	if t.IsZero() {
		t = s.opts.Now()
	}
	l := &store.Log{ID: s.opts.NewID(), Created: t.UTC(), Level: level, Message: message, Data: data}
	select {
	case s.queue <- l:
	default:
		s.dropped.Add(1)
	}
}

// Run writes queued entries in batches and prunes old ones until ctx ends,
// then writes what is still queued and returns.
func (s *Service) Run(ctx context.Context) error {
	flush := time.NewTicker(s.opts.FlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(s.opts.PruneEvery)
	defer prune.Stop()
	s.prune(ctx)
	batch := make([]*store.Log, 0, s.opts.Batch)
	write := func() {
		if len(batch) == 0 {
			return
		}
		// A batch taken off the queue is written even when shutdown began.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.st.InsertLogs(wctx, batch); err != nil {
			s.failed.Add(int64(len(batch)))
			s.opts.Errors.Error("writing logs", "entries", len(batch), "err", err)
		}
		clear(batch)
		batch = batch[:0]
	}
	drain := func() {
		for {
			select {
			case l := <-s.queue:
				batch = append(batch, l)
				if len(batch) >= s.opts.Batch {
					write()
				}
			default:
				write()
				return
			}
		}
	}
	for {
		select {
		case l := <-s.queue:
			batch = append(batch, l)
			if len(batch) >= s.opts.Batch {
				write()
			}
		case <-flush.C:
			write()
		case <-prune.C:
			s.prune(ctx)
		case done := <-s.syncReq:
			drain()
			close(done)
		case <-ctx.Done():
			drain()
			return nil
		}
	}
}

// Sync waits until every entry queued before the call is written (tests,
// shutdown). It needs Run to be running.
func (s *Service) Sync(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case s.syncReq <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) prune(ctx context.Context) {
	days := s.opts.Settings().MaxDays
	if days <= 0 {
		return
	}
	cutoff := s.opts.Now().AddDate(0, 0, -days)
	if _, err := s.st.PruneLogs(ctx, cutoff); err != nil && ctx.Err() == nil {
		s.opts.Errors.Error("pruning logs", "err", err)
	}
}

// List returns a page of log entries and the total (-1 when skipped).
func (s *Service) List(ctx context.Context, q store.LogQuery) ([]*store.Log, int64, error) {
	return s.st.Logs(ctx, q)
}

// View returns one entry; apperr NotFound when there is none.
func (s *Service) View(ctx context.Context, id string) (*store.Log, error) {
	return s.st.Log(ctx, id)
}

// Stats counts the entries matching filter per hour.
func (s *Service) Stats(ctx context.Context, filter string) ([]store.LogStat, error) {
	return s.st.LogStats(ctx, filter)
}

// Truncate deletes every entry.
func (s *Service) Truncate(ctx context.Context) error {
	return s.st.DeleteLogs(ctx)
}
