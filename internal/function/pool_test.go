package function

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// A directory without function files costs no JavaScript runtime; files
// added later get the pool's runtimes on the next reload, and removing
// them all frees the runtimes again.
func TestPoolWithoutFiles(t *testing.T) {
	s := newTestService(t, nil, Options{TimeLimit: 5 * time.Second, PoolSize: 3, PollInterval: time.Hour})
	runtimes := func() int { return cap(s.current().idle) }
	steps := []struct {
		name     string
		files    map[string]string // written (or, when empty, removed) before the reload
		runtimes int
		route    apperr.Code // of GET /hello; empty: answered
	}{
		{name: "empty directory", runtimes: 0, route: apperr.NotFound},
		{name: "a file appears", files: map[string]string{"a.js": `basalt.route("GET", "/hello", () => ({ body: "hi" }));`}, runtimes: 3},
		{name: "the file goes", files: map[string]string{"a.js": ""}, runtimes: 0, route: apperr.NotFound},
	}
	for _, st := range steps {
		for name, src := range st.files {
			path := filepath.Join(s.opts.Dir, name)
			var err error
			if src == "" {
				err = os.Remove(path)
			} else {
				err = os.WriteFile(path, []byte(src), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Reload(); err != nil {
			t.Fatalf("%s: reload: %v", st.name, err)
		}
		if got := runtimes(); got != st.runtimes {
			t.Errorf("%s: %d runtimes, want %d", st.name, got, st.runtimes)
		}
		res, err := serve(s, "/hello")
		ae := apperr.As(err)
		switch {
		case st.route == "" && (err != nil || string(res.Body) != "hi"):
			t.Errorf("%s: GET /hello = %v, %v; want hi", st.name, res, err)
		case st.route != "" && (ae == nil || ae.Code != st.route):
			t.Errorf("%s: GET /hello error %v, want code %v", st.name, err, st.route)
		}
	}
}
