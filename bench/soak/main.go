// Command soak is Basalt's soak test (bench/soak.sh, make soak).
//
// It starts basalt serve on a fresh data directory on 127.0.0.1 with
// /metrics on a loopback listener, seeds a public collection and a few
// users, opens realtime (SSE) subscribers on the collection and sends mixed
// traffic at a fixed rate for a bounded time: views, lists, filtered lists,
// creates, updates, deletes and password sign-ins. Every interval it prints
// a window: requests, errors, p50 and p99 latency, realtime events read, and
// the server's goroutines, heap and resident memory from /metrics.
//
// At the end it judges the run (verdict.go): no failed request, every
// subscriber read one event per acknowledged write, and between the first
// windows after the warm-up and the last ones, goroutines, heap and RSS grew
// within the stated bounds and p99 stayed within a factor of its early
// value. It exits 1 when a bound is broken. It stops by itself and talks
// to loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// config holds the flags of a run.
type config struct {
	bin         string
	duration    time.Duration
	interval    time.Duration
	rate        float64 // requests per second, all workers together
	workers     int
	subscribers int
	users       int
	records     int
	seed        uint64
	cacheConns  int // SQLite connections to data.db, when /metrics does not say
	keep        bool
	workdir     string
	bounds      bounds
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	b := &cfg.bounds
	fs.StringVar(&cfg.bin, "basalt", "bin/basalt", "the basalt binary to test")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Minute, "how long the traffic runs")
	fs.DurationVar(&cfg.interval, "interval", 10*time.Second, "length of a sampling window")
	fs.DurationVar(&b.warmup, "warmup", 0, "windows ending before this are not judged (default: a tenth of -duration, at least one -interval)")
	fs.Float64Var(&cfg.rate, "rate", 200, "requests per second, all workers together")
	fs.IntVar(&cfg.workers, "workers", 8, "concurrent clients sending the traffic")
	fs.IntVar(&cfg.subscribers, "subscribers", 4, "realtime (SSE) subscribers to the collection")
	fs.IntVar(&cfg.users, "users", 5, "users that sign in with a password")
	fs.IntVar(&cfg.records, "records", 1000, "records seeded before the traffic")
	fs.Uint64Var(&cfg.seed, "seed", 0, "seed of the traffic (0: from the clock; printed)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the data directory and server log (they are always kept on failure)")
	fs.StringVar(&cfg.workdir, "workdir", "", "parent of the temporary data directory (default: the system's)")
	fs.Float64Var(&b.goroutines, "max-goroutine-growth", 50, "goroutines the late windows may have above the early ones")
	fs.Float64Var(&b.heapRatio, "max-heap-growth", 0.20, "relative growth of the heap goal allowed between the early and late windows")
	heapSlack := fs.Float64("heap-slack-mib", 8, "absolute heap goal growth allowed on top of -max-heap-growth, MiB")
	fs.Float64Var(&b.rssRatio, "max-rss-growth", 0.25, "relative RSS growth allowed between the early and late windows")
	rssSlack := fs.Float64("rss-slack-mib", 16, "absolute RSS growth allowed on top of -max-rss-growth and the SQLite page cache allowance, MiB")
	// Basalt's SQLite store opens max(4, 2 × GOMAXPROCS) readers and one
	// writer; the server runs on this machine.
	fs.IntVar(&cfg.cacheConns, "cache-conns", 1+max(4, 2*runtime.NumCPU()), "SQLite connections to data.db that cache pages, when /metrics lacks basalt_db_pool_max_connections (default: Basalt's readers and writer on this machine)")
	pageCache := fs.Float64("page-cache-mib", 32, "page cache of one SQLite connection to data.db (Basalt's cache_size): RSS may grow by the pool's connections × min(this, data.db + WAL size)")
	fs.Float64Var(&b.p99Ratio, "max-p99-ratio", 2, "late p99 may be at most this many times the early p99 (plus -p99-slack)")
	fs.DurationVar(&b.p99Slack, "p99-slack", 5*time.Millisecond, "absolute p99 allowance on top of -max-p99-ratio, for sub-millisecond latencies on a shared machine")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	b.heapSlack, b.rssSlack, b.pageCache = *heapSlack*(1<<20), *rssSlack*(1<<20), *pageCache*(1<<20)
	if cfg.duration < cfg.interval || cfg.interval < time.Second || cfg.rate <= 0 || cfg.workers < 1 ||
		cfg.subscribers < 0 || cfg.users < 1 || cfg.records < 1 {
		return errors.New("want -duration ≥ -interval ≥ 1s, and positive -rate, -workers, -users and -records")
	}
	if b.warmup == 0 {
		b.warmup = max(cfg.interval, cfg.duration/10)
	}
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return fmt.Errorf("no basalt binary at %s (make build, or -basalt PATH)", bin)
	}
	cfg.bin = bin
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	work, err := os.MkdirTemp(cfg.workdir, "basalt-soak-")
	if err != nil {
		return err
	}
	s := &soak{cfg: cfg, work: work, out: stdout}
	err = s.run(ctx)
	if err != nil || cfg.keep {
		fmt.Fprintf(stderr, "soak: data directory and server log kept in %s\n", work)
	} else {
		os.RemoveAll(work)
	}
	return err
}
