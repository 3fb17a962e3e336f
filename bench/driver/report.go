package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// bareRPS is the bare handler's throughput: the median of its runs (the
// mean of the middle two for an even count).
func (o *outcome) bareRPS() float64 {
	rates := make([]float64, len(o.bare))
	for i, r := range o.bare {
		rates[i] = r.rps
	}
	slices.Sort(rates)
	n := len(rates)
	if n%2 == 1 {
		return rates[n/2]
	}
	return (rates[n/2-1] + rates[n/2]) / 2
}

// median returns the run with the median ratio to the bare handler, or
// with the median throughput when the runs have no ratio (the bare
// handler's own); the lower middle one for an even count. Runs that failed
// or were skipped count as zero.
func median(runs []*result) *result {
	if len(runs) == 0 {
		return nil
	}
	key := (*result).ratio
	for _, r := range runs {
		if r.bare == 0 && r.rps > 0 {
			key = func(r *result) float64 { return r.rps }
			break
		}
	}
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b *result) int { return cmp.Compare(key(a), key(b)) })
	return sorted[(len(sorted)-1)/2]
}

// report prints the results: one table per binary, then, with several
// binaries, their ratios to the bare handler side by side.
func (b *bench) report(w io.Writer, o *outcome) {
	cfg := b.cfg
	fmt.Fprintf(w, "\nBasalt load benchmark: wrk -t%d -c%d, %s per scenario after a %s warm-up, %d posts, %d CPUs shared by wrk and the server\n",
		cfg.threads, cfg.connections, cfg.duration, cfg.warmup, cfg.records, cpus())
	runs := make([]string, len(o.bare))
	for i, r := range o.bare {
		runs[i] = fmt.Sprintf("%.0f", r.rps)
	}
	bare := o.bareRPS()
	fmt.Fprintf(w, "bare net/http handler: %.0f req/s (median of its runs: %s), body %d bytes like a view\n",
		bare, strings.Join(runs, ", "), o.bodyBytes)
	fmt.Fprintln(w, "× bare: a run's req/s divided by the bare handler's, measured just before and just after the scenario (their mean)")
	if cfg.rounds > 1 {
		fmt.Fprintf(w, "every scenario ran %d times: each row is the run with the median ratio to the bare handler\n", cfg.rounds)
	}

	for _, in := range o.instances {
		fmt.Fprintf(w, "\n%s (%s): idle RSS after start %.1f MiB, RSS after the run %.1f MiB\n",
			in.label, in.bin, in.idleRSS, o.finalRSS[in.label])
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		// The last column is not tab-terminated, so a long note does not
		// widen the table.
		fmt.Fprintln(tw, "scenario\treq/s\tp50 ms\tp99 ms\tCPU s/1k req\t× bare\tnote")
		row := func(name string, r *result, rps, ratioToBare float64) {
			if r.skipped != "" {
				fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%s\n", name, r.skipped)
				return
			}
			if r.requests == 0 {
				fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tFAILED: %s\n", name, r.failed)
				return
			}
			note := r.note
			if r.failed != "" {
				note = strings.TrimPrefix(note+"; FAILED: "+r.failed, "; ")
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.4f\t%s\t%s\n",
				name, rps, ms(r.p50), ms(r.p99), r.cpuPer1k, ratio(ratioToBare), note)
		}
		// The bare row shows the rate the ratios divide by; its latency
		// and CPU are those of its median run.
		row("bare", median(o.bare), bare, 1)
		for _, s := range scenarios {
			if r := median(o.results[in.label][s.name]); r != nil {
				row(s.name, r, r.rps, r.ratio())
			}
		}
		tw.Flush()
		if v, g := median(o.results[in.label]["view"]), median(o.results[in.label]["grpc-get"]); v != nil && g != nil && v.rps > 0 && g.rps > 0 {
			fmt.Fprintf(w, "grpc-get ÷ view: req/s ×%.2f, server CPU per request ×%.2f\n", g.rps/v.rps, g.cpuPer1k/v.cpuPer1k)
		}
	}

	if len(o.instances) < 2 {
		return
	}
	base := o.instances[0].label
	fmt.Fprintf(w, "\nSide by side: ratio to the bare handler (req/s ÷ the bare handler's around the scenario) and server CPU ms per request; change against %s\n", base)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"scenario"}
	for _, in := range o.instances {
		header = append(header, in.label+" × bare")
	}
	for _, in := range o.instances[1:] {
		header = append(header, in.label+" vs "+base+" req/s")
	}
	for _, in := range o.instances {
		header = append(header, in.label+" CPU ms/req")
	}
	for _, in := range o.instances[1:] {
		header = append(header, in.label+" vs "+base+" CPU")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	change := func(x, x0 float64) string {
		if x == 0 || x0 == 0 {
			return "-"
		}
		return fmt.Sprintf("%+.0f%%", (x/x0-1)*100)
	}
	for _, s := range scenarios {
		runs := make([]*result, len(o.instances))
		for i, in := range o.instances {
			runs[i] = median(o.results[in.label][s.name])
		}
		if slices.Contains(runs, nil) || runs[0].skipped != "" {
			continue
		}
		cells := []string{s.name}
		for _, r := range runs {
			cells = append(cells, ratio(r.ratio()))
		}
		for _, r := range runs[1:] {
			cells = append(cells, change(r.rps, runs[0].rps))
		}
		for _, r := range runs {
			cells = append(cells, fmt.Sprintf("%.3f", r.cpuPer1k))
		}
		for _, r := range runs[1:] {
			cells = append(cells, change(r.cpuPer1k, runs[0].cpuPer1k))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
}

// ratio formats a ratio to the bare handler with three significant digits.
func ratio(x float64) string {
	if x >= 0.1 {
		return fmt.Sprintf("%.3f", x)
	}
	return fmt.Sprintf("%.3g", x)
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}
