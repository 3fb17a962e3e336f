// Command fanout measures Basalt's realtime fan-out over SSE: for each
// subscriber count N it starts Basalt on a fresh temporary data directory on
// 127.0.0.1, creates a superuser and a public posts collection, opens N SSE
// connections to /api/realtime each subscribed to posts/*, reads the
// server's RSS before and after (idle), then creates M records one at a time
// and measures, for every delivery, the delay from the create's response
// (the commit) to the subscriber reading the event. It prints one table.
//
// Run it through bench/fanout.sh, which builds Basalt and raises the
// open-file limit. Knobs (environment): FANOUT_SUBSCRIBERS (comma list,
// default 1000,10000), FANOUT_RECORDS (50), FANOUT_INTERVAL (100ms),
// FANOUT_DRAIN (60s: how long to wait for late deliveries after the last
// create), FANOUT_KEEP (non-empty: keep data and logs).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/basalt-dev/basalt/bench/sse"
)

const (
	suEmail = "fanout@example.com"
	suPass  = "fanout-secret-123"
	// dialers is how many subscribers connect and subscribe at once.
	dialers = 64
	// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times.
	clockTicks = 100
)

func main() {
	bin := flag.String("basalt", "", "the Basalt binary")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "usage: fanout -basalt PATH (see bench/fanout.sh)")
		os.Exit(2)
	}
	ns, err := intList(getenv("FANOUT_SUBSCRIBERS", "1000,10000"))
	check(err)
	m, err := strconv.Atoi(getenv("FANOUT_RECORDS", "50"))
	check(err)
	interval, err := time.ParseDuration(getenv("FANOUT_INTERVAL", "100ms"))
	check(err)
	drain, err := time.ParseDuration(getenv("FANOUT_DRAIN", "60s"))
	check(err)

	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		progress("open-file limit of this process: %d (hard %d)", lim.Cur, lim.Max)
	}

	root, err := os.MkdirTemp("", "basalt-fanout.")
	check(err)
	if os.Getenv("FANOUT_KEEP") == "" {
		defer os.RemoveAll(root)
	} else {
		progress("keeping %s", root)
	}

	var results []*result
	for _, n := range ns {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		r, err := run(ctx, *bin, filepath.Join(root, strconv.Itoa(n)), n, m, interval, drain)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "fanout: N=%d: %v\n", n, err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	report(os.Stdout, results, m, interval)
}

// result is one run's figures.
type result struct {
	n                 int
	opened            int // subscribers connected and subscribed
	connectTime       time.Duration
	rssBefore         float64 // KiB, before any subscriber
	rssIdle           float64 // KiB, with all subscribers idle
	rssAfter          float64 // KiB, after the writes
	expected          int
	received          int
	early             int // deliveries read before the create's response
	fromCommit        []time.Duration
	fromSend          []time.Duration
	cpuConnect        float64 // server CPU seconds while subscribers connected
	cpuWrite          float64 // server CPU seconds from first create to last delivery
	cpuClient         float64 // this process's CPU seconds over the same time
	createP50         time.Duration
	disconnects       int
	deliveryWallClock time.Duration // first create to last delivery
}

func run(ctx context.Context, bin, dir string, n, m int, interval, drain time.Duration) (*result, error) {
	progress("N=%d: starting Basalt in %s", n, dir)
	srv, err := launch(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if err := srv.setup(ctx); err != nil {
		return nil, err
	}
	res := &result{n: n, expected: n * m}

	time.Sleep(time.Second)
	res.rssBefore, _ = srv.rssKiB()
	cpu0, _ := srv.cpuSeconds()

	// Subscribers.
	subs := make([]*sse.Subscriber, n)
	postTr := &http.Transport{MaxIdleConnsPerHost: dialers, MaxConnsPerHost: dialers}
	defer postTr.CloseIdleConnections()
	subCtx, stopSubs := context.WithCancel(ctx)
	var readers sync.WaitGroup
	defer func() { stopSubs(); readers.Wait() }()

	start := time.Now()
	var next atomic.Int64
	var opened atomic.Int64
	var firstErr error
	var errMu sync.Mutex
	var dial sync.WaitGroup
	for range dialers {
		dial.Add(1)
		go func() {
			defer dial.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s, err := sse.Subscribe(subCtx, postTr, srv.base, "posts/*", m)
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("subscriber %d: %w", i, err)
					}
					errMu.Unlock()
					continue
				}
				subs[i] = s
				readers.Add(1)
				go func() { defer readers.Done(); s.Read() }()
				if o := opened.Add(1); o%1000 == 0 {
					progress("N=%d: %d subscribed", n, o)
				}
			}
		}()
	}
	dial.Wait()
	res.connectTime = time.Since(start)
	res.opened = int(opened.Load())
	if firstErr != nil {
		progress("N=%d: %d of %d subscribers failed; first error: %v", n, n-res.opened, n, firstErr)
	}
	if res.opened == 0 {
		return nil, firstErr
	}
	res.expected = res.opened * m
	cpu1, _ := srv.cpuSeconds()
	res.cpuConnect = cpu1 - cpu0
	progress("N=%d: %d subscribed in %s; idling", n, res.opened, res.connectTime.Round(time.Millisecond))
	time.Sleep(3 * time.Second)
	res.rssIdle, _ = srv.rssKiB()

	// The writer.
	commits := make(map[string]time.Time, m)
	sends := make(map[string]time.Time, m)
	var createTimes []time.Duration
	cpu2, _ := srv.cpuSeconds()
	self2 := selfCPU()
	writeStart := time.Now()
	tick := time.NewTicker(interval)
	for i := range m {
		sent := time.Now()
		id, err := srv.createPost(ctx, i, sent)
		if err != nil {
			tick.Stop()
			return nil, fmt.Errorf("create %d: %w", i, err)
		}
		commit := time.Now()
		commits[id], sends[id] = commit, sent
		createTimes = append(createTimes, commit.Sub(sent))
		<-tick.C
	}
	tick.Stop()
	progress("N=%d: %d records created; waiting for deliveries", n, m)

	// Wait until every subscriber has every event, or drain passes.
	deadline := time.Now().Add(drain)
	for time.Now().Before(deadline) {
		total := 0
		for _, s := range subs {
			if s != nil {
				total += int(s.Count())
			}
		}
		if total >= res.expected {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cpu3, _ := srv.cpuSeconds()
	res.cpuWrite = cpu3 - cpu2
	res.cpuClient = selfCPU() - self2
	res.rssAfter, _ = srv.rssKiB()
	for _, s := range subs {
		if s != nil && s.Ended() {
			res.disconnects++
		}
	}
	stopSubs()
	for _, s := range subs {
		if s != nil {
			s.Close()
		}
	}
	readers.Wait()

	var last time.Time
	for _, s := range subs {
		if s == nil {
			continue
		}
		for _, d := range s.Deliveries() {
			id := string(d.ID[:])
			c, ok := commits[id]
			if !ok {
				continue
			}
			res.received++
			if d.At.Before(c) {
				res.early++
			}
			res.fromCommit = append(res.fromCommit, max(0, d.At.Sub(c)))
			res.fromSend = append(res.fromSend, d.At.Sub(sends[id]))
			if d.At.After(last) {
				last = d.At
			}
		}
	}
	res.deliveryWallClock = last.Sub(writeStart)
	slices.Sort(res.fromCommit)
	slices.Sort(res.fromSend)
	slices.Sort(createTimes)
	res.createP50 = pct(createTimes, 50)
	return res, nil
}

// server is the Basalt process under test.
type server struct {
	cmd   *exec.Cmd
	base  string
	token string
	log   string
	done  chan error
}

func launch(ctx context.Context, bin, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	cmd := exec.CommandContext(ctx, bin, "superuser", "upsert", suEmail, suPass, "--dir", data)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("superuser upsert: %w\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, log: logPath, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "serve", "--http", addr, "--dir", data)
	s.cmd.Env = cleanEnv()
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() { s.done <- s.cmd.Wait(); logFile.Close() }()
	progress("Basalt pid %d on %s", s.cmd.Process.Pid, addr)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if res, err := http.Get(s.base + "/api/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("basalt exited during start (%v); log: %s", err, logPath)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("basalt did not become healthy; log: %s", logPath)
		}
	}
}

// stop ends the server by its pid: SIGTERM, then SIGKILL after 10 s.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// setup signs in as the superuser and creates the posts collection.
func (s *server) setup(ctx context.Context) error {
	var auth struct {
		Token string `json:"token"`
	}
	if err := s.call(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password",
		map[string]any{"identity": suEmail, "password": suPass}, &auth); err != nil {
		return err
	}
	s.token = auth.Token
	return s.call(ctx, http.MethodPost, "/api/collections", map[string]any{
		"name": "posts", "listRule": "", "viewRule": "", "createRule": "",
		"fields": []map[string]any{{"name": "title", "type": "text"}, {"name": "sent", "type": "number"}},
	}, nil)
}

// createPost creates one post as a guest and returns its id.
func (s *server) createPost(ctx context.Context, i int, sent time.Time) (string, error) {
	var rec struct {
		ID string `json:"id"`
	}
	body, _ := json.Marshal(map[string]any{"title": "fanout " + strconv.Itoa(i), "sent": sent.UnixNano()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/collections/posts/records", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", res.StatusCode, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return "", err
	}
	return rec.ID, nil
}

func (s *server) call(ctx context.Context, method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", s.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (s *server) proc(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), name))
	return string(b), err
}

// rssKiB is VmRSS from /proc/<pid>/status.
func (s *server) rssKiB() (float64, error) {
	st, err := s.proc("status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(st) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseFloat(f[0], 64)
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuSeconds is utime+stime from /proc/<pid>/stat.
func (s *server) cpuSeconds() (float64, error) {
	st, err := s.proc("stat")
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(st, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(st[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short stat")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	sy, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(u+sy) / clockTicks, nil
}

func report(w io.Writer, rs []*result, m int, interval time.Duration) {
	fmt.Fprintf(w, "\nBasalt realtime fan-out (SSE, posts/*): %d creates %s apart, one writer; latency from the create's response (commit) to each subscriber reading the event\n\n", m, interval)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subscribers\tsubscribed\tdropped\tdelivered/expected\tp50\tp99\tmax\tp99 from send\tearly\tRSS before MiB\tRSS idle MiB\tKiB/idle conn\tRSS after MiB\tCPU s connect\tCPU s writes\tbench CPU s\twrite phase\tcreate p50\t")
	for _, r := range rs {
		perConn := (r.rssIdle - r.rssBefore) / float64(max(r.opened, 1))
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d/%d\t%s\t%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t%s\t\n",
			r.n, r.opened, r.disconnects, r.received, r.expected,
			ms(pct(r.fromCommit, 50)), ms(pct(r.fromCommit, 99)), ms(pct(r.fromCommit, 100)), ms(pct(r.fromSend, 99)),
			r.early, r.rssBefore/1024, r.rssIdle/1024, perConn, r.rssAfter/1024, r.cpuConnect, r.cpuWrite, r.cpuClient, r.deliveryWallClock.Round(10*time.Millisecond), ms(r.createP50))
	}
	tw.Flush()
	fmt.Fprintln(w, "\ndropped: streams the server ended before the benchmark closed them.")
	fmt.Fprintln(w, "CPU s writes, bench CPU s: user+system seconds of the server and of this benchmark from the first create to the last delivery (write phase); they share the machine's cores.")
	fmt.Fprintln(w, "early: deliveries read before the create's response arrived (counted as 0 ms from commit).")
	fmt.Fprintln(w, "p99 from send: from just before the create was sent. Target at 10,000: p99 < 250 ms, < 20 KiB per idle connection.")
}

// selfCPU is this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	return d[min(max(i-1, 0), len(d)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func intList(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad subscriber count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BASALT_") {
			out = append(out, kv)
		}
	}
	return out
}

func progress(format string, args ...any) { fmt.Fprintf(os.Stderr, "fanout: "+format+"\n", args...) }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}
