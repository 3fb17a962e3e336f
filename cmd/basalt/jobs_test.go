package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
)

// The job tests run "basalt serve" as separate processes (this test binary
// re-executed with jobsChildEnv set), so that one can be killed with
// SIGKILL. The child registers test handlers through serveSetup and notes
// what they do, one line each, in the file named by jobsMarksEnv.
const (
	jobsChildEnv   = "BASALT_TEST_JOBS_CHILD"
	jobsMarksEnv   = "BASALT_TEST_JOBS_MARKS"
	jobsEnqueueEnv = "BASALT_TEST_JOBS_ENQUEUE"
	jobsCronEnv    = "BASALT_TEST_JOBS_CRON"
)

func TestMain(m *testing.M) {
	if os.Getenv(jobsChildEnv) != "" {
		os.Exit(jobsChild())
	}
	os.Exit(m.Run())
}

// jobsChild is the re-executed server: "basalt serve" configured by the
// BASALT_* environment, with a job handler that blocks on its first
// attempt (until the process dies) and completes on later ones, and
// optionally a cron entry that runs every minute.
func jobsChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mark := func(format string, args ...any) {
		f, err := os.OpenFile(os.Getenv(jobsMarksEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(f, format+"\n", args...)
		f.Close()
	}
	setup := func(a *app) {
		a.jobs.Handle("test.slow", func(ctx context.Context, j *job.Job) error {
			mark("start %s %d %d", j.ID, j.Attempts, os.Getpid())
			if j.Attempts == 1 {
				<-ctx.Done()
				return ctx.Err()
			}
			mark("done %s %d %d", j.ID, j.Attempts, os.Getpid())
			return nil
		})
		if os.Getenv(jobsEnqueueEnv) != "" {
			if _, err := a.jobs.Enqueue(ctx, job.EnqueueOptions{Name: "test.slow", IdempotencyKey: "sigkill"}); err != nil {
				panic(err)
			}
		}
		if os.Getenv(jobsCronEnv) != "" {
			a.crons.Add("test.tick", "* * * * *", func(context.Context) error {
				mark("tick %s %d", time.Now().UTC().Truncate(time.Minute).Format("15:04"), os.Getpid())
				return nil
			})
		}
	}
	if err := serveSetup(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr, setup); err != nil {
		fmt.Fprintln(os.Stderr, "basalt:", err)
		return 1
	}
	return 0
}

// jobsServer is one child process.
type jobsServer struct {
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer
	done chan error
}

// startJobsServer starts a child serving dir (and db when set) with env.
func startJobsServer(t *testing.T, dir, db, marks string, env ...string) *jobsServer {
	t.Helper()
	s := &jobsServer{addr: freeAddr(t), out: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(os.Args[0], "-test.run=^$")
	s.cmd.Env = append(os.Environ(), jobsChildEnv+"=1", jobsMarksEnv+"="+marks, "BASALT_HTTP="+s.addr, "BASALT_DIR="+dir,
		"BASALT_DB="+db, "BASALT_JOB_LEASE=2s", "BASALT_JOB_POLL=100ms", "BASALT_LOG_LEVEL=warn")
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server %s output:\n%s", s.addr, s.out.b.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + s.addr + "/api/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited: %v\n%s", err, s.out.b.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s not healthy\n%s", s.addr, s.out.b.String())
		}
	}
}

// stop ends the child with SIGTERM and waits for a clean exit.
func (s *jobsServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server %s exited with %v\n%s", s.addr, err, s.out.b.String())
		}
	case <-time.After(40 * time.Second):
		t.Errorf("server %s did not stop", s.addr)
	}
}

// waitMarks waits until the marks file has a line starting with prefix and
// returns every line.
func waitMarks(t *testing.T, marks, prefix string, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(marks)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return lines
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q mark after %s; marks: %q", prefix, d, lines)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestJobSurvivesSIGKILL kills a server with SIGKILL while it runs a job;
// the restarted server runs the job again to completion once its lease
// expires (at-least-once).
func TestJobSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dir, db := t.TempDir(), ""
			if engine == "postgres" {
				db = pgtest.NewDatabase(t)
			}
			marks := filepath.Join(t.TempDir(), "marks")
			first := startJobsServer(t, dir, db, marks, jobsEnqueueEnv+"=1")
			lines := waitMarks(t, marks, "start ", 20*time.Second)
			if err := first.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-first.done
			if len(lines) != 1 || !strings.HasSuffix(lines[0], fmt.Sprintf(" 1 %d", first.cmd.Process.Pid)) {
				t.Fatalf("marks before the kill: %q", lines)
			}
			id := strings.Fields(lines[0])[1]

			second := startJobsServer(t, dir, db, marks, jobsEnqueueEnv+"=1")
			lines = waitMarks(t, marks, "done ", 30*time.Second)
			pid := second.cmd.Process.Pid
			want := []string{lines[0], fmt.Sprintf("start %s 2 %d", id, pid), fmt.Sprintf("done %s 2 %d", id, pid)}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("marks = %q, want %q", lines, want)
			}
			second.stop(t)

			st, err := openStore(context.Background(), dir, db, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			list, total, err := st.Jobs(context.Background(), store.JobFilter{Name: "test.slow"})
			if err != nil || total != 1 {
				t.Fatalf("jobs = %d, %v; want one (the idempotency key kept the restart from adding one)", total, err)
			}
			if j := list[0]; j.ID != id || j.State != store.JobSucceeded || j.Attempts != 2 || j.LeaseOwner != "" {
				t.Errorf("job after restart = %+v, want succeeded after 2 attempts", j)
			}
		})
	}
}

// TestCronOnceAcrossReplicas runs two "basalt serve" processes on one
// PostgreSQL database, each with the same every-minute cron entry: each
// scheduled minute runs on exactly one of them. It waits for a minute
// boundary (up to a minute).
func TestCronOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	marks := filepath.Join(t.TempDir(), "marks")
	servers := make([]*jobsServer, 2)
	for i := range servers {
		servers[i] = startJobsServer(t, t.TempDir(), db, marks, jobsCronEnv+"=1")
	}
	// The first minute both replicas schedule in full.
	minute := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	time.Sleep(time.Until(minute))
	waitMarks(t, marks, "tick "+minute.Format("15:04")+" ", 30*time.Second)
	time.Sleep(2 * time.Second) // time for a second, wrong run to show
	for _, s := range servers {
		s.stop(t)
	}
	b, _ := os.ReadFile(marks)
	runs := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(l, "tick "+minute.Format("15:04")+" ") {
			runs++
		}
	}
	if runs != 1 {
		t.Errorf("the cron entry ran %d times at %s across two replicas, want once; marks:\n%s", runs, minute.Format("15:04"), b)
	}
}
