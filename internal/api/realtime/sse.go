package realtime

import (
	"bytes"
	"net/http"
	"time"
)

// Connect serves GET /api/realtime for a client connecting from ip: an SSE
// stream whose first event, PB_CONNECT, carries the new client id, followed
// by the events of the client's subscriptions. Every message's SSE id is the
// client id (the JS SDK reads it from lastEventId). The stream ends when the
// client goes away, after IdleTimeout without a message, after
// MaxLifetime, when the client falls too far behind, or when the broker
// closes.
func (b *Broker) Connect(w http.ResponseWriter, r *http.Request, ip string) {
	rc := http.NewResponseController(w)
	// The stream outlives any server-wide write timeout.
	_ = rc.SetWriteDeadline(time.Time{})

	c := b.register(ip)
	if c == nil {
		http.Error(w, "The server is shutting down.", http.StatusServiceUnavailable)
		return
	}
	defer b.unregister(c, dropEnded)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	// Proxies such as nginx must pass every message on at once.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	// write buffers one message; the caller flushes, so a backlog goes out
	// in one write instead of one system call per message.
	write := func(m *message) error {
		buf.Reset()
		buf.WriteString("id:")
		buf.WriteString(c.id)
		buf.WriteString("\nevent:")
		buf.WriteString(m.name)
		buf.WriteString("\ndata:")
		buf.Write(m.data)
		buf.WriteString("\n\n")
		_, err := w.Write(buf.Bytes())
		return err
	}
	if err := write(&message{name: "PB_CONNECT", data: []byte(`{"clientId":"` + c.id + `"}`)}); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	idle := time.NewTimer(b.opts.IdleTimeout)
	defer idle.Stop()
	lifetime := time.NewTimer(b.opts.MaxLifetime)
	defer lifetime.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.gone:
			return
		case <-idle.C:
			return
		case <-lifetime.C:
			return
		case m := <-c.send:
			if err := write(m); err != nil {
				return
			}
			if err := writeQueued(c, write); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			idle.Reset(b.opts.IdleTimeout)
		}
	}
}

// maxBatch bounds how many queued messages go out in one flush.
const maxBatch = 64

// writeQueued writes the messages already waiting for c, up to maxBatch,
// without blocking.
func writeQueued(c *client, write func(*message) error) error {
	for i := 0; i < maxBatch; i++ {
		select {
		case m := <-c.send:
			if err := write(m); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}
