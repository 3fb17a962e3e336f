package metrics

import (
	"math"

	dto "github.com/prometheus/client_model/go"
)

// Reading is one gathering of the registry, for code that samples the
// metrics in process (the admin dashboard's history) instead of scraping
// them. A nil *Metrics gives an empty Reading.
type Reading struct {
	families map[string]*dto.MetricFamily
}

// Bucket is one cumulative histogram bucket.
type Bucket struct {
	Le    float64 // upper bound in the metric's unit; +Inf for the last
	Count float64
}

// Read gathers every metric once.
func (m *Metrics) Read() Reading {
	r := Reading{families: map[string]*dto.MetricFamily{}}
	if m == nil {
		return r
	}
	fams, _ := m.reg.Gather() // a failing collector leaves its metric out
	for _, f := range fams {
		r.families[f.GetName()] = f
	}
	return r
}

// Sum adds the values of every series of the counter or gauge name (the
// full name, with the namespace) whose labels include the given label
// pairs ("code_class", "5xx"); 0 when there is none.
func (r Reading) Sum(name string, labels ...string) float64 {
	f := r.families[name]
	if f == nil {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Untyped != nil:
			total += m.Untyped.GetValue()
		}
	}
	return total
}

// Buckets merges the cumulative buckets of every series of the histogram
// name; nil when there is none.
func (r Reading) Buckets(name string) []Bucket {
	f := r.families[name]
	if f == nil {
		return nil
	}
	sums := map[float64]float64{}
	var bounds []float64
	total := 0.0
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		total += float64(h.GetSampleCount())
		for _, b := range h.GetBucket() {
			le := b.GetUpperBound()
			if _, ok := sums[le]; !ok {
				bounds = append(bounds, le)
			}
			sums[le] += float64(b.GetCumulativeCount())
		}
	}
	if len(bounds) == 0 && total == 0 {
		return nil
	}
	out := make([]Bucket, 0, len(bounds)+1)
	for _, le := range bounds {
		if !math.IsInf(le, 1) {
			out = append(out, Bucket{Le: le, Count: sums[le]})
		}
	}
	return append(out, Bucket{Le: math.Inf(1), Count: total})
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
