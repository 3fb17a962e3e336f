package realtime

import (
	"sync"
	"sync/atomic"

	"github.com/basalt-dev/basalt/internal/schema"
)

// message is one SSE message for a client. Clients that receive the same
// event through the same kind of subscription share one message.
type message struct {
	name string
	data []byte
}

// client is one connected realtime client.
//
// Its messages wait in a queue that grows on demand up to
// Options.SendBuffer; a client that falls further behind is dropped. A
// connection drains the queue either from its own goroutine, woken through
// wake (WebSocket, and SSE when the connection cannot be taken over), or,
// for a taken-over SSE connection, by the broker's writers (see sseConn), so
// that an idle connection costs no goroutine of its own but the one that
// notices the peer going away.
type client struct {
	id string
	ip string

	// gone is closed when the broker drops the client (too slow, or the
	// broker is closing); the connection then ends. reason says why.
	gone     chan struct{}
	isGone   atomic.Bool // gone is closed
	goneOnce sync.Once
	reason   dropReason

	// state is the client's auth and subscriptions, replaced as a whole
	// (never modified) so that delivery reads it without locking.
	state atomic.Pointer[clientState]
	// subMu serializes the read-modify-write of state by Subscribe and
	// refreshAuth.
	subMu sync.Mutex

	qmu   sync.Mutex
	queue []*message
	// limit is the most messages that may wait.
	limit int
	// wake, when not nil, is signalled whenever the queue becomes non-empty.
	wake chan struct{}
	// conn, when not nil, is the taken-over SSE connection that the
	// broker's writers drain the queue to.
	conn *sseConn
	// onDrop, when not nil, is called once when the client is dropped.
	onDrop func()
}

// clientState is what a client is subscribed to, and as whom.
type clientState struct {
	auth *schema.Record
	subs []*subscription
}

// dropReason says why the broker dropped a client.
type dropReason int

const (
	dropEnded    dropReason = iota // the connection ended
	dropSlow                       // the client fell too far behind
	dropShutdown                   // the broker is closing
)

func newClient(id, ip string, limit int) *client {
	return &client{id: id, ip: ip, gone: make(chan struct{}), limit: limit}
}

// current returns the client's auth and subscriptions (none before its
// first subscribe request).
func (c *client) current() clientState {
	if st := c.state.Load(); st != nil {
		return *st
	}
	return clientState{}
}

// drop ends the client's connection; the first reason given is kept.
func (c *client) drop(reason dropReason) {
	c.goneOnce.Do(func() {
		c.reason = reason
		c.isGone.Store(true)
		close(c.gone)
		c.qmu.Lock()
		f := c.onDrop
		c.qmu.Unlock()
		if f != nil {
			f()
		}
	})
}

// dropped reports whether the client was dropped.
func (c *client) dropped() bool {
	return c.isGone.Load()
}

// enqueue adds m to the queue; false when the queue is full. It returns
// the client's taken-over connection when that must now go on the writers'
// ready list.
func (c *client) enqueue(m *message) (ready *sseConn, ok bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) >= c.limit {
		return nil, false
	}
	c.queue = append(c.queue, m)
	if len(c.queue) == 1 {
		if c.wake != nil {
			wakeUp(c.wake)
		}
		if s := c.conn; s != nil && !s.writing {
			s.writing = true
			return s, true
		}
	}
	return nil, true
}

// take removes and returns up to max waiting messages, appending them to
// into. The queue's memory is released once it has drained, so that an idle
// client holds none.
func (c *client) take(into []*message, max int) []*message {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	n := min(len(c.queue), max)
	into = append(into, c.queue[:n]...)
	if n == len(c.queue) {
		clear(c.queue)
		if cap(c.queue) > 8 {
			c.queue = nil
		} else {
			c.queue = c.queue[:0]
		}
		return into
	}
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	return into
}

// wakeUp signals wake without blocking; signals merge.
func wakeUp(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
