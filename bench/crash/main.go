// Command crash is Basalt's crash-safety test (bench/crash.sh, make crash).
//
// It starts basalt serve on a fresh data directory on 127.0.0.1 (SQLite, or
// a fresh PostgreSQL database with -db), creates a collection, and runs
// concurrent writers (creates, updates, deletes, batches and audited
// sign-ins) that record every write the server acknowledged. At a random
// moment of the traffic it kills the server with SIGKILL, checks the
// integrity of the SQLite files the crash left behind, restarts the server on
// the same directory and compares what the server holds with the ledger: every
// acknowledged write is there with its content, deleted records are gone,
// and a write that got no answer is either entirely there or entirely absent
// (a batch as a whole). It repeats this for every round, then stops the
// server cleanly and runs PRAGMA integrity_check and foreign_key_check on
// data.db and auxiliary.db, read-only, and basalt audit verify.
//
// It prints a line per round and a summary, and exits 1 on any loss,
// partial write, corruption or unexpected error. It talks to the server
// over HTTP only (and opens the SQLite files only while no server runs).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash:", err)
		os.Exit(1)
	}
}

// config holds the flags of a run.
type config struct {
	bin       string
	db        string // PostgreSQL server URL; empty: SQLite
	rounds    int
	writers   int
	roundTime time.Duration // mean traffic time before a kill
	minAcks   int           // acknowledged requests of a round before its kill may come
	seed      uint64
	keep      bool
	workdir   string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	fs.StringVar(&cfg.bin, "basalt", "bin/basalt", "the basalt binary to test")
	fs.StringVar(&cfg.db, "db", "", "run on PostgreSQL: a fresh database is created on the server this postgres:// URL names, and dropped at the end")
	fs.IntVar(&cfg.rounds, "rounds", 20, "how many times the server is killed and restarted")
	fs.IntVar(&cfg.writers, "writers", 8, "concurrent writers")
	fs.DurationVar(&cfg.roundTime, "round-time", 2*time.Second, "mean traffic time of a round before the kill (each round draws between half and 1.5 times it)")
	fs.IntVar(&cfg.minAcks, "min-acks", 20, "acknowledged requests a round has before its kill may come")
	fs.Uint64Var(&cfg.seed, "seed", 0, "seed of the writers and kill times (0: from the clock; printed)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the data directory and server log (they are always kept on failure)")
	fs.StringVar(&cfg.workdir, "workdir", "", "parent of the temporary data directory (default: the system's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.rounds < 1 || cfg.writers < 1 || cfg.roundTime <= 0 || cfg.minAcks < 0 {
		return fmt.Errorf("-rounds and -writers must be positive, -round-time positive, -min-acks at least 0")
	}
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return fmt.Errorf("no basalt binary at %s (make build, or -basalt PATH)", bin)
	}
	cfg.bin = bin
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}

	work, err := os.MkdirTemp(cfg.workdir, "basalt-crash-")
	if err != nil {
		return err
	}
	t := &test{cfg: cfg, work: work, out: stdout}
	if cfg.db != "" {
		url, drop, err := freshDatabase(ctx, cfg.db)
		if err != nil {
			os.RemoveAll(work)
			return err
		}
		defer drop()
		t.dbURL = url
	}
	err = t.run(ctx)
	if err != nil || cfg.keep {
		fmt.Fprintf(stderr, "crash: data directory and server log kept in %s\n", work)
	} else {
		os.RemoveAll(work)
	}
	return err
}
