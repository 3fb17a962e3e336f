package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/api/fnroute"
	"github.com/basalt-dev/basalt/internal/cron"
	"github.com/basalt-dev/basalt/internal/function"
	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/store"
)

// functionOptions configures the JavaScript functions (docs/functions.md).
type functionOptions struct {
	// dir holds the function files; empty means basalt_functions beside
	// the data directory.
	dir       string
	timeLimit time.Duration
	memoryMB  int
	pool      int
	// allowPrivate lists private networks basalt.http.fetch may reach.
	allowPrivate string
	// secrets names the secrets functions may read; each NAME comes from
	// the environment variable BASALT_SECRET_NAME.
	secrets string
	getenv  func(string) string
}

// functionFlags registers the --functions-* flags, each with its BASALT_*
// variable.
func functionFlags(fs *flag.FlagSet, getenv func(string) string, o *functionOptions) error {
	o.getenv = getenv
	fs.StringVar(&o.dir, "functions-dir", getenv("BASALT_FUNCTIONS_DIR"), "directory of the JavaScript function files (default: basalt_functions beside the data directory)")
	limit, err := time.ParseDuration(envOr(getenv, "BASALT_FUNCTIONS_TIME_LIMIT", function.DefaultTimeLimit.String()))
	if err != nil {
		return fmt.Errorf("BASALT_FUNCTIONS_TIME_LIMIT: %w", err)
	}
	fs.DurationVar(&o.timeLimit, "functions-time-limit", limit, "time limit of one function invocation")
	ints := []struct {
		name, env, usage string
		def              int
		dst              *int
	}{
		{"functions-memory-mb", "BASALT_FUNCTIONS_MEMORY_MB", "memory budget of one function invocation, in MiB", function.DefaultMemoryBudget >> 20, &o.memoryMB},
		{"functions-pool", "BASALT_FUNCTIONS_POOL", "warm JavaScript runtimes (concurrent function invocations)", 4, &o.pool},
	}
	for _, f := range ints {
		def := f.def
		if v := getenv(f.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%s: want a positive number, got %q", f.env, v)
			}
			def = n
		}
		fs.IntVar(f.dst, f.name, def, f.usage)
	}
	fs.StringVar(&o.allowPrivate, "functions-allow-private", getenv("BASALT_FUNCTIONS_ALLOW_PRIVATE"), "CIDRs of private networks basalt.http.fetch may reach, comma-separated")
	fs.StringVar(&o.secrets, "functions-secrets", getenv("BASALT_FUNCTIONS_SECRETS"), "names of the secrets functions may read, comma-separated; NAME's value is the variable BASALT_SECRET_NAME")
	return nil
}

// check validates the values flags may have set.
func (o *functionOptions) check() error {
	if o.timeLimit <= 0 {
		return fmt.Errorf("--functions-time-limit: want a positive duration")
	}
	if o.memoryMB < 1 || o.pool < 1 {
		return fmt.Errorf("--functions-memory-mb and --functions-pool must be positive")
	}
	return nil
}

// startFunctions loads the function files, installs their record hooks and
// returns the handlers to mount. Broken files stop the server from
// starting (a reload keeps the previous version instead).
func startFunctions(ctx context.Context, o *options, a *app, logger *slog.Logger,
	wrap func(http.RoundTripper) http.RoundTripper) (map[string]http.Handler, error) {
	fo := o.functions
	dir := fo.dir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(filepath.Clean(o.dir)), "basalt_functions")
	}
	allow, err := parsePrefixes(fo.allowPrivate)
	if err != nil {
		return nil, fmt.Errorf("--functions-allow-private: %w", err)
	}
	secrets := map[string]string{}
	for _, name := range strings.Split(fo.secrets, ",") {
		if name = strings.TrimSpace(name); name != "" {
			secrets[name] = fo.getenv("BASALT_SECRET_" + name)
		}
	}
	fns := function.New(function.Options{
		Dir: dir, TimeLimit: fo.timeLimit, MemoryBudget: int64(fo.memoryMB) << 20, PoolSize: fo.pool,
		Secrets: secrets, HTTPAllow: allow, Wrap: wrap,
		Logger: logger.With("component", "functions"), Records: a.records, Mail: a.mail,
		Jobs: functionJobs(a),
		MailFrom: func() mail.Address {
			m := a.settings.Get().Meta
			return mail.Address{Name: m.SenderName, Address: m.SenderAddress}
		},
	})
	if err := fns.Start(ctx); err != nil {
		return nil, fmt.Errorf("loading functions from %s: %w", dir, err)
	}
	a.records.SetHooks(fns)
	return map[string]http.Handler{fnroute.Prefix + "/": fnroute.Handler(fns)}, nil
}

// functionsCmd is "basalt functions types": it prints the TypeScript
// definitions of the function API.
func functionsCmd(args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "types" {
		return fmt.Errorf("usage: basalt functions types > basalt.d.ts")
	}
	_, err := io.WriteString(stdout, function.TypeDefinitions())
	return err
}

// fnPrefix keeps the job and cron names of functions apart from the
// server's own.
const fnPrefix = "fn:"

// jobsForFunctions adapts the job queue and the cron scheduler to what
// functions need; job names and cron ids get fnPrefix.
type jobsForFunctions struct {
	queue *job.Queue
	crons *job.Scheduler
}

func functionJobs(a *app) function.Jobs {
	if a.jobs == nil || a.crons == nil {
		return nil
	}
	return jobsForFunctions{queue: a.jobs, crons: a.crons}
}

func (j jobsForFunctions) Enqueue(ctx context.Context, name string, payload []byte) error {
	_, err := j.queue.Enqueue(ctx, job.EnqueueOptions{Name: fnPrefix + name, Payload: payload})
	return err
}

func (j jobsForFunctions) EnqueueTx(ctx context.Context, tx store.Tx, name string, payload []byte) error {
	_, err := j.queue.EnqueueTx(ctx, tx, job.EnqueueOptions{Name: fnPrefix + name, Payload: payload})
	return err
}

func (j jobsForFunctions) Handle(name string, fn func(ctx context.Context, payload []byte) error) {
	if fn == nil {
		j.queue.Unhandle(fnPrefix + name)
		return
	}
	j.queue.Handle(fnPrefix+name, func(ctx context.Context, jb *job.Job) error { return fn(ctx, jb.Payload) })
}

func (j jobsForFunctions) Schedule(name, schedule string, fn func(ctx context.Context) error) error {
	if fn == nil {
		j.crons.Remove(fnPrefix + name)
		return nil
	}
	return j.crons.Add(fnPrefix+name, schedule, fn)
}

func (j jobsForFunctions) CheckSchedule(schedule string) error {
	_, err := cron.Parse(schedule)
	return err
}
