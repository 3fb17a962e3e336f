package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/bench/client"
	"github.com/basalt-dev/basalt/bench/launch"
)

// The superuser the tool creates and signs in as.
const (
	suEmail    = "crash@basalt.test"
	suPassword = "crash-secret-123"
)

// test is one run: the server, the writers, the ledger and the findings.
type test struct {
	cfg   config
	work  string // temporary directory: data/, server.log, images/
	dbURL string // PostgreSQL database, when not SQLite
	out   io.Writer

	addr    string
	srv     *launch.Server
	su      *client.Client
	writers []*writer
	rng     *rand.Rand

	total      counts
	unanswered struct{ total, applied int }
	restarts   []time.Duration
	checks     []string // integrity checks passed, for the summary
	images     int      // post-crash file images that passed the checks
	problems   []string
}

func (t *test) dataDir() string { return filepath.Join(t.work, "data") }

func (t *test) engine() string {
	if t.dbURL != "" {
		return "PostgreSQL"
	}
	return "SQLite"
}

func (t *test) run(ctx context.Context) (err error) {
	defer func() {
		// Whatever happens, no server outlives the run.
		if t.srv != nil {
			_ = t.srv.Kill()
		}
	}()
	t.rng = rand.New(rand.NewPCG(t.cfg.seed, 1))
	if t.addr, err = launch.FreeAddr(); err != nil {
		return err
	}
	if err := launch.Superuser(ctx, t.cfg.bin, t.dataDir(), t.dbURL, suEmail, suPassword); err != nil {
		return err
	}
	if err := t.start(ctx); err != nil {
		return err
	}
	if err := t.setup(ctx); err != nil {
		return err
	}
	for i := range t.cfg.writers {
		c := client.New("http://"+t.addr, 2, 30*time.Second)
		t.writers = append(t.writers, &writer{
			n: i, rng: rand.New(rand.NewPCG(t.cfg.seed, uint64(i)+2)), items: map[string]*item{}, c: c,
			su: func() (string, string) { return suEmail, suPassword },
		})
	}
	fmt.Fprintf(t.out, "crash test: %s, %d rounds, %d writers, mean %s of traffic per round, seed %d\n",
		t.engine(), t.cfg.rounds, t.cfg.writers, t.cfg.roundTime, t.cfg.seed)

	for round := 1; round <= t.cfg.rounds; round++ {
		if err := t.round(ctx, round); err != nil {
			return err
		}
	}

	// The last restart is verified; now stop cleanly and check the files
	// with no server running.
	srv := t.srv
	t.srv = nil
	if err := srv.Stop(30 * time.Second); err != nil {
		t.problems = append(t.problems, err.Error())
	}
	if t.dbURL == "" {
		t.checkFiles(ctx, "final", t.dataDir(), "data.db", true)
	}
	t.checkFiles(ctx, "final", t.dataDir(), "auxiliary.db", true)
	out, err := launch.Command(ctx, t.cfg.bin, t.dataDir(), t.dbURL, "audit", "verify")
	if err != nil {
		t.problems = append(t.problems, fmt.Sprintf("audit verify: %v: %s", err, strings.TrimSpace(out)))
	} else {
		t.checks = append(t.checks, "audit chain "+strings.TrimSpace(out))
	}
	return t.summary()
}

// start starts the server on the run's directory and address and signs the
// superuser client in.
func (t *test) start(ctx context.Context) error {
	srv, took, err := launch.Start(ctx, launch.Config{
		Bin: t.cfg.bin, Dir: t.dataDir(), DB: t.dbURL, Addr: t.addr, Log: filepath.Join(t.work, "server.log"),
	})
	if err != nil {
		return err
	}
	t.srv = srv
	t.restarts = append(t.restarts, took)
	t.su = client.New("http://"+t.addr, 2, time.Minute)
	token, err := t.su.SignIn(ctx, "_superusers", suEmail, suPassword)
	if err != nil {
		return fmt.Errorf("signing in as the superuser: %w", err)
	}
	t.su.Token = token
	return nil
}

// setup creates the collection (every rule public: the writers are
// guests) and enables batches.
func (t *test) setup(ctx context.Context) error {
	coll := map[string]any{
		"name": collectionName, "type": "base",
		"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
		"fields": []map[string]any{
			{"name": "title", "type": "text", "max": 200},
			{"name": "version", "type": "number", "onlyInt": true},
			{"name": "payload", "type": "text", "max": maxPayload},
			{"name": "digest", "type": "text", "max": 64},
			{"name": "meta", "type": "json"},
			{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
		},
	}
	if _, err := t.su.Do(ctx, http.MethodPost, "/api/collections", coll, nil); err != nil {
		return fmt.Errorf("creating the collection: %w", err)
	}
	settings := map[string]any{"batch": map[string]any{"enabled": true, "maxRequests": 10, "timeout": 30}}
	if _, err := t.su.Do(ctx, http.MethodPatch, "/api/settings", settings, nil); err != nil {
		return fmt.Errorf("enabling batches: %w", err)
	}
	return nil
}

// round runs traffic until a random moment, kills the server, checks the
// files the crash left, restarts the server and verifies its records.
func (t *test) round(ctx context.Context, n int) error {
	var killed atomic.Bool
	var acks, active atomic.Int64
	before := make([]counts, len(t.writers))
	var wg sync.WaitGroup
	for i, w := range t.writers {
		before[i] = w.count
		active.Add(1)
		wg.Go(func() {
			defer active.Add(-1)
			w.run(ctx, &killed, &acks)
		})
	}
	began := time.Now()
	// The kill comes at a random moment once the round has some
	// acknowledged writes, so that it lands in the middle of traffic.
	delay := time.Duration(float64(t.cfg.roundTime) * (0.5 + t.rng.Float64()))
	timer := time.NewTimer(delay)
	defer timer.Stop()
	fire, due := timer.C, false
	tick := time.NewTicker(5 * time.Millisecond)
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-fire:
			fire, due = nil, true
		case <-tick.C:
		}
		if due && acks.Load() >= int64(t.cfg.minAcks) {
			break
		}
		if active.Load() == 0 {
			// Every writer stopped on an error: kill now, the run fails.
			break
		}
	}
	tick.Stop()
	killed.Store(true)
	killErr := t.srv.Kill()
	ran := time.Since(began)
	wg.Wait()
	t.srv = nil
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if killErr != nil {
		return killErr
	}
	var c counts
	for i, w := range t.writers {
		d := w.count
		d.sub(before[i])
		c.add(d)
		if w.fail != nil {
			t.problems = append(t.problems, fmt.Sprintf("round %d: %v", n, w.fail))
			w.fail = nil
		}
	}
	t.total.add(c)

	// The files exactly as the crash left them, recovered on a copy.
	image := "ok"
	if t.dbURL == "" {
		if !t.checkImage(ctx, n, "data.db") {
			image = "FAILED"
		}
	}
	if !t.checkImage(ctx, n, "auxiliary.db") {
		image = "FAILED"
	}

	if err := t.start(ctx); err != nil {
		return fmt.Errorf("round %d: restarting after the kill: %w", n, err)
	}
	o, err := t.verify(ctx)
	if err != nil {
		return fmt.Errorf("round %d: %w", n, err)
	}
	for _, p := range o.problems {
		t.problems = append(t.problems, fmt.Sprintf("round %d: %s", n, p))
	}
	t.unanswered.total += o.unanswered
	t.unanswered.applied += o.applied
	verdict := "ok"
	if len(o.problems) > 0 {
		verdict = fmt.Sprintf("%d PROBLEMS", len(o.problems))
	}
	fmt.Fprintf(t.out, "round %2d: killed after %5.2fs, %4d writes acknowledged (%d requests), %2d unanswered writes (%d applied), image integrity %s, ready again in %4.2fs, %5d records checked: %s\n",
		n, ran.Seconds(), c.writes(), c.creates+c.updates+c.deletes+c.batches+c.signins, o.unanswered, o.applied,
		image, t.restarts[len(t.restarts)-1].Seconds(), o.checked, verdict)
	return nil
}

// verify lists every record of the collection and checks it against the
// ledger.
func (t *test) verify(ctx context.Context) (outcome, error) {
	recs := map[string]map[string]any{}
	const perPage = 500
	for page := 1; ; page++ {
		var res struct {
			Items []map[string]any `json:"items"`
		}
		path := fmt.Sprintf("/api/collections/%s/records?page=%d&perPage=%d&skipTotal=1&sort=id", collectionName, page, perPage)
		if _, err := t.su.Do(ctx, http.MethodGet, path, nil, &res); err != nil {
			return outcome{}, fmt.Errorf("listing the records: %w", err)
		}
		for _, r := range res.Items {
			id, _ := r["id"].(string)
			if _, dup := recs[id]; dup || id == "" {
				return outcome{}, fmt.Errorf("listing the records: id %q twice or empty", id)
			}
			recs[id] = r
		}
		if len(res.Items) < perPage {
			break
		}
	}
	l := newLedger()
	for _, w := range t.writers {
		for id, it := range w.items {
			l.items[id] = it
		}
	}
	o := l.verify(recs)
	for _, w := range t.writers {
		w.rebuild()
	}
	return o, nil
}

// summary prints the totals and the verdict.
func (t *test) summary() error {
	c := t.total
	fmt.Fprintf(t.out, "\nsummary (%s):\n", t.engine())
	fmt.Fprintf(t.out, "  rounds (SIGKILL + restart): %d\n", t.cfg.rounds)
	fmt.Fprintf(t.out, "  acknowledged writes:        %d (%d creates, %d updates, %d deletes, %d batches of %d writes) + %d audited sign-ins\n",
		c.writes(), c.creates, c.updates, c.deletes, c.batches, c.batchWrites, c.signins)
	fmt.Fprintf(t.out, "  unanswered at the kills:    %d requests; resolved %d record writes, %d applied whole, %d absent whole\n",
		c.unanswered, t.unanswered.total, t.unanswered.applied, t.unanswered.total-t.unanswered.applied)
	lost := 0
	for _, p := range t.problems {
		if strings.Contains(p, "lost:") {
			lost++
		}
	}
	fmt.Fprintf(t.out, "  lost acknowledged writes:   %d\n", lost)
	files := "data.db and auxiliary.db"
	if t.dbURL != "" {
		files = "auxiliary.db (the data is in PostgreSQL)"
	}
	fmt.Fprintf(t.out, "  integrity:                  integrity_check and foreign_key_check ok on %d post-crash file images of %s, WAL recovered on a copy\n", t.images, files)
	for _, c := range t.checks {
		fmt.Fprintf(t.out, "                              %s\n", c)
	}
	d := slices.Clone(t.restarts[1:]) // the first start is not a restart
	slices.Sort(d)
	if len(d) > 0 {
		fmt.Fprintf(t.out, "  restart to ready (/readyz): min %.2fs, median %.2fs, max %.2fs\n",
			d[0].Seconds(), d[len(d)/2].Seconds(), d[len(d)-1].Seconds())
	}
	if len(t.problems) > 0 {
		fmt.Fprintf(t.out, "  problems: %d\n", len(t.problems))
		for i, p := range t.problems {
			if i == 50 {
				fmt.Fprintf(t.out, "    … and %d more\n", len(t.problems)-50)
				break
			}
			fmt.Fprintf(t.out, "    %s\n", p)
		}
		fmt.Fprintln(t.out, "FAIL")
		return errors.New("crash safety violated (see above)")
	}
	if c.writes() == 0 {
		fmt.Fprintln(t.out, "FAIL")
		return errors.New("no write was acknowledged: nothing was tested")
	}
	fmt.Fprintln(t.out, "PASS")
	return nil
}
