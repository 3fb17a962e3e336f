package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/bench/sse"
)

// realtimeWriters is how many connections send the creates of the realtime
// scenario: each create is delivered to every subscriber, so a few writers
// make plenty of events to fan out.
const realtimeWriters = 4

// realtimeDrain bounds the wait for deliveries still on their way when the
// create load ends.
const realtimeDrain = 10 * time.Second

// realtimeFanout measures realtime delivery under write load: the
// configured number of SSE subscribers (BENCH_SUBSCRIBERS) to the create
// scenario's collection, and the create load (wrk, create.lua, on
// realtimeWriters connections) for the scenario's duration. Its req/s is events delivered per second; p50/p99
// the delay from a record's creation (its created time, set just before
// its commit) to each delivery; CPU the server's per 1,000 deliveries,
// including the deliveries still draining after the load. Deliveries
// missing at the end (a subscriber too slow to keep up is disconnected, by
// design) mark the run failed.
func realtimeFanout(ctx context.Context, b *bench, in *instance) (*result, error) {
	n := b.cfg.subscribers
	topic := createCollection + "/*"
	postTr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer postTr.CloseIdleConnections()
	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	subs := make([]*sse.Subscriber, 0, n)
	var readers sync.WaitGroup
	defer func() {
		for _, s := range subs {
			s.Close()
		}
		readers.Wait()
	}()
	for i := range n {
		s, err := sse.Subscribe(subCtx, postTr, in.base, topic, 4096)
		if err != nil {
			return nil, fmt.Errorf("realtime subscriber %d: %w", i, err)
		}
		subs = append(subs, s)
		readers.Add(1)
		go func() { defer readers.Done(); s.Read() }()
	}
	delivered := func() int64 {
		var total int64
		for _, s := range subs {
			total += s.Count()
		}
		return total
	}

	scratch, err := os.MkdirTemp("", "basalt-bench-realtime")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	l := load{url: in.base + "/api/collections/" + createCollection + "/records", script: "create.lua",
		connections: realtimeWriters}
	if b.cfg.warmup > 0 {
		if _, err := b.wrk(ctx, l, b.cfg.warmup, in.proc, scratch); err != nil {
			return nil, err
		}
	}
	// Deliveries of the warm-up's records end before the measured run.
	if err := waitFor(func() bool { d := delivered(); time.Sleep(100 * time.Millisecond); return delivered() == d }, realtimeDrain); err != nil {
		return nil, fmt.Errorf("realtime warm-up deliveries did not settle: %w", err)
	}
	before := delivered()
	cpu0, err := in.proc.cpuSeconds()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	w, err := b.wrk(ctx, l, b.cfg.duration, in.proc, scratch)
	if err != nil {
		return nil, err
	}
	created := w.requests - w.non2xx
	want := before + created*int64(n)
	_ = waitFor(func() bool { return delivered() >= want }, realtimeDrain)
	cpu1, err := in.proc.cpuSeconds()
	if err != nil {
		return nil, err
	}
	got := delivered() - before
	stop()
	for _, s := range subs {
		s.Close()
	}
	readers.Wait()
	p50, p99, worst := delays(subs, start)
	subs = nil // closed and read

	r := &result{requests: got, duration: w.duration, errors: w.errors, non2xx: w.non2xx, cpuSeconds: cpu1 - cpu0}
	if w.duration > 0 {
		r.rps = float64(got) / w.duration.Seconds()
	}
	if got > 0 {
		r.cpuPer1k = r.cpuSeconds / float64(got) * 1000
	}
	r.p50, r.p99, r.max = p50, p99, worst
	r.note = fmt.Sprintf("%d subscribers, %.0f creates/s, %d deliveries", n, w.rps, got)
	if missing := created*int64(n) - got; missing > 0 || w.errors > 0 || w.non2xx > 0 {
		r.failed = fmt.Sprintf("%d deliveries missing, %d socket errors, %d non-2xx creates", missing, w.errors, w.non2xx)
	}
	return r, nil
}

// delays returns the p50, p99 and largest delay from a record's creation
// to its delivery, over the records created after start.
func delays(subs []*sse.Subscriber, start time.Time) (p50, p99, worst time.Duration) {
	var ds []time.Duration
	for _, s := range subs {
		for _, d := range s.Deliveries() {
			if c := d.Created(); !c.Before(start.Truncate(time.Millisecond)) {
				ds = append(ds, max(0, d.At.Sub(c)))
			}
		}
	}
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	at := func(p int) time.Duration { return ds[min(len(ds)-1, len(ds)*p/100)] }
	return at(50), at(99), ds[len(ds)-1]
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(cond func() bool, d time.Duration) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
