package realtime

import (
	"runtime"
	"sync"
)

// writers is the small pool of goroutines that writes the waiting messages
// of taken-over SSE connections. A delivery only queues messages and puts
// the connection on the ready list, so that an event reaches 10,000 queues
// in a few milliseconds and the writes happen after, each as one system call
// that never waits: a connection whose socket is full continues in a
// goroutine of its own (see sseConn.flush). While the writers are behind,
// further events pile up in the queues and go out together.
type writers struct {
	n       int
	mu      sync.Mutex
	cond    sync.Cond
	ready   []*sseConn
	started bool
	closed  bool
}

// writerBatch is how many ready connections a writer takes at a time.
const writerBatch = 32

// add puts ss on the ready list, starting the writers on first use.
func (w *writers) add(ss ...*sseConn) {
	if len(ss) == 0 {
		return
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	if !w.started {
		w.started = true
		w.cond.L = &w.mu
		for range w.n {
			go w.run()
		}
	}
	w.ready = append(w.ready, ss...)
	w.mu.Unlock()
	if len(ss) == 1 {
		w.cond.Signal()
	} else {
		w.cond.Broadcast()
	}
}

// run writes ready connections until the pool is closed.
func (w *writers) run() {
	var batch [writerBatch]*sseConn
	for {
		w.mu.Lock()
		for len(w.ready) == 0 && !w.closed {
			w.cond.Wait()
		}
		if w.closed {
			w.mu.Unlock()
			return
		}
		n := copy(batch[:], w.ready)
		clear(w.ready[:n])
		w.ready = w.ready[n:]
		if len(w.ready) == 0 {
			w.ready = nil
		}
		w.mu.Unlock()
		for _, s := range batch[:n] {
			s.flush()
		}
		clear(batch[:n])
		// Let the dispatcher and request handlers in between batches: a
		// long backlog must not delay the next event's queueing.
		runtime.Gosched()
	}
}

// close stops the writers.
func (w *writers) close() {
	w.mu.Lock()
	w.closed = true
	w.ready = nil
	w.mu.Unlock()
	if w.cond.L != nil {
		w.cond.Broadcast()
	}
}
