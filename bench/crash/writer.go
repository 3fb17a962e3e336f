package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/basalt-dev/basalt/bench/client"
)

// counts are the acknowledged writes and the requests without an answer.
type counts struct {
	creates, updates, deletes int // acknowledged single writes
	batches, batchWrites      int // acknowledged batches and the record writes in them
	signins                   int // acknowledged sign-ins (audited writes)
	unanswered                int // requests that got no answer
}

func (c *counts) add(o counts) {
	c.creates += o.creates
	c.updates += o.updates
	c.deletes += o.deletes
	c.batches += o.batches
	c.batchWrites += o.batchWrites
	c.signins += o.signins
	c.unanswered += o.unanswered
}

// writes is the number of acknowledged record writes.
func (c counts) writes() int { return c.creates + c.updates + c.deletes + c.batchWrites }

// writer runs one stream of writes on the items it owns, one request at a
// time, until a request goes unanswered (the server was killed) or fails.
type writer struct {
	n     int
	rng   *rand.Rand
	items map[string]*item // shared with the ledger; only this writer's
	live  []string         // ids acknowledged present, candidates for updates and deletes
	next  int              // number of the next new id
	c     *client.Client
	su    func() (string, string) // superuser email and password, for sign-ins
	// group numbers unanswered batches: the writer's number in the high
	// bits keeps them distinct across writers.
	group int
	count counts
	// fail is the first error that is not explained by the server's death.
	fail error
}

// newID returns the writer's next record id: 15 characters of [a-z0-9], as
// record ids are.
func (w *writer) newID() string {
	w.next++
	return fmt.Sprintf("w%03dk%010d", w.n, w.next)
}

// rebuild refreshes the live list from the items after a verification.
func (w *writer) rebuild() {
	w.live = w.live[:0]
	for id, it := range w.items {
		if it.acked > 0 {
			w.live = append(w.live, id)
		}
	}
	// Map order is random; sorting keeps a seeded run reproducible.
	slices.Sort(w.live)
}

// takeLive removes and returns a random live id, "" when there is none.
func (w *writer) takeLive() string {
	if len(w.live) == 0 {
		return ""
	}
	i := w.rng.IntN(len(w.live))
	id := w.live[i]
	w.live[i] = w.live[len(w.live)-1]
	w.live = w.live[:len(w.live)-1]
	return id
}

// step is one planned record write.
type step struct {
	it     *item
	method string // POST, PATCH or DELETE
	after  int
}

func (s step) request() (method, path string, body map[string]any) {
	base := "/api/collections/" + collectionName + "/records"
	switch s.method {
	case http.MethodPost:
		body = content(s.it.id, s.after)
		body["id"] = s.it.id
		return s.method, base, body
	case http.MethodPatch:
		return s.method, base + "/" + s.it.id, content(s.it.id, s.after)
	default:
		return s.method, base + "/" + s.it.id, nil
	}
}

// plan picks the next request: a create (35%), an update (30%), a delete
// (10%), a batch of two creates, an update and a delete (20%), or a
// superuser sign-in, which writes an audit entry (5%).
func (w *writer) plan() (steps []step, signin bool) {
	create := func() step {
		it := &item{id: w.newID()}
		w.items[it.id] = it
		return step{it: it, method: http.MethodPost, after: 1}
	}
	update := func() (step, bool) {
		id := w.takeLive()
		if id == "" {
			return step{}, false
		}
		it := w.items[id]
		return step{it: it, method: http.MethodPatch, after: it.acked + 1}, true
	}
	del := func() (step, bool) {
		id := w.takeLive()
		if id == "" {
			return step{}, false
		}
		return step{it: w.items[id], method: http.MethodDelete, after: 0}, true
	}
	switch p := w.rng.IntN(100); {
	case p < 35:
		return []step{create()}, false
	case p < 65:
		if s, ok := update(); ok {
			return []step{s}, false
		}
		return []step{create()}, false
	case p < 75:
		if s, ok := del(); ok {
			return []step{s}, false
		}
		return []step{create()}, false
	case p < 95:
		steps = []step{create(), create()}
		if s, ok := update(); ok {
			steps = append(steps, s)
		}
		if s, ok := del(); ok {
			steps = append(steps, s)
		}
		return steps, false
	default:
		return nil, true
	}
}

// run writes until ctx ends or a request fails. killed tells whether the
// server has been sent SIGKILL: a request without an answer before that is
// a failure, after it the expected end of the round. acks counts every
// acknowledged request of the round.
func (w *writer) run(ctx context.Context, killed *atomic.Bool, acks *atomic.Int64) {
	for ctx.Err() == nil {
		steps, signin := w.plan()
		var err error
		if signin {
			email, pass := w.su()
			_, err = w.c.SignIn(ctx, "_superusers", email, pass)
			if err == nil {
				w.count.signins++
			}
		} else {
			err = w.write(ctx, steps)
		}
		if err == nil {
			acks.Add(1)
			continue
		}
		if ctx.Err() != nil && !killed.Load() {
			// The tool is stopping (interrupted): nothing to judge.
			w.markPending(steps)
			return
		}
		if !client.Answered(err) {
			w.count.unanswered++
			w.markPending(steps)
			if !killed.Load() {
				w.fail = fmt.Errorf("writer %d: no answer before the kill: %w", w.n, err)
			}
			return
		}
		// An answer outside 2xx: the write should have succeeded. Its
		// outcome is left open (pending) so that the verification reports
		// only what the server really holds.
		w.markPending(steps)
		w.fail = fmt.Errorf("writer %d: %w", w.n, err)
		return
	}
}

// write sends steps, one request or a batch, and applies them to the items
// when acknowledged.
func (w *writer) write(ctx context.Context, steps []step) error {
	if len(steps) == 1 {
		method, path, body := steps[0].request()
		var rec map[string]any
		out := &rec
		if method == http.MethodDelete {
			out = nil
		}
		if _, err := w.c.Do(ctx, method, path, body, out); err != nil {
			return err
		}
		if out != nil {
			if v, err := versionOf(steps[0].it.id, rec); err != nil || v != steps[0].after {
				return fmt.Errorf("%s %s answered a record that is not the one written (version %d): %v", method, path, v, err)
			}
		}
		w.ack(steps[0])
		switch method {
		case http.MethodPost:
			w.count.creates++
		case http.MethodPatch:
			w.count.updates++
		default:
			w.count.deletes++
		}
		return nil
	}
	reqs := make([]map[string]any, len(steps))
	for i, s := range steps {
		method, path, body := s.request()
		reqs[i] = map[string]any{"method": method, "url": path, "body": body}
	}
	var res []struct {
		Status int `json:"status"`
	}
	if _, err := w.c.Do(ctx, http.MethodPost, "/api/batch", map[string]any{"requests": reqs}, &res); err != nil {
		return err
	}
	if len(res) != len(steps) {
		return fmt.Errorf("batch of %d answered %d results", len(steps), len(res))
	}
	for i, r := range res {
		if r.Status < 200 || r.Status > 299 {
			return fmt.Errorf("batch request %d answered %d inside a 200 batch", i, r.Status)
		}
	}
	for _, s := range steps {
		w.ack(s)
	}
	w.count.batches++
	w.count.batchWrites += len(steps)
	return nil
}

// ack records an acknowledged step.
func (w *writer) ack(s step) {
	s.it.acked = s.after
	if s.after > 0 {
		w.live = append(w.live, s.it.id)
	}
}

// markPending records steps sent without a (good) answer.
func (w *writer) markPending(steps []step) {
	group := 0
	if len(steps) > 1 {
		w.group++
		group = w.n<<20 | w.group
	}
	for _, s := range steps {
		s.it.pending, s.it.after, s.it.group = true, s.after, group
	}
}

func (c *counts) sub(o counts) {
	c.creates -= o.creates
	c.updates -= o.updates
	c.deletes -= o.deletes
	c.batches -= o.batches
	c.batchWrites -= o.batchWrites
	c.signins -= o.signins
	c.unanswered -= o.unanswered
}
