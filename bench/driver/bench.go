package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// bench is one run of the benchmark.
type bench struct {
	cfg *config
	log io.Writer // progress
}

// outcome is everything a run measured.
type outcome struct {
	bare      []*result // before the first scenario and after each
	bodyBytes int
	instances []*instance
	results   map[string]map[string][]*result // by target label, then scenario; one per round
	finalRSS  map[string]float64
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) run(ctx context.Context, stdout io.Writer) error {
	root, err := os.MkdirTemp("", "basalt-bench-")
	if err != nil {
		return err
	}
	if b.cfg.keep {
		b.progress("keeping data directories and logs in %s", root)
	} else {
		defer os.RemoveAll(root)
	}
	out := &outcome{results: map[string]map[string][]*result{}, finalRSS: map[string]float64{}}

	// Every server runs for the whole benchmark, so that the scenarios of
	// different binaries interleave and share the machine's conditions.
	for _, t := range b.cfg.targets {
		in, err := launch(ctx, t, root)
		if err != nil {
			return err
		}
		defer in.proc.stop()
		start := time.Now()
		articles := b.cfg.scenarios == nil || b.cfg.scenarios["rest-expand"] || b.cfg.scenarios["graphql-list"]
		if err := in.seed(ctx, b.cfg.records, articles); err != nil {
			return fmt.Errorf("%s: %w (log: %s)", t.label, err, in.proc.log)
		}
		seeded := time.Since(start)
		// Background work after the seeding (the change events of 10,000
		// creates) must not run into the first measurement.
		if err := settle(ctx, in.proc); err != nil {
			return err
		}
		b.progress("%s: started (pid %d, idle RSS %.1f MiB), seeded %d posts in %s, idle after %s",
			t.label, in.proc.cmd.Process.Pid, in.idleRSS, len(in.ids), seeded.Round(time.Millisecond),
			time.Since(start).Round(time.Millisecond))
		out.instances = append(out.instances, in)
		out.results[t.label] = map[string][]*result{}
	}

	body, err := out.instances[0].viewBody(ctx)
	if err != nil {
		return err
	}
	out.bodyBytes = len(body)
	bodyFile := filepath.Join(root, "view.json")
	if err := os.WriteFile(bodyFile, body, 0o640); err != nil {
		return err
	}
	bareAddr, err := freeAddr()
	if err != nil {
		return err
	}
	bare, err := start(ctx, "bare", b.cfg.bare, []string{"-http", bareAddr, "-body", bodyFile},
		bareAddr, filepath.Join(root, "bare.log"), "http://"+bareAddr+"/")
	if err != nil {
		return err
	}
	defer bare.stop()
	bareLoad := load{url: "http://" + bareAddr + "/", script: "get.lua"}

	measureBare := func() (float64, error) {
		r, err := b.measure(ctx, bareLoad, bare, root)
		if err != nil {
			return 0, fmt.Errorf("bare: %w", err)
		}
		b.progress("bare: %.0f req/s", r.rps)
		out.bare = append(out.bare, r)
		return r.rps, nil
	}
	// The bare handler runs before and after every scenario, and each run
	// of the scenario is divided by the mean of the two: the speed of a
	// shared machine drifts within minutes, and a reference measured at
	// the start of a round alone made later scenarios' ratios drift with it.
	before, err := measureBare()
	if err != nil {
		return err
	}
	for round := range b.cfg.rounds {
		for _, s := range scenarios {
			if b.cfg.scenarios != nil && !b.cfg.scenarios[s.name] {
				continue
			}
			var block []*result
			for _, in := range out.instances {
				if round > 0 && len(out.results[in.label][s.name]) > 0 && out.results[in.label][s.name][0].skipped != "" {
					continue
				}
				r, err := b.scenario(ctx, s, in, root)
				if err != nil {
					return fmt.Errorf("%s %s: %w (log: %s)", in.label, s.name, err, in.proc.log)
				}
				out.results[in.label][s.name] = append(out.results[in.label][s.name], r)
				switch {
				case r.skipped != "":
					b.progress("%s %s: skipped (%s)", in.label, s.name, r.skipped)
					continue
				case r.failed != "":
					b.progress("%s %s: FAILED (%s)", in.label, s.name, r.failed)
				default:
					b.progress("%s %s: %.0f req/s", in.label, s.name, r.rps)
				}
				block = append(block, r)
			}
			if len(block) == 0 {
				continue
			}
			after, err := measureBare()
			if err != nil {
				return err
			}
			for _, r := range block {
				r.bare = (before + after) / 2
			}
			before = after
		}
	}
	for _, in := range out.instances {
		out.finalRSS[in.label], _ = in.proc.rssMiB()
	}
	b.report(stdout, out)
	return nil
}

// scenario runs s against in.
func (b *bench) scenario(ctx context.Context, s scenario, in *instance, scratch string) (*result, error) {
	if s.custom != nil {
		r, err := s.custom(ctx, b, in)
		if errors.Is(err, errNotMeasured) {
			return &result{skipped: err.Error()}, nil
		}
		return r, err
	}
	return b.measure(ctx, s.load(in), in.proc, scratch)
}

// measure warms the server up with l, then measures it. A warm-up with
// errors or non-2xx answers marks the result failed without measuring (a
// warm-up may end before a slow request, such as a login, completes).
func (b *bench) measure(ctx context.Context, l load, p *process, scratch string) (*result, error) {
	if b.cfg.warmup > 0 {
		w, err := b.wrk(ctx, l, b.cfg.warmup, p, scratch)
		if err != nil {
			return nil, err
		}
		if w.errors > 0 || w.non2xx > 0 {
			return &result{failed: fmt.Sprintf("warm-up: %d requests, %d socket errors, %d non-2xx answers",
				w.requests, w.errors, w.non2xx)}, nil
		}
	}
	r, err := b.wrk(ctx, l, b.cfg.duration, p, scratch)
	if err != nil {
		return nil, err
	}
	if r.errors > 0 || r.non2xx > 0 {
		r.failed = fmt.Sprintf("%d socket errors, %d non-2xx answers", r.errors, r.non2xx)
	}
	return r, nil
}

// cpus is how many CPUs the load generator and the servers share.
func cpus() int { return runtime.NumCPU() }

// settle waits until p has used less than 2% of a CPU over half a second,
// for at most 60 seconds.
func settle(ctx context.Context, p *process) error {
	const window = 500 * time.Millisecond
	deadline := time.Now().Add(60 * time.Second)
	prev, err := p.cpuSeconds()
	if err != nil {
		return err
	}
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(window):
		}
		now, err := p.cpuSeconds()
		if err != nil {
			return err
		}
		if now-prev < 0.02*window.Seconds() {
			return nil
		}
		prev = now
	}
	return nil
}
