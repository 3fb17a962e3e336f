package function

import (
	"context"
	"errors"
	"github.com/basalt-dev/basalt/internal/store"
	"runtime/metrics"
	"sync"
	"time"
)

// The reasons an invocation is interrupted.
var (
	errTimeLimit = errors.New("the function exceeded its time limit")
	errMemory    = errors.New("the function exceeded its memory budget")
	errCancelled = errors.New("the request ended before the function")
)

// abandonAfter is how long an invocation that was interrupted may take to
// stop before its caller is answered anyway: the interrupt is seen between
// two JavaScript instructions, not inside one long built-in call, and the
// runtime is then left to finish on its own and dropped.
const abandonAfter = 100 * time.Millisecond

// invocation is one call into a runtime.
type invocation struct {
	ctx context.Context
	rt  interrupter
	// label and file name the function in logs.
	label, file string
	// tx is the write transaction a before-hook runs in (nil otherwise):
	// jobs it enqueues join it; its record writes are refused (they would
	// wait on the lock the write holds).
	tx store.Tx
	// heapStart is the process heap when the invocation began.
	heapStart uint64

	mu     sync.Mutex
	done   bool
	reason error
}

type interrupter interface{ Interrupt(v any) }

// interrupt stops the invocation's JavaScript with reason, unless it has
// already finished (the runtime may be serving another call by then).
func (inv *invocation) interrupt(reason error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.done || inv.reason != nil {
		return
	}
	inv.reason = reason
	inv.rt.Interrupt(reason)
}

// finish marks the invocation over and returns why it was interrupted (nil
// if it was not).
func (inv *invocation) finish() error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.done = true
	return inv.reason
}

// timer interrupts inv after the time limit; the returned function stops it.
func (s *Service) timer(inv *invocation) (stop func()) {
	t := time.AfterFunc(s.opts.TimeLimit, func() { inv.interrupt(errTimeLimit) })
	return func() { t.Stop() }
}

// watchdog enforces the memory budget. While invocations run it samples the
// process's heap (live and not yet collected objects) every interval and
// interrupts each invocation during which the heap grew by more than the
// budget. The heap is the process's, not the invocation's: an invocation
// running while another one (or the rest of the server) grows the heap by
// the budget is interrupted too. It never lets one runaway function take the
// server's memory, at the price of the rare neighbour.
type watchdog struct {
	budget   uint64
	interval time.Duration

	mu      sync.Mutex
	running map[*invocation]struct{}
	wake    chan struct{}
	sample  []metrics.Sample
}

func newWatchdog(budget int64, interval time.Duration) *watchdog {
	return &watchdog{
		budget: uint64(budget), interval: interval,
		running: map[*invocation]struct{}{}, wake: make(chan struct{}, 1),
		sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}},
	}
}

// heap returns the bytes of heap objects, collected or not yet.
func (w *watchdog) heap() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	metrics.Read(w.sample)
	if w.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return w.sample[0].Value.Uint64()
}

func (w *watchdog) add(inv *invocation) {
	inv.heapStart = w.heap()
	w.mu.Lock()
	w.running[inv] = struct{}{}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watchdog) remove(inv *invocation) {
	w.mu.Lock()
	delete(w.running, inv)
	w.mu.Unlock()
}

// run samples until ctx ends; it sleeps while nothing runs.
func (w *watchdog) run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		w.mu.Lock()
		idle := len(w.running) == 0
		w.mu.Unlock()
		if idle {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.check()
	}
}

func (w *watchdog) check() {
	now := w.heap()
	w.mu.Lock()
	var over []*invocation
	for inv := range w.running {
		if now > inv.heapStart && now-inv.heapStart > w.budget {
			over = append(over, inv)
		}
	}
	w.mu.Unlock()
	for _, inv := range over {
		inv.interrupt(errMemory)
	}
}
