package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/api/httplimit"
	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/deadline"
)

// limitOptions are the serve command's limits and protections
// (docs/limits.md): timeouts, body size, the concurrency cap, the query
// time limit, CORS origins and TLS.
type limitOptions struct {
	// readHeaderTimeout bounds reading a request's headers (slow clients
	// that never finish them); idleTimeout closes kept-alive connections
	// that carry no request.
	readHeaderTimeout, idleTimeout time.Duration
	// readTimeout bounds reading a request's body and writeTimeout writing
	// its answer, both from the moment the request is handled; realtime
	// streams have neither.
	readTimeout, writeTimeout time.Duration
	// maxBody bounds bodies without file uploads, in bytes.
	maxBody int64
	// maxConcurrent caps the requests served at once (0: no cap); over it a
	// request waits up to queueWait, then gets 503.
	maxConcurrent int
	queueWait     time.Duration
	// queryTimeout limits each record query and each transaction (0: none).
	queryTimeout time.Duration
	// corsOrigins are the origins that may read answers; "*" or none: any.
	corsOrigins []string
	// tlsCert and tlsKey are PEM files: when set, serve HTTPS.
	tlsCert, tlsKey string
}

// Defaults of the limit flags. The body limit is PocketBase's (record
// writes add room for their collection's file fields).
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 5 * time.Minute
	defaultWriteTimeout      = 5 * time.Minute
	defaultIdleTimeout       = 120 * time.Second
	defaultMaxConcurrent     = 1024
	defaultQueueWait         = 500 * time.Millisecond
	defaultQueryTimeout      = 30 * time.Second
)

// limitFlags registers the limit flags on fs, each defaulting to its
// BASALT_* environment variable.
func limitFlags(fs *flag.FlagSet, getenv func(string) string, o *limitOptions) error {
	durations := []struct {
		name, env string
		def       time.Duration
		p         *time.Duration
		usage     string
	}{
		{"read-header-timeout", "BASALT_READ_HEADER_TIMEOUT", defaultReadHeaderTimeout, &o.readHeaderTimeout, "time allowed to read a request's headers"},
		{"read-timeout", "BASALT_READ_TIMEOUT", defaultReadTimeout, &o.readTimeout, "time allowed to read a request's body (raise it for large uploads over slow links; 0: none)"},
		{"write-timeout", "BASALT_WRITE_TIMEOUT", defaultWriteTimeout, &o.writeTimeout, "time allowed to write an answer, realtime streams excepted (0: none)"},
		{"idle-timeout", "BASALT_IDLE_TIMEOUT", defaultIdleTimeout, &o.idleTimeout, "how long a kept-alive connection may wait for its next request"},
		{"queue-wait", "BASALT_QUEUE_WAIT", defaultQueueWait, &o.queueWait, "how long a request over --max-concurrent-requests waits for a slot before it gets 503"},
		{"query-timeout", "BASALT_QUERY_TIMEOUT", defaultQueryTimeout, &o.queryTimeout, "time limit of each record query and each transaction (0: none)"},
	}
	for _, d := range durations {
		v := d.def
		if s := getenv(d.env); s != "" {
			parsed, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("%s: %w", d.env, err)
			}
			v = parsed
		}
		fs.DurationVar(d.p, d.name, v, d.usage)
	}
	maxConcurrent := defaultMaxConcurrent
	if s := getenv("BASALT_MAX_CONCURRENT_REQUESTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("BASALT_MAX_CONCURRENT_REQUESTS: %w", err)
		}
		maxConcurrent = n
	}
	fs.IntVar(&o.maxConcurrent, "max-concurrent-requests", maxConcurrent, "cap of requests served at once, realtime streams and probes excepted (0: no cap)")
	o.maxBody = rest.DefaultMaxBody
	if s := getenv("BASALT_MAX_BODY"); s != "" {
		n, err := parseSize(s)
		if err != nil {
			return fmt.Errorf("BASALT_MAX_BODY: %w", err)
		}
		o.maxBody = n
	}
	fs.Func("max-body", "largest request body without file uploads, in bytes or with a K, M or G suffix (default 32M)", func(s string) error {
		n, err := parseSize(s)
		o.maxBody = n
		return err
	})
	o.corsOrigins = rest.ParseOrigins(envOr(getenv, "BASALT_CORS_ORIGINS", "*"))
	fs.Func("cors-origins", `origins that may read answers, comma-separated (default "*": any)`, func(s string) error {
		o.corsOrigins = rest.ParseOrigins(s)
		return nil
	})
	fs.StringVar(&o.tlsCert, "tls-cert", getenv("BASALT_TLS_CERT"), "PEM certificate (chain) file: serve HTTPS (with --tls-key; reloaded when the files change)")
	fs.StringVar(&o.tlsKey, "tls-key", getenv("BASALT_TLS_KEY"), "PEM private key file of --tls-cert")
	return nil
}

// parseSize parses a byte count: "1048576", "512K", "32M", "1G" (powers of
// 1024).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if n := len(s); n > 0 {
		switch strings.ToUpper(s[n-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("want a positive size in bytes or with a K, M or G suffix, got %q", s)
	}
	return n * mult, nil
}

// check rejects contradictory limit options.
func (o *limitOptions) check() error {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if o.maxConcurrent < 0 {
		return errors.New("--max-concurrent-requests: want 0 (no cap) or more")
	}
	return nil
}

// limiter returns the REST API's concurrency cap and deadlines, with its
// shed requests counted as basalt_http_requests_shed_total.
func (o *limitOptions) limiter(m *metrics.Metrics) *httplimit.Limiter {
	l := httplimit.New(httplimit.Options{
		MaxConcurrent: o.maxConcurrent, QueueWait: o.queueWait,
		ReadTimeout: o.readTimeout, WriteTimeout: o.writeTimeout,
	})
	m.Counter("http_requests_shed_total", "Requests answered 503 because --max-concurrent-requests were being served.",
		func() float64 { return float64(l.Shed()) })
	return l
}

// wrapStore puts the query time limit over wrap (the metrics' timing and
// tracing), which looks for the engine's pool statistics on the store it
// is given.
func (o *limitOptions) wrapStore(wrap func(store.Store) store.Store) func(store.Store) store.Store {
	return func(st store.Store) store.Store {
		if wrap != nil {
			st = wrap(st)
		}
		return deadline.Wrap(st, o.queryTimeout)
	}
}

// server returns the API's HTTP server: its connection timeouts are the
// server's, the per-request ones are the limiter's, since a server-wide
// write timeout would cut realtime streams.
func (o *limitOptions) server(handler http.Handler, logger *slog.Logger) (*http.Server, error) {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: o.readHeaderTimeout,
		IdleTimeout:       o.idleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		Protocols:         protocols(),
	}
	if o.tlsCert != "" {
		certs, err := newCertFiles(o.tlsCert, o.tlsKey, logger)
		if err != nil {
			return nil, err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
	}
	return srv, nil
}

// protocols are the API's HTTP versions: HTTP/1.1, HTTP/2 over TLS, and
// HTTP/2 without TLS (h2c, with prior knowledge) so that gRPC clients reach
// the RPC transport on the same plain port.
func protocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// serve serves srv on ln, over TLS when it has a TLS configuration.
func serveOn(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// scheme is the URL scheme srv serves.
func scheme(srv *http.Server) string {
	if srv.TLSConfig != nil {
		return "https"
	}
	return "http"
}

// certFiles keeps the TLS certificate loaded from its files and loads them
// again when they change (a renewal), checked at each new connection. A
// pair that fails to load keeps the previous certificate in use.
type certFiles struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	version string // sizes and modification times of both files
}

func newCertFiles(certFile, keyFile string, logger *slog.Logger) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, logger: logger}
	v, err := c.stat()
	if err != nil {
		return nil, err
	}
	if err := c.load(v); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certFiles) stat() (string, error) {
	var b strings.Builder
	for _, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("TLS: %w", err)
		}
		fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

func (c *certFiles) load(version string) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS: loading %s and %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.version = &cert, version
	return nil
}

// get is tls.Config.GetCertificate.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := c.stat()
	if err != nil || v == c.version {
		// A file missing for a moment during a renewal: the certificate in
		// use serves on.
		return c.cert, nil
	}
	if err := c.load(v); err != nil {
		// Half-written files: their next change is loaded again, the old
		// certificate serves meanwhile.
		c.version = v
		c.logger.Warn("TLS certificate not reloaded", "err", err)
		return c.cert, nil
	}
	c.logger.Info("TLS certificate reloaded", "cert", c.certFile)
	return c.cert, nil
}
