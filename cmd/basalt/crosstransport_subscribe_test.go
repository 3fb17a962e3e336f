package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
	"github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1/basaltv1connect"
)

// Subscriptions are compared by the events they deliver for the
// superuser's writes. Realtime SSE and gRPC Watch accept a subscription to
// any collection and deliver only what the caller's list rule lets through
// (nothing, for a null rule); GraphQL refuses the subscription of a
// collection whose list rule is null, as the field is absent from the
// caller's schema. Either way no event arrives, which is what is compared.
var xtSubTransports = []string{"sse", "graphql-ws", "grpc-watch"}

// xtEvents collects the events of every subscription: caller, collection,
// transport → "action title" in arrival order.
type xtEvents struct {
	mu      sync.Mutex
	log     map[[3]string][]string
	refused map[[3]string]string
}

func (ev *xtEvents) add(caller, coll, tr, action string, rec map[string]any) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	k := [3]string{caller, coll, tr}
	ev.log[k] = append(ev.log[k], fmt.Sprintf("%s %v", action, rec["title"]))
	if _, has := rec["secret"]; has && caller != "superuser" {
		ev.log[k] = append(ev.log[k], "hidden field present")
	}
}

func (ev *xtEvents) refuse(caller, coll, tr, why string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.refused[[3]string{caller, coll, tr}] = why
}

func (ev *xtEvents) get(caller, coll, tr string) []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return append([]string(nil), ev.log[[3]string{caller, coll, tr}]...)
}

// has reports whether the subscription received event.
func (ev *xtEvents) has(caller, coll, tr, event string) bool {
	for _, got := range ev.get(caller, coll, tr) {
		if got == event {
			return true
		}
	}
	return false
}

// subscribe opens every caller's subscriptions on every collection through
// every subscription transport, has the superuser write, and compares the
// events delivered.
func (e *xtEnv) subscribe() {
	t := e.t
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := &xtEvents{log: map[[3]string][]string{}, refused: map[[3]string]string{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	rc := basaltv1connect.NewRecordServiceClient(h2cClient(), "http://"+e.addr, connect.WithGRPC())
	for _, u := range e.subscribers() {
		ready := make(chan struct{})
		wg.Add(1)
		go func() { defer wg.Done(); e.sse(ctx, u, ev, ready) }()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: realtime subscription not ready", u.name)
		}
		e.graphqlWS(ctx, &wg, u, ev)
		for _, c := range xtColls {
			e.watch(ctx, &wg, rc, u, c.name, ev)
		}
	}
	// SSE and Watch subscriptions are ready once they answered; GraphQL's
	// say nothing, so prime records in every collection, created until each
	// subscription that may see them delivered one, show them ready. (One
	// that may see nothing cannot be shown ready; its GraphQL connection's
	// pub subscription, sent last, was.)
	for _, c := range xtColls {
		prime := e.row(c.name, "prime", e.ownerID, true, true)
		sees := func(u xtCaller) bool { return xtVisible(u, c.name, prime) }
		deadline := time.Now().Add(15 * time.Second)
		for {
			e.must("POST", "/api/collections/"+c.name+"/records", e.super.token, prime)
			missing := e.wait(ev, c.name, "create prime", sees, time.Second)
			if missing == "" {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("%s: no prime record delivered within 15 s", missing)
			}
		}
	}

	type write struct {
		coll, action string
		rec          map[string]any
	}
	var writes []write
	for _, c := range xtColls {
		a := e.must("POST", "/api/collections/"+c.name+"/records", e.super.token, e.row(c.name, "event "+c.name+" a", e.ownerID, true, true))
		b := e.must("POST", "/api/collections/"+c.name+"/records", e.super.token, e.row(c.name, "event "+c.name+" b", e.callers[2].id, false, true))
		a2 := e.must("PATCH", "/api/collections/"+c.name+"/records/"+a["id"].(string), e.super.token, map[string]any{"title": "event " + c.name + " a updated"})
		e.must("DELETE", "/api/collections/"+c.name+"/records/"+b["id"].(string), e.super.token, nil)
		writes = append(writes, write{c.name, "create", a}, write{c.name, "create", b}, write{c.name, "update", a2}, write{c.name, "delete", b})
	}
	// The sentinel, which every caller sees, comes after the writes: once it
	// arrived, so did whatever the same stream had to deliver before it.
	e.must("POST", "/api/collections/pub/records", e.super.token, e.row("pub", "sentinel", "", true, true))
	if missing := e.wait(ev, "pub", "create sentinel", func(xtCaller) bool { return true }, 15*time.Second); missing != "" {
		t.Fatalf("%s: no sentinel within 15 s", missing)
	}

	for _, u := range e.subscribers() {
		for _, c := range xtColls {
			e.cases.Add(1)
			var want []string
			for _, w := range writes {
				if w.coll == c.name && xtVisible(u, c.name, w.rec) {
					want = append(want, fmt.Sprintf("%s %v", w.action, w.rec["title"]))
				}
			}
			if c.name == "pub" {
				want = append(want, "create sentinel")
			}
			// A stream that got the sentinel may still be behind on another
			// collection's stream: wait, bounded, for what any transport got.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && !e.converged(ev, u.name, c.name) {
				time.Sleep(20 * time.Millisecond)
			}
			for _, tr := range xtSubTransports {
				e.checks.Add(1)
				what := fmt.Sprintf("%s × %s × subscribe via %s", u.name, c.name, tr)
				got := ev.get(u.name, c.name, tr)
				got = xtWithout(got, "create prime")
				if !reflect.DeepEqual(xtSorted(got), xtSorted(want)) {
					e.t.Errorf("%s: events\n got %q\nwant %q", what, got, want)
				}
				ev.mu.Lock()
				why, refused := ev.refused[[3]string{u.name, c.name, tr}]
				ev.mu.Unlock()
				wantRefused := tr == "graphql-ws" && c.name == "vault" && !u.super
				if refused != wantRefused {
					e.t.Errorf("%s: refused=%v (%s), want %v", what, refused, why, wantRefused)
				}
			}
		}
	}
}

// subscribers are the callers that subscribe: all but the bad token.
func (e *xtEnv) subscribers() []xtCaller {
	var out []xtCaller
	for _, u := range e.callers {
		if u.name != xtBadToken {
			out = append(out, u)
		}
	}
	return out
}

// wait waits, at most d, until the coll subscription of every subscriber
// that sees the event, on every transport, got it. It returns the first
// subscription that did not, with what it got, or "".
func (e *xtEnv) wait(ev *xtEvents, coll, event string, sees func(xtCaller) bool, d time.Duration) string {
	deadline := time.Now().Add(d)
	for _, u := range e.subscribers() {
		if !sees(u) {
			continue
		}
		for _, tr := range xtSubTransports {
			for !ev.has(u.name, coll, tr, event) {
				if time.Now().After(deadline) {
					ev.mu.Lock()
					refused := ev.refused[[3]string{u.name, coll, tr}]
					ev.mu.Unlock()
					return fmt.Sprintf("%s × %s × subscribe via %s (got %q; refused: %q)", u.name, coll, tr, ev.get(u.name, coll, tr), refused)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	return ""
}

// converged reports whether every transport holds every event any of them
// delivered to caller for coll.
func (e *xtEnv) converged(ev *xtEvents, caller, coll string) bool {
	all := map[string]bool{}
	for _, tr := range xtSubTransports {
		for _, x := range ev.get(caller, coll, tr) {
			all[x] = true
		}
	}
	for _, tr := range xtSubTransports {
		got := map[string]bool{}
		for _, x := range ev.get(caller, coll, tr) {
			got[x] = true
		}
		if len(got) != len(all) {
			return false
		}
	}
	return true
}

func xtSorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func xtWithout(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// sse subscribes caller u to every collection over realtime SSE and records
// the events until ctx ends; ready is closed once the subscriptions are in
// place.
func (e *xtEnv) sse(ctx context.Context, u xtCaller, ev *xtEvents, ready chan<- struct{}) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+e.addr+"/api/realtime", nil)
	if err != nil {
		e.t.Error(err)
		return
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Errorf("%s: realtime connect: %v", u.name, err)
		return
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	var name, data string
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			if ctx.Err() == nil {
				e.t.Errorf("%s: realtime stream: %v", u.name, err)
			}
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data = strings.TrimSpace(line[len("data:"):])
		case line == "" && name != "":
			if name == "PB_CONNECT" {
				var m struct{ ClientID string }
				_ = json.Unmarshal([]byte(data), &m)
				var topics []string
				for _, c := range xtColls {
					topics = append(topics, c.name+"/*")
				}
				if status, raw := e.http.do("POST", "/api/realtime", u.token, map[string]any{"clientId": m.ClientID, "subscriptions": topics}); status != http.StatusNoContent {
					e.t.Errorf("%s: realtime subscribe: %d %s", u.name, status, raw)
					return
				}
				close(ready)
			} else {
				var m struct {
					Action string
					Record map[string]any
				}
				if err := json.Unmarshal([]byte(data), &m); err != nil {
					e.t.Errorf("%s: realtime event %s %q: %v", u.name, name, data, err)
				}
				coll, _, _ := strings.Cut(name, "/")
				ev.add(u.name, coll, "sse", m.Action, m.Record)
			}
			name, data = "", ""
		}
	}
}

// graphqlWS opens one graphql-transport-ws connection for caller u with one
// subscription per collection, pub last.
func (e *xtEnv) graphqlWS(ctx context.Context, wg *sync.WaitGroup, u xtCaller, ev *xtEvents) {
	c, _, err := websocket.Dial(ctx, "ws://"+e.addr+"/api/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		e.t.Errorf("%s: dialing GraphQL: %v", u.name, err)
		return
	}
	init := map[string]any{"type": "connection_init"}
	if u.token != "" {
		init["payload"] = map[string]any{"Authorization": u.token}
	}
	type message struct {
		ID      string
		Type    string
		Payload json.RawMessage
	}
	var ack message
	if err := wsjson.Write(ctx, c, init); err != nil || wsjson.Read(ctx, c, &ack) != nil || ack.Type != "connection_ack" {
		e.t.Errorf("%s: GraphQL connection_init: %v %v", u.name, err, ack)
		c.CloseNow()
		return
	}
	for i := len(xtColls) - 1; i >= 0; i-- { // pub (first) is sent last
		coll := xtColls[i].name
		q := fmt.Sprintf("subscription { %sChanged { action record { id title } } }", coll)
		if err := wsjson.Write(ctx, c, map[string]any{"id": coll, "type": "subscribe", "payload": map[string]any{"query": q}}); err != nil {
			e.t.Errorf("%s: GraphQL subscribe %s: %v", u.name, coll, err)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer c.CloseNow()
		for {
			var m message
			if err := wsjson.Read(ctx, c, &m); err != nil {
				if ctx.Err() == nil {
					e.t.Errorf("%s: GraphQL socket: %v", u.name, err)
				}
				return
			}
			switch m.Type {
			case "next":
				var p struct {
					Data map[string]struct {
						Action string
						Record map[string]any
					}
					Errors []any
				}
				if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
					e.t.Errorf("%s × %s: GraphQL event %s: %v", u.name, m.ID, m.Payload, err)
				}
				for _, d := range p.Data {
					ev.add(u.name, m.ID, "graphql-ws", d.Action, d.Record)
				}
			case "error":
				ev.refuse(u.name, m.ID, "graphql-ws", string(m.Payload))
			case "ping":
				_ = wsjson.Write(ctx, c, map[string]any{"type": "pong"})
			}
		}
	}()
}

// watch opens a gRPC Watch of coll for caller u and waits for its READY.
func (e *xtEnv) watch(ctx context.Context, wg *sync.WaitGroup, rc basaltv1connect.RecordServiceClient, u xtCaller, coll string, ev *xtEvents) {
	stream, err := rc.Watch(ctx, authed(&basaltv1.WatchRequest{Collection: coll}, u.token))
	if err != nil {
		ev.refuse(u.name, coll, "grpc-watch", err.Error())
		return
	}
	if !stream.Receive() || stream.Msg().Action != basaltv1.Action_ACTION_READY {
		ev.refuse(u.name, coll, "grpc-watch", fmt.Sprint(stream.Err()))
		stream.Close()
		return
	}
	actions := map[basaltv1.Action]string{basaltv1.Action_ACTION_CREATE: "create", basaltv1.Action_ACTION_UPDATE: "update", basaltv1.Action_ACTION_DELETE: "delete"}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stream.Close()
		for stream.Receive() {
			m := stream.Msg()
			ev.add(u.name, coll, "grpc-watch", actions[m.Action], m.Record.AsMap())
		}
		if ctx.Err() == nil {
			e.t.Errorf("%s × %s: Watch ended: %v", u.name, coll, stream.Err())
		}
	}()
}
