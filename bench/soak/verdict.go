package main

import (
	"fmt"
	"slices"
	"time"
)

// window is what one sampling interval saw.
type window struct {
	end      time.Duration // since the traffic began
	requests int           // sign-ins included
	errors   int
	// p50 and p99 of the requests other than sign-ins, whose password
	// check is slow by design; signin is the median sign-in, 0 when the
	// window had none.
	p50, p99 time.Duration
	signin   time.Duration
	events   int // realtime events the subscribers read
	// cpuPerReq is the server's CPU time per request in the window, and
	// load the machine's 1-minute load average at its end: context for
	// reading latencies on a shared machine, not judged.
	cpuPerReq time.Duration
	load      float64
	// others is the CPU, in cores, that processes other than the server
	// and this tool used during the window; waitPerReq is how long the
	// server's threads waited, runnable, for a CPU per request: the
	// contention that slows the server down without its fault.
	others     float64
	waitPerReq time.Duration
	// The server's /metrics at the end of the window.
	goroutines float64
	heapInuse  float64 // go_memstats_heap_inuse_bytes
	heapGoal   float64 // go_memstats_next_gc_bytes as at GOGC=100: twice the live heap at the last GC
	rss        float64 // process_resident_memory_bytes
	// dbBytes is the size of data.db and its WAL, cacheConns the SQLite
	// connections that may cache its pages (basalt_db_pool_max_connections).
	dbBytes    float64
	cacheConns float64
}

// bounds are the limits a soak is judged by.
type bounds struct {
	warmup time.Duration // windows ending before this are not compared
	// goroutines: the late windows' median may exceed the early ones' by
	// at most this many.
	goroutines float64
	// heap goal and RSS: late ≤ early × (1 + ratio) + slack bytes; RSS
	// also gets the page caches' allowance below.
	heapRatio, heapSlack float64
	rssRatio, rssSlack   float64
	// pageCache is the most a SQLite connection caches of data.db (Basalt
	// sets cache_size to 32 MiB). The caches fill as the database grows,
	// which is not a leak: RSS may grow by cacheConns × min(pageCache,
	// dbBytes) of the late windows.
	pageCache float64
	// p99, and the sign-ins' median: late ≤ early × ratio + slack. A
	// broken latency bound is reported as inconclusive instead of failing
	// when the machine, not the server, changed: the server's wait for a
	// CPU per request grew by at least a quarter (and 0.5 ms) while its CPU
	// time per request grew by less than half. On a saturated shared machine a modest rise of the mean
	// wait multiplies the tail; a server that got slower by its own fault
	// needs more CPU per request, or is slow without waiting for a CPU.
	p99Ratio float64
	p99Slack time.Duration
}

// figure is how check judges a figure.
type figure int

const (
	growth figure = iota // a size (goroutines, memory): by medians, whatever the machine does
	median               // a latency: by medians, inconclusive on a contended machine
	tail                 // a tail latency: the best late window, inconclusive on a contended machine
)

// judgement is the outcome of a soak.
type judgement struct {
	early, late []window // the windows compared
	failures    []string
	notes       []string // the comparisons, failed or not
	// inconclusive holds the bounds that were broken while the machine,
	// not the server, changed (see bounds.p99Ratio).
	inconclusive []string
}

// judge compares the first windows after the warm-up ("early") with the last
// ones ("late"): up to three each, by their medians, so that one noisy window
// (another process taking the CPU for a moment) does not decide. For p99 the
// late value is the best of the late windows: a server that really slows down
// is slow in every window, while a neighbour's burst of CPU use slows only
// some. errors are all the run's errors, in and out of the windows.
func judge(ws []window, errors int, b bounds) judgement {
	var j judgement
	if errors > 0 {
		j.failures = append(j.failures, fmt.Sprintf("errors: %d requests failed (want 0)", errors))
	}
	var after []window
	for _, w := range ws {
		if w.end > b.warmup {
			after = append(after, w)
		}
	}
	if len(after) < 2 {
		j.failures = append(j.failures, fmt.Sprintf("only %d windows after the %s warm-up: too short to judge growth (want at least 2)", len(after), b.warmup))
		return j
	}
	n := min(3, len(after)/2)
	j.early, j.late = after[:n], after[len(after)-n:]
	for _, w := range after {
		if w.requests == 0 {
			j.failures = append(j.failures, fmt.Sprintf("window ending at %s served no request", w.end))
		}
	}

	med := func(ws []window, f func(window) float64) float64 {
		v := make([]float64, len(ws))
		for i, w := range ws {
			v[i] = f(w)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	best := func(ws []window, f func(window) float64) float64 {
		v := f(ws[0])
		for _, w := range ws[1:] {
			v = min(v, f(w))
		}
		return v
	}
	waitEarly := med(j.early, func(w window) float64 { return float64(w.waitPerReq) })
	waitLate := med(j.late, func(w window) float64 { return float64(w.waitPerReq) })
	cpuEarly := med(j.early, func(w window) float64 { return float64(w.cpuPerReq) })
	cpuLate := med(j.late, func(w window) float64 { return float64(w.cpuPerReq) })
	contended := waitLate > waitEarly*1.25 && waitLate-waitEarly > float64(500*time.Microsecond) && cpuLate < cpuEarly*1.5
	// check judges one figure of the early windows e against the late ones
	// l: growth figures by their medians; latencies (tail or not) may be
	// inconclusive on a contended machine, and a tail is judged by its best
	// late window.
	check := func(name string, kind figure, e, l []window, f func(window) float64, limit func(early float64) float64, unit func(float64) string) {
		ev, lv := med(e, f), med(l, f)
		if kind == tail {
			lv = best(l, f)
		}
		lim := limit(ev)
		note := fmt.Sprintf("%s: early %s, late %s, bound %s", name, unit(ev), unit(lv), unit(lim))
		switch {
		case lv <= lim:
		case kind != growth && contended:
			note += fmt.Sprintf("  EXCEEDED while the server waited %s for a CPU per request late against %s early, at %s of CPU per request against %s: inconclusive",
				time.Duration(waitLate).Round(time.Microsecond), time.Duration(waitEarly).Round(time.Microsecond),
				time.Duration(cpuLate).Round(time.Microsecond), time.Duration(cpuEarly).Round(time.Microsecond))
			j.inconclusive = append(j.inconclusive, note)
		default:
			j.failures = append(j.failures, note)
			note += "  EXCEEDED"
		}
		j.notes = append(j.notes, note)
	}
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	mib := func(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) }
	ms := func(v float64) string { return fmt.Sprintf("%.2f ms", v/float64(time.Millisecond)) }
	check("goroutines", growth, j.early, j.late, func(w window) float64 { return w.goroutines },
		func(e float64) float64 { return e + b.goroutines }, count)
	check("heap goal (2 × live heap)", growth, j.early, j.late, func(w window) float64 { return w.heapGoal },
		func(e float64) float64 { return e*(1+b.heapRatio) + b.heapSlack }, mib)
	cache := med(j.late, func(w window) float64 { return w.cacheConns }) *
		min(b.pageCache, med(j.late, func(w window) float64 { return w.dbBytes }))
	check(fmt.Sprintf("RSS (page cache allowance %.1f MiB)", cache/(1<<20)), growth, j.early, j.late, func(w window) float64 { return w.rss },
		func(e float64) float64 { return e*(1+b.rssRatio) + b.rssSlack + cache }, mib)
	latency := func(e float64) float64 { return e*b.p99Ratio + float64(b.p99Slack) }
	check("p99 (late: best late window)", tail, j.early, j.late, func(w window) float64 { return float64(w.p99) }, latency, ms)
	// A window may hold no sign-in (they are about 1% of the traffic).
	signedIn := func(ws []window) []window {
		return slices.DeleteFunc(slices.Clone(ws), func(w window) bool { return w.signin == 0 })
	}
	if e, l := signedIn(j.early), signedIn(j.late); len(e) > 0 && len(l) > 0 {
		check("sign-in median", median, e, l, func(w window) float64 { return float64(w.signin) }, latency, ms)
	} else {
		j.notes = append(j.notes, "sign-in median: no sign-in in the early or the late windows, not judged")
	}
	return j
}
