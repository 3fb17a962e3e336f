package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// result is one measured load run.
type result struct {
	requests        int64
	duration        time.Duration
	p50, p99, max   time.Duration
	errors, non2xx  int64 // socket errors (connect, read, write, timeout); non-2xx/3xx answers
	cpuSeconds      float64
	rps             float64
	cpuPer1k        float64 // server CPU seconds per 1,000 requests
	skipped, failed string  // why the run did not happen, or went wrong
	note            string  // what else the report shows of the run
	// bare is the bare handler's req/s around the run (the mean of its runs
	// just before and after), which the run's ratio divides by.
	bare float64
}

// ratio is r's throughput divided by the bare handler's around it.
func (r *result) ratio() float64 {
	if r.bare == 0 {
		return 0
	}
	return r.rps / r.bare
}

// load is one wrk invocation.
type load struct {
	url    string // full URL; its path and query are the request's
	script string // scenario script file in the Lua directory
	args   []string
	// connections overrides the configured connection count when not 0.
	connections int
}

// script writes the scenario script followed by the reporting hook into dir
// and returns its path.
func (b *bench) script(dir, name string) (string, error) {
	scenario, err := os.ReadFile(filepath.Join(b.cfg.lua, name))
	if err != nil {
		return "", err
	}
	report, err := os.ReadFile(filepath.Join(b.cfg.lua, "report.lua"))
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "run-"+name)
	return path, os.WriteFile(path, append(append(scenario, '\n'), report...), 0o640)
}

// wrk runs one load for d against the server p and measures p's CPU time.
func (b *bench) wrk(ctx context.Context, l load, d time.Duration, p *process, scratch string) (*result, error) {
	script, err := b.script(scratch, l.script)
	if err != nil {
		return nil, err
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	conns, threads := b.cfg.connections, b.cfg.threads
	if l.connections > 0 {
		conns, threads = l.connections, min(threads, l.connections)
	}
	args := []string{
		"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs) + "s", "--timeout", "10s", "-s", script, l.url,
	}
	if len(l.args) > 0 {
		args = append(append(args, "--"), l.args...)
	}
	cpu0, err := p.cpuSeconds()
	if err != nil {
		return nil, fmt.Errorf("reading %s CPU time: %w", p.name, err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, b.cfg.wrk, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	cpu1, cpuErr := p.cpuSeconds()
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if cpuErr != nil {
		return nil, fmt.Errorf("reading %s CPU time: %w", p.name, cpuErr)
	}
	res, err := parseWrk(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	res.cpuSeconds = cpu1 - cpu0
	if res.requests > 0 {
		res.cpuPer1k = res.cpuSeconds / float64(res.requests) * 1000
	}
	return res, nil
}

// parseWrk reads the BENCH-RESULT line that report.lua prints.
func parseWrk(out string) (*result, error) {
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "BENCH-RESULT ")
		if !ok {
			continue
		}
		kv := map[string]int64{}
		for _, f := range strings.Fields(rest) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("malformed result field %q", f)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("malformed result field %q", f)
			}
			kv[k] = n
		}
		for _, k := range []string{"requests", "duration_us", "p50_us", "p99_us"} {
			if _, ok := kv[k]; !ok {
				return nil, fmt.Errorf("result without %s", k)
			}
		}
		us := func(k string) time.Duration { return time.Duration(kv[k]) * time.Microsecond }
		r := &result{
			requests: kv["requests"], duration: us("duration_us"),
			p50: us("p50_us"), p99: us("p99_us"), max: us("max_us"),
			errors: kv["err_connect"] + kv["err_read"] + kv["err_write"] + kv["err_timeout"],
			non2xx: kv["err_status"],
		}
		if r.duration > 0 {
			r.rps = float64(r.requests) / r.duration.Seconds()
		}
		return r, nil
	}
	return nil, errors.New("no BENCH-RESULT line in wrk output")
}
