package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/bench/client"
	"github.com/basalt-dev/basalt/bench/launch"
	"github.com/basalt-dev/basalt/bench/sse"
)

// The superuser the tool creates.
const (
	suEmail    = "soak@basalt.test"
	suPassword = "soak-secret-123"
)

// soak is one run.
type soak struct {
	cfg  config
	work string
	out  io.Writer

	srv        *launch.Server
	base       string
	metricsURL string
	seeded     []string
}

func (s *soak) run(ctx context.Context) error {
	defer func() {
		if s.srv != nil {
			_ = s.srv.Kill()
		}
	}()
	dir := filepath.Join(s.work, "data")
	addr, err := launch.FreeAddr()
	if err != nil {
		return err
	}
	maddr, err := launch.FreeAddr()
	if err != nil {
		return err
	}
	if err := launch.Superuser(ctx, s.cfg.bin, dir, "", suEmail, suPassword); err != nil {
		return err
	}
	srv, _, err := launch.Start(ctx, launch.Config{
		Bin: s.cfg.bin, Dir: dir, Addr: addr, MetricsAddr: maddr, Log: filepath.Join(s.work, "server.log"),
	})
	if err != nil {
		return err
	}
	s.srv, s.base, s.metricsURL = srv, "http://"+addr, "http://"+maddr+"/metrics"
	if err := s.setup(ctx); err != nil {
		return err
	}

	rec := newRecorder()
	var writes atomic.Int64
	subs, stopSubs, err := s.subscribe(ctx, rec)
	if err != nil {
		return err
	}
	stopTraffic := make(chan struct{})
	var wg sync.WaitGroup
	period := time.Duration(float64(time.Second) * float64(s.cfg.workers) / s.cfg.rate)
	for i := range s.cfg.workers {
		w := &worker{
			n: i, c: client.New(s.base, 2, 30*time.Second), rng: rand.New(rand.NewPCG(s.cfg.seed, uint64(i))),
			seeded: s.seeded, users: s.cfg.users, rec: rec, writes: &writes,
		}
		wg.Go(func() { w.run(ctx, stopTraffic, period) })
	}
	fmt.Fprintf(s.out, "soak: %s of mixed traffic at %.0f requests/s (%d clients), %d realtime subscribers, %d seeded records, windows of %s, warm-up %s, seed %d\n",
		s.cfg.duration, s.cfg.rate, s.cfg.workers, s.cfg.subscribers, s.cfg.records, s.cfg.interval, s.cfg.bounds.warmup, s.cfg.seed)
	fmt.Fprintf(s.out, "%6s %7s %6s %6s %7s %8s %9s %7s %10s %9s %9s %8s %8s %8s %5s %6s\n",
		"window", "end", "reqs", "errors", "p50 ms", "p99 ms", "signin ms", "events", "goroutines", "heap MiB", "goal MiB", "RSS MiB", "cpu/req", "wait/req", "load", "others")

	scrapeClient := &http.Client{Timeout: 10 * time.Second}
	began := time.Now()
	var windows []window
	var lastEvents int64
	lastCPU, lastBusy, lastSelf, lastAt := 0.0, machineBusy(), selfCPU(), time.Now()
	lastWait := runQueueWait(s.srv.Pid())
	n := int((s.cfg.duration + s.cfg.interval - 1) / s.cfg.interval)
	var runErr error
	for i := 1; i <= n && runErr == nil; i++ {
		select {
		case <-ctx.Done():
			runErr = ctx.Err()
			continue
		case <-s.srv.Done():
			runErr = errors.New("the server exited during the soak; see its log")
			continue
		case <-time.After(time.Until(began.Add(time.Duration(i) * s.cfg.interval))):
		}
		w := window{end: time.Since(began).Round(time.Second)}
		w.requests, w.errors, w.p50, w.p99, w.signin = rec.cut()
		var events int64
		for _, sub := range subs {
			events += sub.Count()
		}
		w.events, lastEvents = int(events-lastEvents), events
		m, err := scrape(ctx, scrapeClient, s.metricsURL, runtimeMetrics, []string{poolMetric, gogcMetric})
		if err != nil {
			runErr = err
			continue
		}
		w.goroutines, w.heapInuse, w.rss = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"], m["process_resident_memory_bytes"]
		w.heapGoal = heapGoalAt100(m["go_memstats_next_gc_bytes"], m)
		w.cacheConns = float64(s.cfg.cacheConns)
		if v, ok := m[poolMetric]; ok {
			w.cacheConns = v
		}
		w.dbBytes = fileSizes(filepath.Join(s.work, "data", "data.db"), filepath.Join(s.work, "data", "data.db-wal"))
		cpu := m["process_cpu_seconds_total"]
		if i > 1 && w.requests > 0 {
			w.cpuPerReq = time.Duration((cpu - lastCPU) / float64(w.requests) * float64(time.Second))
		}
		busy, self, at, wait := machineBusy(), selfCPU(), time.Now(), runQueueWait(s.srv.Pid())
		if w.requests > 0 {
			w.waitPerReq = (wait - lastWait) / time.Duration(w.requests)
		}
		lastWait = wait
		if i > 1 {
			w.others = max(0, (busy-lastBusy)-(cpu-lastCPU)-(self-lastSelf)) / at.Sub(lastAt).Seconds()
		}
		lastCPU, lastBusy, lastSelf, lastAt = cpu, busy, self, at
		w.load = loadAverage()
		windows = append(windows, w)
		fmt.Fprintf(s.out, "%6d %7s %6d %6d %7.2f %8.2f %9.2f %7d %10.0f %9.1f %9.1f %8.1f %6.2fms %6.2fms %5.1f %6.2f\n",
			i, w.end, w.requests, w.errors, ms(w.p50), ms(w.p99), ms(w.signin), w.events, w.goroutines,
			w.heapInuse/(1<<20), w.heapGoal/(1<<20), w.rss/(1<<20), ms(w.cpuPerReq), ms(w.waitPerReq), w.load, w.others)
	}
	close(stopTraffic)
	wg.Wait()
	if runErr != nil {
		stopSubs()
		return runErr
	}

	// Every acknowledged write is one event for every subscriber; give the
	// last ones a moment to arrive.
	want := writes.Load()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && !allRead(subs, want) {
		time.Sleep(50 * time.Millisecond)
	}
	stopSubs()
	var rtProblems []string
	for i, sub := range subs {
		if got := sub.Count(); got != want {
			rtProblems = append(rtProblems, fmt.Sprintf("realtime: subscriber %d read %d events, want %d (one per acknowledged write)", i, got, want))
		}
	}

	running := s.srv
	s.srv = nil
	stopErr := running.Stop(45 * time.Second)

	rec.mu.Lock()
	totalErrors, firstErrors, ops := rec.totalErrors, rec.firstErrors, rec.ops
	rec.mu.Unlock()
	total := 0
	var mix []string
	for _, op := range []string{"view", "list", "filter", "create", "update", "delete", opSignIn} {
		total += ops[op]
		mix = append(mix, fmt.Sprintf("%s %d", op, ops[op]))
	}
	j := judge(windows, totalErrors, s.cfg.bounds)
	j.failures = append(j.failures, rtProblems...)
	if stopErr != nil {
		j.failures = append(j.failures, stopErr.Error())
	}
	fmt.Fprintf(s.out, "\nrequests: %d (%s), errors %d\n", total, strings.Join(mix, ", "), totalErrors)
	for _, e := range firstErrors {
		fmt.Fprintf(s.out, "  error: %s\n", e)
	}
	fmt.Fprintf(s.out, "realtime: %d subscribers, %d acknowledged writes, each subscriber read one event per write: %v\n",
		len(subs), want, len(rtProblems) == 0)
	fmt.Fprintf(s.out, "judged: windows %s (early) against %s (late), medians of each:\n", spans(j.early), spans(j.late))
	for _, note := range j.notes {
		fmt.Fprintf(s.out, "  %s\n", note)
	}
	for _, note := range j.inconclusive {
		fmt.Fprintf(s.out, "INCONCLUSIVE (not a failure): %s\n", note)
	}
	if len(j.failures) > 0 {
		fmt.Fprintln(s.out, "FAIL:")
		for _, f := range j.failures {
			fmt.Fprintf(s.out, "  %s\n", f)
		}
		return errors.New("soak bounds broken (see above)")
	}
	fmt.Fprintln(s.out, "PASS")
	return nil
}

// allRead reports whether every subscriber has read want events.
func allRead(subs []*sse.Subscriber, want int64) bool {
	for _, s := range subs {
		if s.Count() < want {
			return false
		}
	}
	return true
}

// spans names windows by their end times.
func spans(ws []window) string {
	var out []string
	for _, w := range ws {
		out = append(out, w.end.String())
	}
	return "[" + strings.Join(out, " ") + "]"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// subscribe opens the realtime subscribers; a stream that ends before
// stop is called is an error of the run.
func (s *soak) subscribe(ctx context.Context, rec *recorder) ([]*sse.Subscriber, func(), error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	var subs []*sse.Subscriber
	var stopping atomic.Bool
	var wg sync.WaitGroup
	stop := func() {
		stopping.Store(true)
		for _, sub := range subs {
			sub.Close()
		}
		wg.Wait()
		tr.CloseIdleConnections()
	}
	for range s.cfg.subscribers {
		sub, err := subscribe(ctx, tr, s.base)
		if err != nil {
			stop()
			return nil, nil, err
		}
		subs = append(subs, sub)
		wg.Go(func() {
			err := sub.Read()
			if !stopping.Load() {
				rec.fail(fmt.Errorf("realtime stream ended during the soak: %v", err))
			}
		})
	}
	return subs, stop, nil
}

// setup creates the collection, the users and the seeded records.
func (s *soak) setup(ctx context.Context) error {
	su := client.New(s.base, 2, time.Minute)
	token, err := su.SignIn(ctx, "_superusers", suEmail, suPassword)
	if err != nil {
		return fmt.Errorf("signing in as the superuser: %w", err)
	}
	su.Token = token
	coll := map[string]any{
		"name": collectionName, "type": "base",
		"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
		"fields": []map[string]any{
			{"name": "title", "type": "text", "max": 200},
			{"name": "body", "type": "text"},
			{"name": "views", "type": "number", "onlyInt": true},
			{"name": "published", "type": "bool"},
			{"name": "created", "type": "autodate", "onCreate": true},
			{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
		},
	}
	if _, err := su.Do(ctx, http.MethodPost, "/api/collections", coll, nil); err != nil {
		return fmt.Errorf("creating the collection: %w", err)
	}
	const batchSize = 500
	settings := map[string]any{"batch": map[string]any{"enabled": true, "maxRequests": batchSize, "timeout": 60}}
	if _, err := su.Do(ctx, http.MethodPatch, "/api/settings", settings, nil); err != nil {
		return fmt.Errorf("enabling batches: %w", err)
	}
	for i := range s.cfg.users {
		user := map[string]any{"email": userEmail(i), "password": userPassword, "passwordConfirm": userPassword, "verified": true}
		if _, err := su.Do(ctx, http.MethodPost, "/api/collections/users/records", user, nil); err != nil {
			return fmt.Errorf("creating user %d: %w", i, err)
		}
	}
	rng := rand.New(rand.NewPCG(s.cfg.seed, 1<<32))
	for done := 0; done < s.cfg.records; {
		n := min(batchSize, s.cfg.records-done)
		reqs := make([]map[string]any, n)
		for i := range reqs {
			reqs[i] = map[string]any{"method": http.MethodPost, "url": "/api/collections/" + collectionName + "/records",
				"body": map[string]any{"title": fmt.Sprintf("Seeded post %d", done+i), "body": loremBody,
					"views": rng.IntN(1000), "published": rng.IntN(2) == 0}}
		}
		var res []struct {
			Status int `json:"status"`
			Body   struct {
				ID string `json:"id"`
			} `json:"body"`
		}
		if _, err := su.Do(ctx, http.MethodPost, "/api/batch", map[string]any{"requests": reqs}, &res); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
		for _, r := range res {
			if r.Status != http.StatusOK || r.Body.ID == "" {
				return fmt.Errorf("seeding: a batch item answered %d", r.Status)
			}
			s.seeded = append(s.seeded, r.Body.ID)
		}
		done += n
	}
	return nil
}
