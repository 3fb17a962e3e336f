package realtime

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// sseConn is an SSE connection taken over from net/http. Nothing of net/http
// stays behind: the handler returns, and the connection costs its socket,
// a goroutine blocked reading it (the only way to learn promptly that the
// peer went away), one timer for the idle and lifetime limits, and the
// client's queue. Messages are written by the broker's writers (see
// writers), with write buffers shared by all connections through a pool.
type sseConn struct {
	b       *Broker
	c       *client
	conn    net.Conn
	chunked bool
	start   time.Time
	// last is when the last message was written (Unix nanoseconds).
	last  atomic.Int64
	timer *time.Timer
	// writing (guarded by c.qmu) is true while s is on the writers' ready
	// list or being written, and for good once the stream ends.
	writing bool
}

// streamTerminatorTimeout bounds the write of the end of a stream.
const streamTerminatorTimeout = time.Second

// serveConn answers r on conn, taken over from net/http, with header h, and
// serves c's messages on it until the stream ends. It returns at once.
func (b *Broker) serveConn(c *client, conn net.Conn, r *http.Request, h http.Header) {
	// Deadlines that net/http set for the request must not end the stream.
	_ = conn.SetDeadline(time.Time{})
	s := &sseConn{b: b, c: c, conn: conn, chunked: r.ProtoAtLeast(1, 1), start: time.Now()}
	s.last.Store(s.start.UnixNano())

	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h.Set("Date", s.start.UTC().Format(http.TimeFormat))
	// The connection is the stream's alone: it is closed when the stream ends.
	h.Set("Connection", "close")
	if s.chunked {
		h.Set("Transfer-Encoding", "chunked")
	}
	_ = h.Write(&head)
	head.WriteString("\r\n")
	buf, at := s.frame(head.Bytes(), []*message{{name: "PB_CONNECT", data: connectData(c.id)}})
	if _, err := conn.Write(buf[at:]); err != nil {
		conn.Close()
		b.unregister(c, dropEnded)
		return
	}

	s.timer = time.AfterFunc(min(b.opts.IdleTimeout, b.opts.MaxLifetime), s.check)
	c.qmu.Lock()
	c.conn = s
	c.onDrop = s.close
	if len(c.queue) > 0 {
		s.writing = true
	}
	kick := s.writing
	c.qmu.Unlock()
	if kick {
		b.writers.add(s)
	}
	if c.dropped() { // dropped before onDrop was in place
		s.close()
		return
	}
	go s.read()
}

// read waits for the peer to close the connection. An SSE client sends
// nothing after its request; whatever it sends is ignored.
func (s *sseConn) read() {
	buf := make([]byte, 16)
	for {
		if _, err := s.conn.Read(buf); err != nil {
			s.b.unregister(s.c, dropEnded)
			return
		}
	}
}

// check ends the stream after IdleTimeout without a message or after
// MaxLifetime, and otherwise sets the timer for the next limit.
func (s *sseConn) check() {
	now := time.Now()
	idleAt := time.Unix(0, s.last.Load()).Add(s.b.opts.IdleTimeout)
	endAt := s.start.Add(s.b.opts.MaxLifetime)
	if !now.Before(idleAt) || !now.Before(endAt) {
		s.b.unregister(s.c, dropEnded)
		return
	}
	s.timer.Reset(min(idleAt.Sub(now), endAt.Sub(now)))
}

// flush writes a batch of waiting messages without waiting: what the socket
// does not take at once is written by a goroutine of the connection's own.
func (s *sseConn) flush() {
	var batch [maxBatch]*message
	ms := s.c.take(batch[:0], maxBatch)
	if len(ms) == 0 || s.c.dropped() {
		s.next()
		return
	}
	bp := s.b.buffers.Get().(*[]byte)
	buf, at := s.frame((*bp)[:0], ms)
	clear(batch[:len(ms)])
	n, err := tryWrite(s.conn, buf[at:])
	var rest []byte
	if err == errWouldBlock {
		rest = append(rest, buf[at+n:]...)
	}
	*bp = buf[:0]
	s.b.buffers.Put(bp)
	switch {
	case err == nil:
		s.last.Store(time.Now().UnixNano())
		s.next()
	case err == errWouldBlock:
		go s.writeSlow(rest)
	default:
		s.b.unregister(s.c, dropEnded)
	}
}

// writeSlow writes rest, waiting as long as the socket needs (a client that
// falls too far behind meanwhile is dropped, which ends the write), then
// hands the connection back to the writers.
func (s *sseConn) writeSlow(rest []byte) {
	if _, err := s.conn.Write(rest); err != nil {
		s.b.unregister(s.c, dropEnded)
		return
	}
	s.last.Store(time.Now().UnixNano())
	s.next()
}

// next puts s back on the ready list when messages wait, after a write.
func (s *sseConn) next() {
	s.c.qmu.Lock()
	defer s.c.qmu.Unlock()
	switch {
	case s.c.dropped(): // the stream has ended; writing stays set
	case len(s.c.queue) > 0:
		s.b.writers.add(s)
	default:
		s.writing = false
	}
}

// frame appends ms to buf as one HTTP chunk (when the response is chunked)
// and returns the grown buffer and where its content now starts.
func (s *sseConn) frame(buf []byte, ms []*message) ([]byte, int) {
	const room = 10 // the longest chunk size line: 8 hex digits and CRLF
	head := len(buf)
	if s.chunked {
		buf = append(buf, make([]byte, room)...)
	}
	body := len(buf)
	for _, m := range ms {
		buf = appendMessage(buf, s.c.id, m)
	}
	if !s.chunked {
		return buf, 0
	}
	var size [room]byte
	line := append(strconv.AppendInt(size[:0], int64(len(buf)-body), 16), "\r\n"...)
	copy(buf[body-len(line):], line)
	buf = append(buf, "\r\n"...)
	// Close the gap between what came before and the size line.
	gap := room - len(line)
	copy(buf[gap:], buf[:head])
	return buf, gap
}

// close ends the stream: the last chunk is written unless a write is under
// way, then the connection is closed. It runs once, when the client is
// dropped.
func (s *sseConn) close() {
	s.timer.Stop()
	s.c.qmu.Lock()
	idle := !s.writing
	s.writing = true // no writer starts any more
	s.c.conn = nil
	s.c.qmu.Unlock()
	if !idle || !s.chunked {
		s.conn.Close()
		return
	}
	go func() {
		_ = s.conn.SetWriteDeadline(time.Now().Add(streamTerminatorTimeout))
		_, _ = s.conn.Write([]byte("0\r\n\r\n"))
		s.conn.Close()
	}()
}
