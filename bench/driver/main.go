// Command driver runs Basalt's load benchmark (started by bench/run): it
// starts each Basalt binary it is given on a fresh data directory on
// loopback, seeds a posts collection, drives the scenarios with wrk and
// prints, per scenario, throughput, latency, server CPU per request and the
// ratio to a bare net/http handler measured in the same run.
//
// It imports no Basalt package: it talks to the servers over HTTP only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config holds the knobs of a run; every one has a BENCH_* variable.
type config struct {
	duration    time.Duration // per scenario
	warmup      time.Duration // per scenario, not measured
	connections int
	threads     int
	subscribers int // realtime subscribers of the realtime scenario
	records     int
	rounds      int             // the scenarios run this many times; the median run is reported
	scenarios   map[string]bool // nil: all
	bare        string          // bare handler binary
	lua         string          // directory of the wrk scripts
	wrk         string
	keep        bool // keep data directories and logs
	targets     []target
}

// target is one Basalt binary under test.
type target struct {
	label, bin string
	serveArgs  []string // more arguments of `basalt serve` (BENCH_SERVE_ARGS)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("driver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &config{}
	var err error
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	durations := map[string]*time.Duration{"BENCH_DURATION": &cfg.duration, "BENCH_WARMUP": &cfg.warmup}
	defaults := map[string]string{"BENCH_DURATION": "10s", "BENCH_WARMUP": "2s"}
	for key, dst := range durations {
		if *dst, err = time.ParseDuration(env(key, defaults[key])); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	ints := []struct {
		key string
		def int
		dst *int
	}{{"BENCH_CONNECTIONS", 32, &cfg.connections}, {"BENCH_THREADS", 2, &cfg.threads}, {"BENCH_RECORDS", 10000, &cfg.records}, {"BENCH_ROUNDS", 1, &cfg.rounds}, {"BENCH_SUBSCRIBERS", 50, &cfg.subscribers}}
	for _, v := range ints {
		n, err := strconv.Atoi(env(v.key, strconv.Itoa(v.def)))
		if err != nil || n <= 0 {
			return fmt.Errorf("%s: want a positive integer, got %q", v.key, getenv(v.key))
		}
		*v.dst = n
	}
	if cfg.threads > cfg.connections {
		cfg.threads = cfg.connections
	}
	if s := getenv("BENCH_SCENARIOS"); s != "" {
		cfg.scenarios = map[string]bool{}
		for _, name := range strings.Split(s, ",") {
			cfg.scenarios[strings.TrimSpace(name)] = true
		}
	}
	cfg.keep = getenv("BENCH_KEEP") != ""
	cfg.wrk = env("BENCH_WRK", "wrk")
	fs.StringVar(&cfg.bare, "bare", "", "bare net/http handler binary")
	fs.StringVar(&cfg.lua, "lua", "bench/lua", "directory of the wrk Lua scripts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.bare == "" {
		return errors.New("missing -bare")
	}
	for _, arg := range fs.Args() {
		label, bin, ok := strings.Cut(arg, "=")
		if !ok || label == "" || bin == "" {
			return fmt.Errorf("want LABEL=BINARY, got %q", arg)
		}
		cfg.targets = append(cfg.targets, target{label: label, bin: bin, serveArgs: strings.Fields(getenv("BENCH_SERVE_ARGS"))})
	}
	if len(cfg.targets) == 0 {
		return errors.New("no Basalt binary to measure (LABEL=BINARY arguments)")
	}
	for _, name := range namesOf(cfg.scenarios) {
		if !knownScenario(name) {
			return fmt.Errorf("BENCH_SCENARIOS: unknown scenario %q (known: %s)", name, strings.Join(scenarioNames(), ","))
		}
	}
	b := &bench{cfg: cfg, log: stderr}
	return b.run(ctx, stdout)
}

func namesOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
