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

// Writer is a snapshot of a database's single writer (SQLite): its
// commits, the callers they acknowledged, and the time it was held.
type Writer struct {
	Commits, Callers int64
	Busy             time.Duration
}

// Writer registers the single-writer metrics, read from stats at each
// scrape. Callers per commit is the mean size of the groups that share a
// transaction; busy seconds per second near 1 means writes queue for the
// writer.
func (m *Metrics) Writer(stats func() Writer) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&writerCollector{stats: stats,
		commits: prometheus.NewDesc(Namespace+"_db_write_commits_total",
			"Write transactions committed by the single writer.", nil, nil),
		callers: prometheus.NewDesc(Namespace+"_db_write_callers_total",
			"Writes acknowledged by those commits (several share one transaction under load).", nil, nil),
		busy: prometheus.NewDesc(Namespace+"_db_writer_busy_seconds_total",
			"Total time the single writer was held.", nil, nil),
	})
}

type writerCollector struct {
	stats                  func() Writer
	commits, callers, busy *prometheus.Desc
}

func (c *writerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.commits
	ch <- c.callers
	ch <- c.busy
}

func (c *writerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.commits, prometheus.CounterValue, float64(s.Commits))
	ch <- prometheus.MustNewConstMetric(c.callers, prometheus.CounterValue, float64(s.Callers))
	ch <- prometheus.MustNewConstMetric(c.busy, prometheus.CounterValue, s.Busy.Seconds())
}
