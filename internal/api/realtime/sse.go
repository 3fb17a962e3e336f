package realtime

import (
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
//
// Over HTTP/1.x the connection is taken over from net/http once the request
// is accepted (see sseConn): an idle subscriber then costs a socket, one
// small goroutine and its queue, instead of net/http's buffers and two
// goroutines. Where that is impossible (HTTP/2, a ResponseWriter that cannot
// hijack) the stream is served from this handler.
func (b *Broker) Connect(w http.ResponseWriter, r *http.Request, ip string) {
	rc := http.NewResponseController(w)
	// The stream outlives any server-wide write timeout.
	_ = rc.SetWriteDeadline(time.Time{})

	c := b.register(ip)
	if c == nil {
		http.Error(w, "The server is shutting down.", http.StatusServiceUnavailable)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	// Proxies such as nginx must pass every message on at once.
	h.Set("X-Accel-Buffering", "no")

	// A HEAD request gets the headers from net/http, which sends no body.
	if r.ProtoMajor == 1 && r.Method != http.MethodHead {
		if conn, _, err := rc.Hijack(); err == nil {
			b.serveConn(c, conn, r, h)
			return
		}
	}
	defer b.unregister(c, dropEnded)
	wake := make(chan struct{}, 1)
	c.qmu.Lock()
	c.wake = wake
	c.qmu.Unlock()
	w.WriteHeader(http.StatusOK)

	buf := appendMessage(nil, c.id, &message{name: "PB_CONNECT", data: connectData(c.id)})
	if _, err := w.Write(buf); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	idle := time.NewTimer(b.opts.IdleTimeout)
	defer idle.Stop()
	lifetime := time.NewTimer(b.opts.MaxLifetime)
	defer lifetime.Stop()
	var batch []*message
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
		case <-wake:
			batch = c.take(batch[:0], maxBatch)
			if len(batch) == 0 {
				continue
			}
			buf = buf[:0]
			for _, m := range batch {
				buf = appendMessage(buf, c.id, m)
			}
			if len(batch) == maxBatch { // more may wait
				wakeUp(wake)
			}
			clear(batch)
			if _, err := w.Write(buf); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			idle.Reset(b.opts.IdleTimeout)
		}
	}
}

// maxBatch bounds how many queued messages go out in one write.
const maxBatch = 64

// appendMessage appends m as an SSE message of the client with the given id.
func appendMessage(buf []byte, clientID string, m *message) []byte {
	buf = append(buf, "id:"...)
	buf = append(buf, clientID...)
	buf = append(buf, "\nevent:"...)
	buf = append(buf, m.name...)
	buf = append(buf, "\ndata:"...)
	buf = append(buf, m.data...)
	return append(buf, "\n\n"...)
}

// connectData is the data of the PB_CONNECT message.
func connectData(clientID string) []byte {
	return []byte(`{"clientId":"` + clientID + `"}`)
}
