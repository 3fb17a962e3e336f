// Package sse is the realtime subscriber of Basalt's load benchmarks: one
// SSE connection to /api/realtime subscribed to one topic, lean on purpose,
// since the benchmark reads as many connections as the server writes on the
// same cores: a bare TCP connection, one goroutine, small buffers and no
// allocation per event.
package sse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// IDLen is the length of the record ids a Delivery holds.
	IDLen = 15
	// createdLen is the length of a record's created value
	// ("2006-01-02 15:04:05.000Z").
	createdLen = 24
	// readBuffer is the read buffer of a subscriber; an event is about
	// 400 bytes.
	readBuffer = 2048
)

// Subscriber is one SSE connection subscribed to a topic.
type Subscriber struct {
	topic string
	keep  bool // record deliveries, not only count them
	conn  net.Conn
	rd    *bufio.Reader
	got   []Delivery
	count atomic.Int64
	ended atomic.Bool // the stream ended
}

// Delivery is one event of the topic: the record's id and created value
// and when the event was read.
type Delivery struct {
	ID      [IDLen]byte
	created [createdLen]byte
	At      time.Time
}

// Created returns the created time of the delivered record (zero when the
// event had none).
func (d *Delivery) Created() time.Time {
	t, _ := time.Parse("2006-01-02 15:04:05.000Z", string(d.created[:]))
	return t
}

// Subscribe opens GET /api/realtime on a connection of its own, reads
// PB_CONNECT and subscribes the client to topic through postTr. keep is how
// many deliveries to make room for; 0 records none (a long run that only
// counts events: Count still counts them).
func Subscribe(ctx context.Context, postTr *http.Transport, base, topic string, keep int) (*Subscriber, error) {
	addr := strings.TrimPrefix(base, "http://")
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/realtime", nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	res, err := http.ReadResponse(bufio.NewReaderSize(conn, readBuffer), req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("GET /api/realtime: status %d", res.StatusCode)
	}
	s := &Subscriber{topic: topic, keep: keep > 0, conn: conn, rd: bufio.NewReaderSize(res.Body, readBuffer)}
	if s.keep {
		s.got = make([]Delivery, 0, keep)
	}
	name, data, err := s.next()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading PB_CONNECT: %w", err)
	}
	var hello struct {
		ClientID string `json:"clientId"`
	}
	if name != "PB_CONNECT" || json.Unmarshal(data, &hello) != nil || hello.ClientID == "" {
		conn.Close()
		return nil, fmt.Errorf("first event %q %s, want PB_CONNECT", name, data)
	}
	body, _ := json.Marshal(map[string]any{"clientId": hello.ClientID, "subscriptions": []string{topic}})
	preq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/realtime", bytes.NewReader(body))
	if err != nil {
		conn.Close()
		return nil, err
	}
	preq.Header.Set("Content-Type", "application/json")
	pres, err := (&http.Client{Transport: postTr}).Do(preq)
	if err != nil {
		conn.Close()
		return nil, err
	}
	raw, _ := io.ReadAll(pres.Body)
	pres.Body.Close()
	if pres.StatusCode != http.StatusNoContent {
		conn.Close()
		return nil, fmt.Errorf("POST /api/realtime: status %d: %s", pres.StatusCode, bytes.TrimSpace(raw))
	}
	return s, nil
}

// next reads one SSE message: its event name and data, valid until the
// next read.
func (s *Subscriber) next() (name string, data []byte, err error) {
	var event []byte
	for {
		line, err := s.rd.ReadSlice('\n')
		if err != nil {
			return "", nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if event != nil || data != nil {
				return string(event), data, nil
			}
		case bytes.HasPrefix(line, []byte("event:")):
			event = append(event[:0], bytes.TrimSpace(line[len("event:"):])...)
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimSpace(line[len("data:"):])...)
		}
	}
}

// Read records every event of the topic until the stream ends (Close ends
// it), and returns the error that ended it. Deliveries may be read once Read
// has returned.
func (s *Subscriber) Read() error {
	var data []byte
	mine := false
	for {
		line, err := s.rd.ReadSlice('\n')
		if err != nil {
			s.ended.Store(true)
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if mine && s.keep {
				d := Delivery{At: time.Now()}
				copy(d.ID[:], field(data, `"id":"`, IDLen))
				copy(d.created[:], field(data, `"created":"`, createdLen))
				s.got = append(s.got, d)
			}
			if mine {
				s.count.Add(1)
			}
			mine, data = false, data[:0]
		case bytes.HasPrefix(line, []byte("event:")):
			mine = string(bytes.TrimSpace(line[len("event:"):])) == s.topic
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimSpace(line[len("data:"):])...)
		}
	}
}

// field picks the n bytes after the first occurrence of key out of an
// event's data without decoding it (for "id", the record's own: the key is
// quoted, so "collectionId" does not match).
func field(data []byte, key string, n int) []byte {
	i := bytes.Index(data, []byte(key))
	if i < 0 || len(data) < i+len(key)+n {
		return nil
	}
	return data[i+len(key) : i+len(key)+n]
}

// Count is how many events of the topic have been read so far.
func (s *Subscriber) Count() int64 { return s.count.Load() }

// Ended reports whether the stream ended.
func (s *Subscriber) Ended() bool { return s.ended.Load() }

// Deliveries returns the events read; call it after Read returned.
func (s *Subscriber) Deliveries() []Delivery { return s.got }

// Close closes the connection, which ends Read.
func (s *Subscriber) Close() error { return s.conn.Close() }
