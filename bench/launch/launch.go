// Package launch starts, kills and stops Basalt server processes for the
// bench tools that restart servers (bench/crash, bench/soak): a server gets
// a loopback address and a data directory, is waited for on /readyz, and is
// ended by its pid, never by name. On Linux a server also dies with the tool
// that started it, so a killed tool leaves no server behind.
//
// It imports no Basalt package: the tools talk to servers over HTTP only.
package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Config says how to run one server.
type Config struct {
	Bin  string // the basalt binary
	Dir  string // --dir
	DB   string // --db (PostgreSQL URL); empty: SQLite in Dir
	Addr string // --http, a loopback host:port
	// MetricsAddr, when set, is --metrics-addr (a loopback host:port).
	MetricsAddr string
	// Log is the file the server's stdout and stderr are appended to.
	Log string
	// ReadyTimeout bounds the wait for /readyz (default 60 s).
	ReadyTimeout time.Duration
}

// Server is a running basalt serve process.
type Server struct {
	cfg  Config
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// loopback reports whether addr is host:port with a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Env is the environment servers run with: the tool's own without BASALT_*
// variables, so that a server starts with its defaults and the flags given
// whatever the caller's shell holds.
func Env() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BASALT_") {
			out = append(out, kv)
		}
	}
	return out
}

// dataArgs are the flags naming the data directory and database.
func dataArgs(dir, db string) []string {
	args := []string{"--dir", dir}
	if db != "" {
		args = append(args, "--db", db)
	}
	return args
}

// Superuser runs "basalt superuser upsert" on the data directory and
// database, creating them when needed.
func Superuser(ctx context.Context, bin, dir, db, email, password string) error {
	args := append([]string{"superuser", "upsert", email, password}, dataArgs(dir, db)...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("basalt superuser upsert: %w\n%s", err, out)
	}
	return nil
}

// Command runs another basalt subcommand on the data directory and
// database (such as "audit verify") and returns its combined output.
func Command(ctx context.Context, bin, dir, db string, sub ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, append(sub, dataArgs(dir, db)...)...)
	cmd.Env = Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("basalt %s: %w", strings.Join(sub, " "), err)
	}
	return string(out), nil
}

// Start runs basalt serve and waits until /readyz answers 200. It returns
// the server and how long it took from the spawn to ready. On failure no
// process is left running.
func Start(ctx context.Context, cfg Config) (*Server, time.Duration, error) {
	if !loopback(cfg.Addr) || (cfg.MetricsAddr != "" && !loopback(cfg.MetricsAddr)) {
		return nil, 0, fmt.Errorf("refusing to listen off loopback: %q %q", cfg.Addr, cfg.MetricsAddr)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = time.Minute
	}
	logFile, err := os.OpenFile(cfg.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, 0, fmt.Errorf("opening the server log: %w", err)
	}
	args := append([]string{"serve", "--http", cfg.Addr}, dataArgs(cfg.Dir, cfg.DB)...)
	if cfg.MetricsAddr != "" {
		args = append(args, "--metrics-addr", cfg.MetricsAddr)
	}
	fmt.Fprintf(logFile, "--- %s: %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), cfg.Bin, strings.Join(args, " "))
	cmd := exec.Command(cfg.Bin, args...)
	cmd.Env = Env()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = procAttr()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, 0, fmt.Errorf("starting basalt serve: %w", err)
	}
	s := &Server{cfg: cfg, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, cfg.ReadyTimeout); err != nil {
		_ = s.Kill()
		return nil, 0, err
	}
	return s, time.Since(began), nil
}

// waitReady polls /readyz until it answers 200, the process exits, ctx
// ends or timeout passes.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	url := "http://" + s.cfg.Addr + "/readyz"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("basalt serve exited before it was ready (%v); log: %s", s.err, s.cfg.Log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("basalt serve not ready on %s after %s; log: %s", url, timeout, s.cfg.Log)
		}
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Kill sends SIGKILL and waits for the process to be gone. Killing a
// process that already exited is not an error.
func (s *Server) Kill() error {
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing basalt serve (pid %d): %w", s.Pid(), err)
	}
	<-s.done
	return nil
}

// Stop sends SIGTERM and waits up to timeout for a clean exit, then kills
// the process. It reports an unclean exit as an error.
func (s *Server) Stop(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping basalt serve (pid %d): %w", s.Pid(), err)
	}
	select {
	case <-s.done:
	case <-time.After(timeout):
		_ = s.Kill()
		return fmt.Errorf("basalt serve (pid %d) did not stop within %s after SIGTERM; killed", s.Pid(), timeout)
	}
	if s.err != nil {
		return fmt.Errorf("basalt serve (pid %d) exited uncleanly: %w; log: %s", s.Pid(), s.err, s.cfg.Log)
	}
	return nil
}
