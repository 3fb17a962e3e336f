package function

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// newTestService starts a service over files with small limits.
func newTestService(t *testing.T, files map[string]string, opts Options) *Service {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts.Dir = dir
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func serve(s *Service, path string) (*RouteResponse, error) {
	return s.ServeRoute(context.Background(), &RouteRequest{Method: "GET", Path: path})
}

func TestLimits(t *testing.T) {
	files := map[string]string{"a.js": `
basalt.route("GET", "/loop", () => { for (;;) {} });
basalt.route("GET", "/bomb", () => { const a = []; for (let i = 0; ; i++) a.push("x".repeat(1 << 20)); });
basalt.route("GET", "/concat", () => { let s = "x"; for (;;) s += s; });
basalt.route("GET", "/repeat", () => ({ body: "x".repeat(1e9) }));
basalt.route("GET", "/sparse", () => { const a = []; a.length = 4e9; return { body: a.join("x") }; });
basalt.route("GET", "/recurse", () => { const f = (n) => f(n + 1) + 1; return { body: String(f(0)) }; });
basalt.route("GET", "/ok", () => ({ body: "ok" }));
`}
	// The memory cases get a time limit they never reach, even on a busy
	// machine; the loop gets a short one.
	memory := newTestService(t, files, Options{TimeLimit: 30 * time.Second, MemoryBudget: 16 << 20, PoolSize: 2})
	timed := newTestService(t, files, Options{TimeLimit: 300 * time.Millisecond, MemoryBudget: 1 << 30, PoolSize: 2})
	for _, tc := range []struct {
		s    *Service
		path string
		code apperr.Code
		want error
	}{
		{memory, "/bomb", apperr.Unavailable, errMemory},
		{memory, "/concat", apperr.Unavailable, errMemory},
		{timed, "/loop", apperr.Unavailable, errTimeLimit},
		{timed, "/repeat", apperr.Internal, nil},
		{timed, "/sparse", apperr.Internal, nil},
		{timed, "/recurse", apperr.Internal, nil},
	} {
		s := tc.s
		start := time.Now()
		_, err := serve(s, tc.path)
		if apperr.CodeOf(err) != tc.code || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v after %v, want %s %v", tc.path, err, time.Since(start), tc.code, tc.want)
		}
		t.Logf("%s: %v after %v", tc.path, err, time.Since(start).Round(time.Millisecond))
		if res, err := serve(s, "/ok"); err != nil || string(res.Body) != "ok" {
			t.Fatalf("after %s: %v", tc.path, err)
		}
	}
}

// A route that calls itself through the API is refused at the depth the
// pool can serve, at once, instead of waiting for a runtime.
func TestNesting(t *testing.T) {
	s := newTestService(t, map[string]string{"a.js": `
basalt.route("GET", "/self", () => ({ body: "never" }));
`}, Options{TimeLimit: 5 * time.Second, PoolSize: 2})
	p := s.current()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		ctx = context.WithValue(ctx, depthKey{}, i+1)
	}
	start := time.Now()
	err := s.call(ctx, p, 0, nil, func(v *vm) []goja.Value { return nil }, nil)
	if err == nil || time.Since(start) > time.Second {
		t.Errorf("nested call at the pool's depth: %v after %v", err, time.Since(start))
	}
	if err := s.call(context.Background(), p, 0, nil, func(v *vm) []goja.Value { return nil }, nil); err != nil {
		t.Errorf("top-level call: %v", err)
	}
}

func writeFile(tb testing.TB, dir, name, src string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
}
