// Command basalt runs the Basalt backend. main only wires: it builds the
// adapters, services and transports and connects them.
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
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/basalt-dev/basalt/internal/api/graphql"
	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/api/rpc"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/blob/local"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/versioned"
	"github.com/basalt-dev/basalt/internal/token"
	"github.com/basalt-dev/basalt/internal/webhook"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "basalt:", err)
		os.Exit(1)
	}
}

const usage = `Basalt: a complete backend in one binary.

Usage:
  basalt serve [--http 127.0.0.1:8090] [--dir ./basalt_data]
  basalt superuser upsert EMAIL PASSWORD [--dir ./basalt_data]
  basalt superuser delete EMAIL [--dir ./basalt_data]
  basalt token-keys rotate [--dir ./basalt_data] [--token-alg ES256|EdDSA]
  basalt backup create [NAME.zip] | list | restore NAME.zip [--dir ./basalt_data]
      (restore only while no server uses --dir; see docs/backups.md)
  basalt audit verify [--dir ./basalt_data | --db postgres://…]
  basalt migrate --dir ./basalt_data --to postgres://…
  basalt functions types > basalt.d.ts
      (TypeScript definitions of the JavaScript function API; functions load
      from --functions-dir, default basalt_functions beside the data
      directory; see docs/functions.md)
      (copies the SQLite data into an empty PostgreSQL database and verifies it;
      see docs/scaling.md)

Token signing: --token-alg (or BASALT_TOKEN_ALG) is HS256 (PocketBase's
per-record secrets, the default), ES256 or EdDSA (asymmetric keys stored in
the database, public keys at /.well-known/jwks.json).

Brute-force limits (serve): --auth-throttle-login-ip, --auth-throttle-login-identity,
--auth-throttle-ip, --auth-throttle-identity and --auth-throttle-otp, each BURST/PERIOD
(e.g. 30/10m) or off; see "basalt serve --help" and docs/throttling.md.
  basalt --version
`

// run is the whole program; main only supplies the process environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, "basalt", version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "superuser":
		return superuser(ctx, args[1:], getenv, stdout, stderr)
	case "token-keys":
		return tokenKeys(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return backupCommand(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args[1:], getenv, stdout, stderr)
	case "functions":
		return functionsCmd(args[1:], stdout)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

type options struct {
	http string
	dir  string
	// db names a PostgreSQL database (postgres://…); empty means SQLite in dir.
	db string
	// eventRetention is how long delivered change events stay in the outbox.
	eventRetention time.Duration
	// webhookAllowPrivate lists CIDRs of private, loopback or link-local
	// networks that webhooks may reach (comma-separated; none by default).
	webhookAllowPrivate string
	// webhookMaxAttempts is how many attempts a webhook delivery gets.
	webhookMaxAttempts int
	// tokenAlg signs tokens: HS256 (default), ES256 or EdDSA.
	tokenAlg string
	// throttle holds the brute-force limits of the auth endpoints.
	throttle auth.Throttle
	// observe configures logs, metrics, trusted proxies and draining.
	observe observeOptions
	// limits holds the timeouts, body and concurrency limits, the query
	// time limit, CORS origins and TLS (limits.go).
	limits limitOptions
	// redis is the Redis server (redis://…) that holds the rate limit
	// buckets shared by replicas; empty keeps them in this process.
	redis string
	// readCache is how many records the read cache holds (0: none).
	readCache int
	// graphql holds the GraphQL limits and the introspection switch.
	graphql graphql.Limits
	// functions configures the JavaScript functions (functions.go).
	functions functionOptions
	// jobs configures the job queue (jobs.go).
	jobs jobOptions
	// setup, when set, is called with the wired app before serving starts
	// (tests register job handlers with it).
	setup func(*app)
}

func parseFlags(name string, args []string, getenv func(string) string, stderr io.Writer) (*options, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{throttle: auth.DefaultThrottle()}
	fs.StringVar(&o.http, "http", envOr(getenv, "BASALT_HTTP", "127.0.0.1:8090"), "address to listen on")
	fs.StringVar(&o.dir, "dir", envOr(getenv, "BASALT_DIR", "./basalt_data"), "data directory")
	fs.StringVar(&o.db, "db", getenv("BASALT_DB"), "PostgreSQL database URL (postgres://…); empty: SQLite in the data directory")
	retention, err := time.ParseDuration(envOr(getenv, "BASALT_EVENT_RETENTION", "24h"))
	if err != nil {
		return nil, nil, fmt.Errorf("BASALT_EVENT_RETENTION: %w", err)
	}
	fs.DurationVar(&o.eventRetention, "event-retention", retention, "how long delivered change events are kept")
	fs.StringVar(&o.webhookAllowPrivate, "webhook-allow-private", getenv("BASALT_WEBHOOK_ALLOW_PRIVATE"), "CIDRs of private networks webhooks may reach, comma-separated")
	fs.IntVar(&o.webhookMaxAttempts, "webhook-max-attempts", webhook.DefaultMaxAttempts, "attempts of a webhook delivery before it is dead")
	if err := readCacheFlag(fs, getenv, &o.readCache); err != nil {
		return nil, nil, err
	}
	fs.StringVar(&o.tokenAlg, "token-alg", envOr(getenv, "BASALT_TOKEN_ALG", token.AlgHS256), "token signing algorithm: HS256, ES256 or EdDSA")
	fs.StringVar(&o.redis, "redis", getenv("BASALT_REDIS"), "Redis URL (redis://…) for rate limit buckets shared by replicas; empty: in this process")
	if err := throttleFlags(fs, getenv, &o.throttle); err != nil {
		return nil, nil, err
	}
	if err := observeFlags(fs, getenv, &o.observe); err != nil {
		return nil, nil, err
	}
	if err := limitFlags(fs, getenv, &o.limits); err != nil {
		return nil, nil, err
	}
	if err := graphqlFlags(fs, getenv, &o.graphql); err != nil {
		return nil, nil, err
	}
	if err := functionFlags(fs, getenv, &o.functions); err != nil {
		return nil, nil, err
	}
	if err := jobFlags(fs, getenv, &o.jobs); err != nil {
		return nil, nil, err
	}
	// Flags may follow positional arguments (basalt superuser upsert a b --dir x).
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if o.tokenAlg != token.AlgHS256 && !token.ValidAlg(o.tokenAlg) {
		return nil, nil, fmt.Errorf("--token-alg: want HS256, ES256 or EdDSA, got %q", o.tokenAlg)
	}
	if err := o.limits.check(); err != nil {
		return nil, nil, err
	}
	if err := o.functions.check(); err != nil {
		return nil, nil, err
	}
	if err := o.jobs.check(); err != nil {
		return nil, nil, err
	}
	return o, positional, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// app holds the wired services over one data directory.
type app struct {
	logger      *slog.Logger
	store       store.Store
	collections *collection.Service
	records     *record.Service
	auth        *auth.Service
	settings    *settings.Service
	files       *file.Service
	mail        *mail.Queue
	audit       *audit.Log
	// jobs and crons exist while serving (see newJobs); nil otherwise.
	jobs  *job.Queue
	crons *job.Scheduler
	// version counts the write transactions of a store no other process
	// writes (SQLite); nil on PostgreSQL.
	version func() uint64
}

func open(ctx context.Context, dir, db string, logger *slog.Logger, authOpts ...auth.Option) (*app, error) {
	return openWrapped(ctx, dir, db, logger, nil, authOpts...)
}

// openWrapped is open with the store wrapped by wrap when it is not nil
// (timing for metrics).
func openWrapped(ctx context.Context, dir, db string, logger *slog.Logger, wrap func(store.Store) store.Store, authOpts ...auth.Option) (*app, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	st, err := openStore(ctx, dir, db, logger)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	if pg, ok := st.(*postgres.Store); ok {
		// Replicas share one database: they share the auth throttle too.
		authOpts = append([]auth.Option{auth.WithBuckets(pg.Buckets())}, authOpts...)
	}
	_, counted := st.(*sqlite.Store)
	if wrap != nil {
		st = wrap(st)
	}
	// Outermost, so that the wrappers above see the engine itself.
	var version func() uint64
	if counted {
		vs := versioned.Wrap(st)
		st, version = vs, vs.Version
	}
	now := time.Now
	cols, err := collection.New(ctx, st, now)
	if err != nil {
		st.Close()
		return nil, err
	}
	set, err := settings.New(ctx, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	blobs, err := local.New(filepath.Join(dir, "storage"))
	if err != nil {
		st.Close()
		return nil, err
	}
	files := file.New(blobs, func(n int) string { return random.String(random.LowerAlnum, n) })
	records := record.New(st, cols, files.ForRecords(), now, func() string { return random.RecordID(now()) })
	mails := newMailQueue(set, logger)
	authSvc := auth.New(st, cols, records, now, append([]auth.Option{auth.WithLogger(logger),
		auth.WithMail(mails, func() settings.Meta { return set.Get().Meta })}, authOpts...)...)
	auditLog := audit.New(st, now, logger)
	cols.Audit, set.Audit, records.Audit, authSvc.Audit = auditLog, auditLog, auditLog, auditLog
	return &app{
		logger: logger, store: st, collections: cols, records: records,
		auth: authSvc, settings: set, files: files, mail: mails, audit: auditLog, version: version,
	}, nil
}

// openStore opens the PostgreSQL database db when it is set, otherwise the
// SQLite database in dir. (Files stay in dir either way.)
func openStore(ctx context.Context, dir, db string, logger *slog.Logger) (store.Store, error) {
	if db != "" {
		return postgres.Open(ctx, db, postgres.Options{Logger: logger})
	}
	return sqlite.Open(ctx, filepath.Join(dir, "data.db"), logger)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	return serveSetup(ctx, args, getenv, stdout, stderr, nil)
}

// serveGCPercent is the GOGC a server runs with unless the GOGC variable
// sets one. A server's live Go heap is a few MiB (data pages live in
// SQLite's caches, outside it), so with Go's default of 100 the collector
// ran every 3 MiB of allocation, some 60 times a second under load, and
// took 15-20% of the read throughput (bench/run, README "Benchmarks").
// At 400 the heap may grow to five times the live heap between
// collections: tens of MiB for most servers. GOMEMLIMIT caps it where
// memory is tight.
const serveGCPercent = 400

// serveSetup is serve that calls setup, when not nil, with the wired app
// before serving starts.
func serveSetup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, setup func(*app)) error {
	o, _, err := parseFlags("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	o.setup = setup
	// A restore through the API ends one round of serving; the next round
	// swaps the restored data in and serves it (docs/backups.md).
	for {
		restart, err := serveOnce(ctx, o, stdout, stderr)
		if err != nil || !restart {
			return err
		}
	}
}

// serveOnce serves until ctx ends (false) or a backup restore asks for a
// restart (true), and closes everything it opened either way.
func serveOnce(ctx context.Context, o *options, stdout, stderr io.Writer) (bool, error) {
	if err := os.MkdirAll(o.dir, 0o750); err != nil {
		return false, fmt.Errorf("creating data directory: %w", err)
	}
	if o.db == "" {
		if err := applyRestore(o.dir, stdout); err != nil {
			return false, err
		}
	}
	obs, err := startObservability(ctx, o.observe, o.dir, stderr)
	if err != nil {
		return false, err
	}
	defer obs.close()
	logger := obs.logger
	a, err := openWrapped(ctx, o.dir, o.db, logger, o.limits.wrapStore(obs.wrapStore), auth.WithSigning(o.tokenAlg), auth.WithThrottle(o.throttle))
	if err != nil {
		return false, err
	}
	defer a.store.Close()
	enableReadCache(a, o.readCache)
	defer watchConfig(ctx, a)()
	obs.attach(a)
	hookOpts, err := webhookOptions(o)
	if err != nil {
		return false, err
	}
	hookOpts.Transport = obs.webhookTransport()
	broker, hooks, stopEvents, err := startEvents(ctx, a, o.eventRetention, hookOpts, obs.metrics, obs.dispatchTrace())
	if err != nil {
		return false, err
	}
	defer stopEvents()
	rt, stopRelay := startRealtimeCluster(ctx, a, broker)
	defer stopRelay()

	restartc := make(chan struct{}, 1)
	backups := newBackups(o.dir, a.store, a.settings, logger, func() {
		select {
		case restartc <- struct{}{}:
		default:
		}
	})
	newJobs(a, o.jobs)
	if o.setup != nil {
		o.setup(a)
	}
	scheduleCtx, stopSchedule := context.WithCancel(ctx)
	defer stopSchedule()
	stopJobs := startJobs(scheduleCtx, a, o.jobs, backups)
	defer func() {
		// Error paths before the graceful shutdown below.
		bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopJobs(bctx)
	}()

	mounts, err := startFunctions(scheduleCtx, o, a, logger, obs.webhookTransport())
	if err != nil {
		return false, err
	}
	limiter, closeLimiter, err := rateLimiter(ctx, o.redis, logger, obs.metrics)
	if err != nil {
		return false, err
	}
	defer closeLimiter()
	mon := startMonitor(scheduleCtx, obs.metrics)
	handler := rest.NewServer(rest.Deps{
		Logger: logger, Collections: a.collections, Records: a.records,
		Auth: a.auth, Settings: a.settings, Files: a.files, Realtime: rt,
		Webhooks: hooks,
		Backups:  backups,
		Jobs:     a.jobs, Crons: a.crons,
		Metrics: obs.metrics, MetricsToken: o.observe.metricsToken, Logs: obs.logs,
		TrustedProxies: obs.proxies, Ready: obs.ready, Audit: a.store,
		RateLimiter: limiter, Tracer: obs.restTracer(),
		Limits: o.limits.limiter(obs.metrics), CORSOrigins: o.limits.corsOrigins, MaxBody: o.limits.maxBody,
		Fresh:   newConfigGate(a).fresh(),
		Monitor: mon, Mounts: joinMounts(adminMounts(), rpcMounts(a, broker), graphqlMounts(a, broker, o.graphql, logger), mounts),
		Streams: func(r *http.Request) bool { return rpc.IsStream(r) || graphql.IsStream(r) },
	})
	if err := obs.serveMetrics(); err != nil {
		return false, err
	}
	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return false, fmt.Errorf("listening on %s: %w", o.http, err)
	}
	srv, err := o.limits.server(handler, logger)
	if err != nil {
		ln.Close()
		return false, err
	}
	// Realtime streams never go idle: end them so that Shutdown can finish.
	srv.RegisterOnShutdown(broker.Close)
	fmt.Fprintf(stdout, "Basalt %s serving %s://%s (REST API under /api/, admin dashboard at /_/, data in %s)\n", version, scheme(srv), ln.Addr(), o.dir)
	errc := make(chan error, 1)
	go func() { errc <- serveOn(srv, ln) }()
	restart := false
	select {
	case err := <-errc:
		return false, err
	case <-ctx.Done():
	case <-restartc:
		restart = true
		logger.Warn("restarting to apply a restored backup")
	}
	stopSchedule()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Readiness fails first; load balancers drain the replica meanwhile.
	obs.drain(shutdownCtx)
	logger.Info("shutting down: waiting for in-flight requests")
	shutdownErr := srv.Shutdown(shutdownCtx)
	// Running jobs finish by the deadline or go back to the queue.
	if err := stopJobs(shutdownCtx); err != nil {
		logger.Warn("shutting down: jobs released", "err", err)
	}
	if shutdownErr != nil {
		return false, fmt.Errorf("shutting down: %w", shutdownErr)
	}
	// Mail accepted by requests is still delivered; past the deadline it is
	// logged as dropped, which does not make the shutdown fail.
	if err := a.closeBackground(shutdownCtx); err != nil {
		logger.Warn("shutting down: background work cut short", "err", err)
	}
	return restart, nil
}

func superuser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, pos, err := parseFlags("superuser", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if len(pos) == 0 {
		return errors.New("usage: basalt superuser upsert EMAIL PASSWORD | delete EMAIL")
	}
	a, err := open(ctx, o.dir, o.db, logger)
	if err != nil {
		return err
	}
	defer a.store.Close()
	defer a.closeBackground(context.WithoutCancel(ctx))
	switch {
	case pos[0] == "upsert" && len(pos) == 3:
		if err := a.auth.UpsertSuperuser(ctx, pos[1], pos[2]); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Superuser %s saved.\n", pos[1])
	case pos[0] == "delete" && len(pos) == 2:
		if err := a.auth.DeleteSuperuser(ctx, pos[1]); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Superuser %s deleted.\n", pos[1])
	default:
		return errors.New("usage: basalt superuser upsert EMAIL PASSWORD | delete EMAIL")
	}
	return nil
}

// tokenKeys manages the asymmetric token signing keys.
func tokenKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: basalt token-keys rotate [--token-alg ES256|EdDSA]"
	o, pos, err := parseFlags("token-keys", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "rotate" {
		return errors.New(use)
	}
	if o.tokenAlg == token.AlgHS256 {
		return errors.New("token-keys: set --token-alg (or BASALT_TOKEN_ALG) to ES256 or EdDSA; HS256 tokens use per-collection secrets")
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := open(ctx, o.dir, o.db, logger, auth.WithSigning(o.tokenAlg))
	if err != nil {
		return err
	}
	defer a.store.Close()
	defer a.closeBackground(context.WithoutCancel(ctx))
	k, err := a.auth.RotateKeys(ctx)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "New active %s signing key %s; older keys verify until their tokens expire.\n", k.Alg, k.ID)
	return nil
}
