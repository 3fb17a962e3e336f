package monitor

import (
	"math"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	tests := []struct {
		name    string
		q       float64
		buckets []Bucket
		want    float64
	}{
		{"no buckets", 0.5, nil, 0},
		{"no observations", 0.5, []Bucket{{0.1, 0}, {inf, 0}}, 0},
		{"all in the first bucket", 0.5, []Bucket{{0.1, 10}, {1, 10}, {inf, 10}}, 0.05},
		{"median in the second bucket", 0.5, []Bucket{{0.1, 2}, {1, 8}, {inf, 8}}, 0.1 + 0.9*(4-2)/6.0},
		{"p99 in +Inf reports the largest bound", 0.99, []Bucket{{0.1, 5}, {1, 5}, {inf, 10}}, 1},
		{"unsorted input", 0.5, []Bucket{{inf, 4}, {1, 4}, {0.5, 0}}, 0.75},
		{"q above 1 is the maximum", 2, []Bucket{{0.1, 1}, {1, 2}, {inf, 2}}, 1},
		{"q below 0 is the minimum", -1, []Bucket{{0.1, 1}, {1, 2}, {inf, 2}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Quantile(tc.q, tc.buckets); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

// fakeReadings returns readings from a list, one per call.
type fakeReadings struct {
	list []Reading
	i    int
}

func (f *fakeReadings) read() Reading {
	r := f.list[min(f.i, len(f.list)-1)]
	f.i++
	return r
}

func TestSampleRates(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	f := &fakeReadings{list: []Reading{
		{Requests: 100, Errors: 1, CPUSeconds: 2, Latency: []Bucket{{0.01, 50}, {0.1, 100}, {inf, 100}}},
		{Requests: 300, Errors: 21, CPUSeconds: 7, InFlight: 3, Realtime: 4, OutboxLag: 5, RSS: 6, Heap: 7,
			Latency: []Bucket{{0.01, 150}, {0.1, 298}, {inf, 300}}},
	}}
	m := New(f.read, 10*time.Second, time.Minute)
	start := time.Unix(1000, 0)
	m.Sample(start)
	if n := len(m.History().Points); n != 0 {
		t.Fatalf("the baseline made %d points, want 0", n)
	}
	m.Sample(start.Add(10 * time.Second))
	h := m.History()
	if len(h.Points) != 1 || h.Interval != 10 || h.Span != 60 {
		t.Fatalf("history = %+v", h)
	}
	p := h.Points[0]
	want := Point{Time: start.Add(10 * time.Second).UnixMilli(), RPS: 20, Errors: 2, ErrorRate: 0.1,
		InFlight: 3, Realtime: 4, OutboxLag: 5, RSS: 6, Heap: 7, CPU: 0.5}
	p50, p99 := p.P50, p.P99
	p.P50, p.P99 = 0, 0
	if p != want {
		t.Errorf("point = %+v\nwant    %+v", p, want)
	}
	// Of the 200 new requests, 100 took at most 10 ms: the median is 10 ms.
	if math.Abs(p50-10) > 1e-9 {
		t.Errorf("p50 = %v ms, want 10", p50)
	}
	// The 198th is in the (10 ms, 100 ms] bucket, near its top.
	if p99 <= 90 || p99 > 100 {
		t.Errorf("p99 = %v ms, want in (90, 100]", p99)
	}
}

func TestHistoryKeepsTheSpanOldestFirst(t *testing.T) {
	t.Parallel()
	n := 0.0
	m := New(func() Reading { n += 10; return Reading{Requests: n} }, time.Second, 3*time.Second)
	start := time.Unix(0, 0)
	for i := range 6 {
		m.Sample(start.Add(time.Duration(i) * time.Second))
	}
	pts := m.History().Points
	if len(pts) != 3 {
		t.Fatalf("got %d points, want 3", len(pts))
	}
	for i, p := range pts {
		if want := start.Add(time.Duration(i+3) * time.Second).UnixMilli(); p.Time != want {
			t.Errorf("point %d at %d, want %d", i, p.Time, want)
		}
		if p.RPS != 10 {
			t.Errorf("point %d rps = %v, want 10", i, p.RPS)
		}
	}
}

func TestCounterResetMakesNoPoint(t *testing.T) {
	t.Parallel()
	f := &fakeReadings{list: []Reading{{Requests: 50}, {Requests: 10}, {Requests: 20}}}
	m := New(f.read, time.Second, time.Minute)
	start := time.Unix(0, 0)
	for i := range 3 {
		m.Sample(start.Add(time.Duration(i) * time.Second))
	}
	pts := m.History().Points
	if len(pts) != 1 || pts[0].RPS != 10 {
		t.Fatalf("points = %+v, want one point of 10 rps after the reset", pts)
	}
}

func TestEmptyHistoryIsAList(t *testing.T) {
	t.Parallel()
	m := New(func() Reading { return Reading{} }, time.Second, 0)
	if h := m.History(); h.Points == nil || len(h.Points) != 0 {
		t.Errorf("history = %+v, want an empty list", h)
	}
}
