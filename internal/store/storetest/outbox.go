package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// event returns a complete event for record id of the "posts" collection.
func event(id string, action store.Action, at time.Time) *store.Event {
	e := &store.Event{
		ID: id, CollectionID: "pbc_posts", CollectionName: "posts", RecordID: "rec" + id,
		Action: action, Time: at,
	}
	doc := json.RawMessage(fmt.Sprintf(`{"id":"rec%s","title":"t","n":1.5,"tags":["a"],"meta":null}`, id))
	switch action {
	case store.ActionCreate:
		e.After = doc
	case store.ActionUpdate:
		e.Before, e.After = doc, json.RawMessage(`{"id":"rec`+id+`","title":"new"}`)
	case store.ActionDelete:
		e.Before = doc
	}
	return e
}

// appendEvents appends es in one transaction.
func appendEvents(t *testing.T, s store.Store, es ...*store.Event) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error {
		for _, e := range es {
			if err := tx.AppendEvent(context.Background(), e); err != nil {
				return err
			}
		}
		return nil
	})
}

// events returns every event after seq after, failing the test on error.
func events(t *testing.T, s store.Store, after int64) []*store.Event {
	t.Helper()
	got, err := s.Events(context.Background(), after, 1000)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return got
}

func lastSeq(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.LastEventSeq(context.Background())
	if err != nil {
		t.Fatalf("LastEventSeq: %v", err)
	}
	return n
}

func eventIDs(es []*store.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// jsonEqual compares two JSON documents structurally (nil only equals nil).
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func testOutbox(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	at := time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

	t.Run("appended events round-trip in commit order", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if got := lastSeq(t, s); got != 0 {
			t.Fatalf("LastEventSeq of an empty outbox: got %d, want 0", got)
		}
		if got := events(t, s, 0); len(got) != 0 {
			t.Fatalf("Events of an empty outbox: got %v", eventIDs(got))
		}
		want := []*store.Event{event("e1", store.ActionCreate, at), event("e2", store.ActionUpdate, at.Add(time.Second))}
		appendEvents(t, s, want...)
		want = append(want, event("e3", store.ActionDelete, at.Add(2*time.Second)))
		appendEvents(t, s, want[2])
		for i := 1; i < len(want); i++ {
			if want[i].Seq <= want[i-1].Seq {
				t.Fatalf("seqs not increasing: %d then %d", want[i-1].Seq, want[i].Seq)
			}
		}
		got := events(t, s, 0)
		if len(got) != len(want) {
			t.Fatalf("Events: got %v, want %v", eventIDs(got), eventIDs(want))
		}
		for i, g := range got {
			w := want[i]
			if g.Seq != w.Seq || g.ID != w.ID || g.CollectionID != w.CollectionID || g.CollectionName != w.CollectionName ||
				g.RecordID != w.RecordID || g.Action != w.Action || !g.Time.Equal(w.Time) {
				t.Errorf("event %d: got %+v, want %+v", i, g, w)
			}
			if !jsonEqual(g.Before, w.Before) || !jsonEqual(g.After, w.After) {
				t.Errorf("event %d data: got before %s after %s, want before %s after %s", i, g.Before, g.After, w.Before, w.After)
			}
		}
		if got := lastSeq(t, s); got != want[2].Seq {
			t.Errorf("LastEventSeq: got %d, want %d", got, want[2].Seq)
		}
		if got := eventIDs(events(t, s, want[0].Seq)); !reflect.DeepEqual(got, []string{"e2", "e3"}) {
			t.Errorf("Events after the first: got %v", got)
		}
		page, err := s.Events(ctx, 0, 2)
		if err != nil || !reflect.DeepEqual(eventIDs(page), []string{"e1", "e2"}) {
			t.Errorf("Events with limit 2: got %v, %v", eventIDs(page), err)
		}
		if got := events(t, s, want[2].Seq); len(got) != 0 {
			t.Errorf("Events after the last: got %v", eventIDs(got))
		}
	})

	t.Run("nothing is appended by a rolled back transaction", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		appendEvents(t, s, event("kept", store.ActionCreate, at))
		before := lastSeq(t, s)
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.AppendEvent(ctx, event("lost", store.ActionCreate, at)); err != nil {
				return err
			}
			return errTest
		})
		if !errors.Is(err, errTest) {
			t.Fatalf("InTx: got %v, want the deliberate failure", err)
		}
		if got := eventIDs(events(t, s, 0)); !reflect.DeepEqual(got, []string{"kept"}) {
			t.Errorf("events after rollback: got %v", got)
		}
		if got := lastSeq(t, s); got != before {
			t.Errorf("LastEventSeq after a rollback: got %d, want %d", got, before)
		}
		// A later event still sorts after every committed one.
		e := event("next", store.ActionCreate, at)
		appendEvents(t, s, e)
		if e.Seq <= before {
			t.Errorf("seq after a rollback: got %d, want > %d", e.Seq, before)
		}
		if got := eventIDs(events(t, s, before)); !reflect.DeepEqual(got, []string{"next"}) {
			t.Errorf("events after the rollback's seq: got %v", got)
		}
	})

	t.Run("incomplete and duplicate events are refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		appendEvents(t, s, event("dup", store.ActionCreate, at))
		bad := map[string]func(e *store.Event){
			"no id":          func(e *store.Event) { e.ID = "" },
			"no collection":  func(e *store.Event) { e.CollectionID = "" },
			"no record":      func(e *store.Event) { e.RecordID = "" },
			"unknown action": func(e *store.Event) { e.Action = "upsert" },
			"invalid json":   func(e *store.Event) { e.After = json.RawMessage(`{"a":`) },
		}
		for name, mutate := range bad {
			e := event("x"+name, store.ActionCreate, at)
			mutate(e)
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) })
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: got %v, want invalid", name, err)
			}
		}
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, event("dup", store.ActionCreate, at)) })
		wantCode(t, err, apperr.Conflict)
		if got := eventIDs(events(t, s, 0)); !reflect.DeepEqual(got, []string{"dup"}) {
			t.Errorf("events: got %v", got)
		}
	})

	t.Run("pruning deletes old delivered events only", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		old1, old2 := event("old1", store.ActionCreate, at), event("old2", store.ActionCreate, at.Add(time.Minute))
		fresh := event("fresh", store.ActionCreate, at.Add(time.Hour))
		undelivered := event("undelivered", store.ActionCreate, at)
		appendEvents(t, s, old1, old2, fresh, undelivered)
		n, err := s.PruneEvents(ctx, fresh.Seq, at.Add(30*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("PruneEvents: got %d, %v; want 2", n, err)
		}
		if got := eventIDs(events(t, s, 0)); !reflect.DeepEqual(got, []string{"fresh", "undelivered"}) {
			t.Errorf("events after pruning: got %v", got)
		}
		n, err = s.PruneEvents(ctx, undelivered.Seq, at.Add(2*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PruneEvents everything: got %d, %v; want 2", n, err)
		}
		// Seqs are never reused, even once the outbox is empty.
		if got := lastSeq(t, s); got != undelivered.Seq {
			t.Errorf("LastEventSeq of a pruned outbox: got %d, want %d", got, undelivered.Seq)
		}
		e := event("later", store.ActionCreate, at)
		appendEvents(t, s, e)
		if e.Seq <= undelivered.Seq {
			t.Errorf("seq after pruning: got %d, want > %d", e.Seq, undelivered.Seq)
		}
		if n, err := s.PruneEvents(ctx, 0, at.Add(time.Hour)); err != nil || n != 0 {
			t.Errorf("PruneEvents up to seq 0: got %d, %v", n, err)
		}
	})

	t.Run("pruning a large backlog", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const n = 2500 // more than one pruning chunk
		inTx(t, s, func(tx store.Tx) error {
			for i := range n {
				if err := tx.AppendEvent(ctx, event(fmt.Sprintf("b%d", i), store.ActionDelete, at)); err != nil {
					return err
				}
			}
			return nil
		})
		last := lastSeq(t, s)
		got, err := s.PruneEvents(ctx, last, at.Add(time.Second))
		if err != nil || got != n {
			t.Fatalf("PruneEvents: got %d, %v; want %d", got, err, n)
		}
		if left := events(t, s, 0); len(left) != 0 {
			t.Errorf("events left: %d", len(left))
		}
	})
}

// testMatch checks in-memory evaluation against the same filters the query
// tests run in the database.
func testMatch(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Parallel()
	s := open(t)

	people := baseCollection("people", field(schema.TypeText, "name"))
	author := multi(schema.TypeRelation, "author", 1)
	author.CollectionID = people.ID
	posts := baseCollection("posts",
		field(schema.TypeText, "title"),
		field(schema.TypeNumber, "rank"),
		multi(schema.TypeSelect, "tags", 4),
		author,
	)
	create(t, s, people, posts)
	alice := newRecord(people, "alice0000000000", map[string]any{"name": "Alice"})
	insert(t, s, alice, newRecord(people, "bob000000000000", map[string]any{"name": "Bob"}))
	lookup := func(nameOrID string) *schema.Collection {
		for _, c := range []*schema.Collection{people, posts} {
			if c.Name == nameOrID || c.ID == nameOrID {
				return c
			}
		}
		return nil
	}
	// Never stored: as a deleted record would be.
	gone := newRecord(posts, "gone00000000000", map[string]any{
		"title": "gone", "rank": 2.0, "tags": []string{"a", "b"}, "author": "alice0000000000",
	})

	tests := []struct {
		name    string
		filters []string
		params  map[string]any
		req     *store.Request
		want    bool
	}{
		{name: "no filters", want: true},
		{name: "field equality", filters: []string{`title = "gone"`}, want: true},
		{name: "field mismatch", filters: []string{`title = "kept"`}, want: false},
		{name: "all filters must hold", filters: []string{`rank = 2`, `title = "x"`}, want: false},
		{name: "multi value", filters: []string{`tags ?= "b" && tags:length = 2`}, want: true},
		{name: "stored relation", filters: []string{`author.name = "Alice"`}, want: true},
		{name: "stored relation mismatch", filters: []string{`author.name = "Bob"`}, want: false},
		{name: "placeholders", filters: []string{`rank > {:min}`}, params: map[string]any{"min": 1}, want: true},
		{name: "request auth", filters: []string{`author = @request.auth.id`}, req: &store.Request{Auth: alice}, want: true},
		{name: "guest", filters: []string{`author = @request.auth.id`}, req: &store.Request{}, want: false},
		{name: "request context", filters: []string{`@request.context = "realtime"`}, req: &store.Request{Context: "realtime"}, want: true},
		{name: "@collection reference", filters: []string{`@collection.people.name ?= "Bob"`}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &store.Query{Collection: posts, Schema: lookup, Filters: tt.filters, Params: tt.params, Request: tt.req}
			got, err := s.MatchRecord(ctx, q, gone)
			if err != nil {
				t.Fatalf("MatchRecord: %v", err)
			}
			if got != tt.want {
				t.Errorf("MatchRecord: got %v, want %v", got, tt.want)
			}
		})
	}

	_, err := s.MatchRecord(ctx, &store.Query{Collection: posts, Filters: []string{`title =`}}, gone)
	wantCode(t, err, apperr.Invalid)
	_, err = s.MatchRecord(ctx, &store.Query{Collection: posts, Filters: []string{`nope = 1`}}, gone)
	wantCode(t, err, apperr.Invalid)
	// Inside a transaction the uncommitted state is what relations read.
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.UpdateRecord(ctx, newRecord(people, "alice0000000000", map[string]any{"name": "Alicia"})); err != nil {
			return err
		}
		ok, err := tx.MatchRecord(ctx, &store.Query{Collection: posts, Schema: lookup, Filters: []string{`author.name = "Alicia"`}}, gone)
		if err != nil || !ok {
			t.Errorf("MatchRecord in a transaction: got %v, %v; want true", ok, err)
		}
		return nil
	})
}
