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
	// entries are dropped and counted. Default 16384.
	Buffer int
	// Batch is the most entries written in one transaction. Default 1024.
	Batch int
	// FlushEvery is the longest an entry waits before it is written.
	// Default 1 s.
	FlushEvery time.Duration
	// PruneEvery is how often entries older than maxDays are deleted.
	// Default 1 h.
	PruneEvery time.Duration
	Now        func() time.Time
	// NewID makes entry ids; default random.Ordered ids of 15 characters.
	NewID func() string
	// Errors receives the writer's own failures. It must not lead back to
	// the Service (that could loop); default discards.
	Errors *slog.Logger
}

// Defaults of Options.
const (
	DefaultBuffer     = 16384
	DefaultBatch      = 1024
	DefaultFlushEvery = time.Second
	DefaultPruneEvery = time.Hour
)

// Service writes log entries to the log database and reads them back.
type Service struct {
	st    store.LogStore
	opts  Options
	queue chan *entry
	// wake tells the writer that a batch is queued. The writer takes
	// entries off the queue by the batch, not one by one as they come: a
	// wake-up per logged request cost a goroutine switch each.
	wake    chan struct{}
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
		opts.NewID = func() string { return random.Ordered(opts.Now(), 15) }
	}
	if opts.Errors == nil {
		opts.Errors = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, opts: opts, queue: make(chan *entry, opts.Buffer), wake: make(chan struct{}, 1), syncReq: make(chan chan struct{})}
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

// enqueue queues e (whose record the caller cloned) without ever blocking:
// when the queue is full the entry is dropped and counted. The id, the
// time and the JSON data are made by the writer, off the request path.
func (s *Service) enqueue(e *entry, cfg settings.Logs) {
	e.noIP, e.noAuthID = !cfg.LogIP, !cfg.LogAuthID
	if e.rec.Time.IsZero() {
		e.rec.Time = s.opts.Now()
	}
	select {
	case s.queue <- e:
		if len(s.queue) >= s.opts.Batch {
			select {
			case s.wake <- struct{}{}:
			default: // the writer is woken already
			}
		}
	default:
		s.dropped.Add(1)
	}
}

// batch is the writer's reusable state: the rows of one transaction and
// the buffer their JSON data is encoded into.
type batch struct {
	rows []store.Log
	ptrs []*store.Log
	buf  []byte
	keys flatKeys
}

// add turns a queued entry into a row.
func (b *batch) add(s *Service, e *entry) {
	start := len(b.buf)
	b.buf = e.appendData(b.buf, &b.keys)
	b.rows = append(b.rows, store.Log{
		ID: s.opts.NewID(), Created: e.rec.Time.UTC(), Level: int(e.rec.Level), Message: e.rec.Message,
		// Cut to its length: a later append that grows buf leaves it intact.
		DataJSON: b.buf[start:len(b.buf):len(b.buf)],
	})
}

// reset empties the batch, keeping its memory unless a burst grew it.
func (b *batch) reset() {
	clear(b.rows)
	b.rows = b.rows[:0]
	clear(b.ptrs)
	b.ptrs = b.ptrs[:0]
	if cap(b.buf) > 4<<20 {
		b.buf = nil
	}
	b.buf = b.buf[:0]
	clear(b.keys.kvs) // values may hold pointers
}

// Run writes queued entries in batches and prunes old ones until ctx ends,
// then writes what is still queued and returns.
func (s *Service) Run(ctx context.Context) error {
	flush := time.NewTicker(s.opts.FlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(s.opts.PruneEvery)
	defer prune.Stop()
	s.prune(ctx)
	b := &batch{rows: make([]store.Log, 0, s.opts.Batch)}
	write := func() {
		if len(b.rows) == 0 {
			return
		}
		// Pointers are taken now: rows may have moved while they grew.
		for i := range b.rows {
			b.ptrs = append(b.ptrs, &b.rows[i])
		}
		// A batch taken off the queue is written even when shutdown began.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.st.InsertLogs(wctx, b.ptrs); err != nil {
			s.failed.Add(int64(len(b.rows)))
			s.opts.Errors.Error("writing logs", "entries", len(b.rows), "err", err)
		}
		b.reset()
	}
	// drain writes the entries queued when it starts: a bound, so that a
	// steady stream of entries does not keep the writer from its other work.
	drain := func() {
		for range len(s.queue) {
			b.add(s, <-s.queue)
			if len(b.rows) >= s.opts.Batch {
				write()
			}
		}
		write()
	}
	for {
		select {
		case <-s.wake:
			drain()
		case <-flush.C:
			drain()
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
