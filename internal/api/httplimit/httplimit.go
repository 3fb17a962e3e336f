// Package httplimit protects an HTTP handler from overload and slow
// clients: a cap on the requests served at once, over which a request waits
// a short bounded time for a slot and is then shed (503 Service Unavailable
// with Retry-After) instead of piling up, and per-request read and write
// deadlines set through http.ResponseController, so that long-lived streams
// can go without them.
//
// httplimit is HTTP plumbing: it imports no Basalt package.
package httplimit

import (
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// RetryAfter is the Retry-After (in seconds) of a shed request.
const RetryAfter = 1

// Options configure a Limiter. Zero values turn each limit off.
type Options struct {
	// MaxConcurrent caps the requests served at once; 0 means no cap.
	MaxConcurrent int
	// QueueWait is how long a request over the cap waits for a slot before
	// it is shed; 0 sheds it at once.
	QueueWait time.Duration
	// ReadTimeout bounds reading a request's body, counted from the moment
	// the handler starts (the server's ReadHeaderTimeout covers the
	// headers); 0 means no limit.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the response, counted from the same
	// moment; 0 means no limit.
	WriteTimeout time.Duration
}

// Limiter applies Options to the requests it wraps. It is safe for
// concurrent use.
type Limiter struct {
	opts  Options
	slots chan struct{} // nil without a cap
	shed  atomic.Uint64
}

// New returns a Limiter enforcing o.
func New(o Options) *Limiter {
	l := &Limiter{opts: o}
	if o.MaxConcurrent > 0 {
		l.slots = make(chan struct{}, o.MaxConcurrent)
	}
	return l
}

// Shed returns how many requests were shed so far.
func (l *Limiter) Shed() uint64 { return l.shed.Load() }

// InFlight returns how many requests hold a slot now.
func (l *Limiter) InFlight() int { return len(l.slots) }

// Wrap returns next behind the limits: the request's deadlines are set,
// then it takes a slot, waiting at most QueueWait; a request that gets none
// is answered by shed, with Retry-After already set. A request whose client
// goes away while it waits is dropped without an answer.
func (l *Limiter) Wrap(next, shed http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.setDeadlines(w, r)
		if l.slots != nil {
			if !l.acquire(r) {
				if r.Context().Err() != nil {
					return
				}
				l.shed.Add(1)
				w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
				shed.ServeHTTP(w, r)
				return
			}
			defer func() { <-l.slots }()
		}
		next.ServeHTTP(w, r)
	})
}

// acquire takes a slot, waiting up to QueueWait.
func (l *Limiter) acquire(r *http.Request) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	if l.opts.QueueWait <= 0 {
		return false
	}
	t := time.NewTimer(l.opts.QueueWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}

// setDeadlines gives the request its read and write deadlines (zero when
// off). net/http clears them before the next request on the connection, so
// requests that are not wrapped, such as long-lived streams, have none.
//
// The read deadline covers the body only: a request without one gets
// none, and the deadline is lifted once the body is read. Past that point
// net/http reads the connection in the background to notice a client going
// away, and a deadline expiring then would cancel the request's context
// (and the connection's, for every later request on it) while the handler
// still works.
func (l *Limiter) setDeadlines(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	// Writers that cannot take deadlines (tests' recorders) are left alone.
	rc := http.NewResponseController(w)
	var write time.Time
	if l.opts.WriteTimeout > 0 {
		write = now.Add(l.opts.WriteTimeout)
	}
	_ = rc.SetWriteDeadline(write)
	if l.opts.ReadTimeout > 0 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if rc.SetReadDeadline(now.Add(l.opts.ReadTimeout)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
	}
}

// deadlineBody lifts the read deadline when the body has been read to its
// end.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
