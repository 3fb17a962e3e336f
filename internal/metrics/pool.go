package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Pool is a snapshot of one database connection pool.
type Pool struct {
	Name             string
	InUse, Idle, Max int
	Waits            int64
	WaitTime         time.Duration
}

// Pools registers the database connection pool metrics, read from stats at
// each scrape.
func (m *Metrics) Pools(stats func() []Pool) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&poolCollector{stats: stats,
		conns: prometheus.NewDesc(Namespace+"_db_pool_connections",
			"Open database connections by pool and state (in_use, idle).", []string{"pool", "state"}, nil),
		max: prometheus.NewDesc(Namespace+"_db_pool_max_connections",
			"Maximum open connections of the pool (0: unbounded).", []string{"pool"}, nil),
		waits: prometheus.NewDesc(Namespace+"_db_pool_waits_total",
			"Connection acquisitions that had to wait.", []string{"pool"}, nil),
		waitTime: prometheus.NewDesc(Namespace+"_db_pool_wait_seconds_total",
			"Total time spent waiting for a connection.", []string{"pool"}, nil),
	})
}

type poolCollector struct {
	stats                       func() []Pool
	conns, max, waits, waitTime *prometheus.Desc
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.conns
	ch <- c.max
	ch <- c.waits
	ch <- c.waitTime
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.stats() {
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(p.InUse), p.Name, "in_use")
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(p.Idle), p.Name, "idle")
		ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(p.Max), p.Name)
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(p.Waits), p.Name)
		ch <- prometheus.MustNewConstMetric(c.waitTime, prometheus.CounterValue, p.WaitTime.Seconds(), p.Name)
	}
}
