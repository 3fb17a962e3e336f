// Package monitor keeps a short history of the process's vital signs for
// the admin dashboard: every interval it takes a Reading of cumulative
// counters and current gauges, turns it into a Point of rates, latency
// percentiles and levels, and keeps the last hour in a ring buffer.
//
// The history is per process (per replica). monitor imports no Basalt
// package: cmd/basalt supplies the reading function.
package monitor

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"
)

// Bucket is one cumulative histogram bucket: Count observations took at
// most Le seconds (Le may be +Inf).
type Bucket struct {
	Le    float64
	Count float64
}

// Reading is what the process reports at one instant. Requests, Errors,
// CPUSeconds and the Latency buckets are cumulative since start; the rest
// are current levels.
type Reading struct {
	Requests   float64 // requests answered
	Errors     float64 // of them answered 5xx
	Latency    []Bucket
	InFlight   float64
	Realtime   float64 // realtime clients connected
	OutboxLag  float64 // committed events not yet dispatched
	RSS        float64 // resident memory, bytes
	Heap       float64 // Go heap in use, bytes
	CPUSeconds float64
}

// Point is one sample of the history.
type Point struct {
	Time      int64   `json:"t"`         // Unix milliseconds
	RPS       float64 `json:"rps"`       // requests per second over the interval
	Errors    float64 `json:"errors"`    // 5xx answers per second
	ErrorRate float64 `json:"errorRate"` // share of 5xx answers, 0..1
	P50       float64 `json:"p50"`       // median latency, milliseconds
	P99       float64 `json:"p99"`       // 99th percentile latency, milliseconds
	InFlight  float64 `json:"inFlight"`
	Realtime  float64 `json:"realtime"`
	OutboxLag float64 `json:"outboxLag"`
	RSS       float64 `json:"rss"`  // bytes
	Heap      float64 `json:"heap"` // bytes
	CPU       float64 `json:"cpu"`  // cores busy over the interval (1 = one full core)
}

// History is the answer of the monitoring endpoint.
type History struct {
	Interval float64 `json:"interval"` // seconds between points
	Span     float64 `json:"span"`     // seconds kept
	Points   []Point `json:"points"`   // oldest first
}

// Monitor samples a reading function and keeps the recent points.
type Monitor struct {
	read     func() Reading
	interval time.Duration
	size     int

	mu     sync.Mutex
	points []Point // ring buffer
	next   int     // index of the next write
	full   bool
	prev   Reading
	prevAt time.Time
}

// New returns a monitor that samples read every interval and keeps span
// worth of points (at least one).
func New(read func() Reading, interval, span time.Duration) *Monitor {
	n := int(span / interval)
	if n < 1 {
		n = 1
	}
	return &Monitor{read: read, interval: interval, size: n, points: make([]Point, n)}
}

// Run samples until ctx ends. The first reading only sets the baseline.
func (m *Monitor) Run(ctx context.Context) {
	m.Sample(time.Now())
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.Sample(now)
		}
	}
}

// Sample takes a reading at now and records the point it makes with the
// previous one. The first call only records the baseline.
func (m *Monitor) Sample(now time.Time) {
	r := m.read()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.prevAt.IsZero() {
		if p, ok := point(m.prev, r, now.Sub(m.prevAt)); ok {
			p.Time = now.UnixMilli()
			m.points[m.next] = p
			m.next = (m.next + 1) % m.size
			if m.next == 0 {
				m.full = true
			}
		}
	}
	m.prev, m.prevAt = r, now
}

// History returns the recorded points, oldest first.
func (m *Monitor) History() History {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := History{Interval: m.interval.Seconds(), Span: (time.Duration(m.size) * m.interval).Seconds()}
	if m.full {
		h.Points = append(h.Points, m.points[m.next:]...)
	}
	h.Points = append(h.Points, m.points[:m.next]...)
	if h.Points == nil {
		h.Points = []Point{}
	}
	return h
}

// point turns two readings d apart into rates and levels. A counter that
// went back (a reset) gives no point.
func point(prev, cur Reading, d time.Duration) (Point, bool) {
	secs := d.Seconds()
	if secs <= 0 || cur.Requests < prev.Requests || cur.Errors < prev.Errors || cur.CPUSeconds < prev.CPUSeconds {
		return Point{}, false
	}
	reqs := cur.Requests - prev.Requests
	errs := cur.Errors - prev.Errors
	p := Point{
		RPS: reqs / secs, Errors: errs / secs,
		InFlight: cur.InFlight, Realtime: cur.Realtime, OutboxLag: cur.OutboxLag,
		RSS: cur.RSS, Heap: cur.Heap, CPU: (cur.CPUSeconds - prev.CPUSeconds) / secs,
	}
	if reqs > 0 {
		p.ErrorRate = errs / reqs
	}
	delta := diff(prev.Latency, cur.Latency)
	p.P50 = Quantile(0.5, delta) * 1000
	p.P99 = Quantile(0.99, delta) * 1000
	return p, true
}

// diff returns the observations of cur not yet in prev, bucket by bucket.
// Buckets are matched by bound; a bucket missing from prev counts whole.
func diff(prev, cur []Bucket) []Bucket {
	before := make(map[float64]float64, len(prev))
	for _, b := range prev {
		before[b.Le] = b.Count
	}
	out := make([]Bucket, len(cur))
	for i, b := range cur {
		out[i] = Bucket{Le: b.Le, Count: max(b.Count-before[b.Le], 0)}
	}
	return out
}

// Quantile estimates the q-quantile (0..1) of cumulative buckets by linear
// interpolation inside the bucket that holds it, as Prometheus's
// histogram_quantile does. It returns 0 without observations; a quantile
// in the +Inf bucket is reported as the largest finite bound.
func Quantile(q float64, buckets []Bucket) float64 {
	if len(buckets) == 0 || math.IsNaN(q) {
		return 0
	}
	b := append([]Bucket(nil), buckets...)
	sort.Slice(b, func(i, j int) bool { return b[i].Le < b[j].Le })
	total := b[len(b)-1].Count
	if total <= 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * total
	lower, below := 0.0, 0.0
	for _, bk := range b {
		if bk.Count >= rank && bk.Count > below {
			if math.IsInf(bk.Le, 1) {
				return lower
			}
			return lower + (bk.Le-lower)*(rank-below)/(bk.Count-below)
		}
		if !math.IsInf(bk.Le, 1) {
			lower = bk.Le
		}
		below = bk.Count
	}
	return lower
}
