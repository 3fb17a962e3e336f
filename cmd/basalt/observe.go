package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/internal/logs"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/logdb"
	"github.com/basalt-dev/basalt/internal/store/timed"
	"github.com/basalt-dev/basalt/internal/tracing"
)

// observeOptions configure logging, metrics, proxies and shutdown draining
// of the serve command (docs/observability.md).
type observeOptions struct {
	logFormat, logLevel string
	// accessLog prints every request's access log line on the console;
	// without it only 5xx answers are printed (all are stored).
	accessLog bool
	// trustedProxy lists the CIDRs of proxies whose forwarding headers name
	// the client.
	trustedProxy string
	// metricsAddr serves /metrics on a listener of its own; metricsToken
	// serves it on the API listener behind a Bearer token.
	metricsAddr, metricsToken string
	// pprof adds Go's profiling endpoints (/debug/pprof/) to the metrics
	// listener.
	pprof bool
	// shutdownDrain is how long /readyz fails before the server stops
	// accepting requests, so that load balancers take it out of rotation.
	shutdownDrain time.Duration
	trace         traceOptions
}

// defaultShutdownDrain is the default of --shutdown-drain.
const defaultShutdownDrain = 5 * time.Second

// observeFlags registers the observability flags on fs, each defaulting to
// its BASALT_* environment variable.
func observeFlags(fs *flag.FlagSet, getenv func(string) string, o *observeOptions) error {
	fs.StringVar(&o.logFormat, "log-format", envOr(getenv, "BASALT_LOG_FORMAT", "text"), "console log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", envOr(getenv, "BASALT_LOG_LEVEL", "info"), "console log level: debug, info, warn or error")
	accessLog := false
	if v := getenv("BASALT_ACCESS_LOG"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("BASALT_ACCESS_LOG: %w", err)
		}
		accessLog = b
	}
	fs.BoolVar(&o.accessLog, "access-log", accessLog, "print every request's access log line on the console (default: only 5xx answers; all requests are stored in the log database)")
	fs.StringVar(&o.trustedProxy, "trusted-proxy", getenv("BASALT_TRUSTED_PROXY"), "CIDRs of reverse proxies whose X-Forwarded-For/X-Real-IP (or the trustedProxy settings' headers) name the client, comma-separated")
	fs.StringVar(&o.metricsAddr, "metrics-addr", getenv("BASALT_METRICS_ADDR"), "address of a separate listener serving /metrics (e.g. 127.0.0.1:9090)")
	fs.BoolVar(&o.pprof, "pprof", getenv("BASALT_PPROF") == "true", "serve Go's profiling endpoints (/debug/pprof/) on the --metrics-addr listener (env BASALT_PPROF=true)")
	fs.StringVar(&o.metricsToken, "metrics-token", getenv("BASALT_METRICS_TOKEN"), "serve /metrics on the API listener to requests bearing this token (Authorization: Bearer …)")
	drain := defaultShutdownDrain
	if v := getenv("BASALT_SHUTDOWN_DRAIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("BASALT_SHUTDOWN_DRAIN: %w", err)
		}
		drain = d
	}
	fs.DurationVar(&o.shutdownDrain, "shutdown-drain", drain, "how long /readyz fails before shutdown stops accepting requests (only once /readyz has been probed)")
	return traceFlags(fs, getenv, &o.trace)
}

// observability is the serve command's logger, log database, metrics and
// readiness.
type observability struct {
	logger *slog.Logger
	logs   *logs.Service
	// metrics are always kept (the admin dashboard's history reads them);
	// /metrics serves them only with --metrics-addr or --metrics-token.
	metrics *metrics.Metrics
	tracer  *tracing.Tracer // nil when tracing is off (tracing.go)
	proxies []netip.Prefix
	opts    observeOptions

	settings atomic.Pointer[settings.Service]
	store    atomic.Value // store.Store once open
	// draining makes /readyz fail; probed records that something watches
	// /readyz (no drain period is needed otherwise).
	draining, probed atomic.Bool

	logDB      *logdb.DB
	stopLog    func()
	metricsSrv *http.Server
}

// startObservability opens the log database in dir, starts its writer and
// builds the logger on stderr.
func startObservability(ctx context.Context, o observeOptions, dir string, stderr io.Writer) (*observability, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: want debug, info, warn or error, got %q", o.logLevel)
	}
	var console slog.Handler
	switch o.logFormat {
	case "text":
		console = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		console = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		return nil, fmt.Errorf("--log-format: want text or json, got %q", o.logFormat)
	}
	proxies, err := parsePrefixes(o.trustedProxy)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxy: %w", err)
	}
	ob := &observability{proxies: proxies, opts: o}
	ob.metrics = metrics.New()
	ob.logDB, err = logdb.Open(ctx, filepath.Join(dir, "auxiliary.db"))
	if err != nil {
		return nil, err
	}
	ob.logs = logs.New(ob.logDB, logs.Options{
		Settings: func() settings.Logs {
			if s := ob.settings.Load(); s != nil {
				return s.Current().Logs // read on every record: no copy
			}
			return settings.Defaults().Logs
		},
		// The writer's own failures go to the console only.
		Errors: slog.New(console),
	})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- ob.logs.Run(runCtx) }()
	ob.stopLog = func() { cancel(); <-done }
	if !o.accessLog {
		console = logs.QuietRequests(console)
	}
	ob.logger = slog.New(logs.NewHandler(console, ob.logs))
	ob.metrics.Counter("logs_dropped_total", "Log entries dropped because the log writer's queue was full.",
		func() float64 { return float64(ob.logs.Dropped()) })
	if err := ob.startTracing(ctx, o.trace); err != nil {
		ob.close()
		return nil, err
	}
	return ob, nil
}

// wrapStore times the store's operations for the query duration metric,
// reports its connection pools and single writer, and traces it when
// tracing is on.
func (ob *observability) wrapStore(st store.Store) store.Store {
	if ob.metrics == nil {
		return ob.traceStore(st, st)
	}
	if p, ok := st.(interface{ PoolStats() []store.PoolStats }); ok {
		ob.metrics.Pools(func() []metrics.Pool {
			var out []metrics.Pool
			for _, s := range p.PoolStats() {
				out = append(out, metrics.Pool{Name: s.Name, InUse: s.InUse, Idle: s.Idle, Max: s.Max, Waits: s.Waits, WaitTime: s.WaitTime})
			}
			return out
		})
	}
	if w, ok := st.(interface{ WriterStats() store.WriterStats }); ok {
		ob.metrics.Writer(func() metrics.Writer {
			s := w.WriterStats()
			return metrics.Writer{Commits: s.Commits, Callers: s.Callers, Busy: s.Busy}
		})
	}
	return ob.traceStore(st, timed.Wrap(st, ob.metrics))
}

// attach connects the opened services: the stored-log settings and the
// store that readiness pings.
func (ob *observability) attach(a *app) {
	ob.settings.Store(a.settings)
	ob.store.Store(a.store)
}

// ready reports whether the server should take traffic: not draining, and
// the database answers a query on a migrated system table (the stores apply
// their migrations before Open returns, so an open store is migrated).
func (ob *observability) ready(ctx context.Context) error {
	ob.probed.Store(true)
	if ob.draining.Load() {
		return errors.New("shutting down")
	}
	st, _ := ob.store.Load().(store.Store)
	if st == nil {
		return errors.New("starting")
	}
	// A query on a migrated system table (_params).
	if _, err := st.ConfigVersions(ctx); err != nil {
		return errors.New("database unavailable")
	}
	return nil
}

// serveMetrics starts the separate metrics listener when --metrics-addr is
// set.
func (ob *observability) serveMetrics() error {
	if ob.opts.metricsAddr == "" {
		if ob.opts.pprof {
			return errors.New("--pprof needs --metrics-addr: the profiling endpoints are served only there")
		}
		return nil
	}
	ln, err := net.Listen("tcp", ob.opts.metricsAddr)
	if err != nil {
		return fmt.Errorf("listening on %s (metrics): %w", ob.opts.metricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", ob.metrics.Handler())
	if ob.opts.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	ob.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go ob.metricsSrv.Serve(ln)
	ob.logger.Info("serving metrics", "addr", ln.Addr().String())
	return nil
}

// drain fails readiness and, when something probes /readyz, waits the drain
// period so that load balancers stop sending requests before the listener
// closes.
func (ob *observability) drain(ctx context.Context) {
	ob.draining.Store(true)
	if !ob.probed.Load() || ob.opts.shutdownDrain <= 0 {
		return
	}
	ob.logger.Info("shutting down: draining", "for", ob.opts.shutdownDrain.String())
	t := time.NewTimer(ob.opts.shutdownDrain)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// close stops the metrics listener, writes the queued log entries and
// closes the log database.
func (ob *observability) close() {
	ob.stopTracing()
	if ob.metricsSrv != nil {
		ob.metricsSrv.Close()
	}
	ob.stopLog()
	ob.logDB.Close()
}

// parsePrefixes parses comma-separated CIDRs; a bare IP is a single host.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR or IP address", s)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
