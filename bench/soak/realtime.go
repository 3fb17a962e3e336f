package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// subscriber is one realtime client (SSE, the PocketBase protocol)
// subscribed to every post.
type subscriber struct {
	events atomic.Int64 // events of the collection read
	body   io.ReadCloser
	rd     *bufio.Reader
}

// subscribe opens GET /api/realtime, reads PB_CONNECT and subscribes the
// client to the collection.
func subscribe(ctx context.Context, hc *http.Client, base string) (*subscriber, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/realtime", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /api/realtime: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("GET /api/realtime: status %d", res.StatusCode)
	}
	s := &subscriber{body: res.Body, rd: bufio.NewReader(res.Body)}
	name, data, err := s.next()
	var hello struct {
		ClientID string `json:"clientId"`
	}
	if err != nil || name != "PB_CONNECT" || json.Unmarshal(data, &hello) != nil || hello.ClientID == "" {
		res.Body.Close()
		return nil, fmt.Errorf("first realtime message %q %s (%v), want PB_CONNECT", name, data, err)
	}
	body, _ := json.Marshal(map[string]any{"clientId": hello.ClientID, "subscriptions": []string{collectionName + "/*"}})
	preq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/realtime", bytes.NewReader(body))
	if err != nil {
		res.Body.Close()
		return nil, err
	}
	preq.Header.Set("Content-Type", "application/json")
	pres, err := hc.Do(preq)
	if err != nil {
		res.Body.Close()
		return nil, fmt.Errorf("POST /api/realtime: %w", err)
	}
	pres.Body.Close()
	if pres.StatusCode != http.StatusNoContent {
		res.Body.Close()
		return nil, fmt.Errorf("POST /api/realtime: status %d", pres.StatusCode)
	}
	return s, nil
}

// next reads one SSE message: its event name and data.
func (s *subscriber) next() (name string, data []byte, err error) {
	for {
		line, err := s.rd.ReadBytes('\n')
		if err != nil {
			return "", nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if name != "" || data != nil {
				return name, data, nil
			}
		case bytes.HasPrefix(line, []byte("event:")):
			name = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimSpace(line[len("data:"):])...)
		}
	}
}

// read counts the collection's events until the stream ends; it returns
// the error that ended it.
func (s *subscriber) read() error {
	for {
		name, _, err := s.next()
		if err != nil {
			return err
		}
		if name == collectionName+"/*" {
			s.events.Add(1)
		}
	}
}

// close ends the stream.
func (s *subscriber) close() { s.body.Close() }
