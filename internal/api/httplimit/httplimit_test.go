package httplimit_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/api/httplimit"
)

// guard is how long a behaviour may take before a test gives up on it; it
// is far above what any of them needs.
const guard = 20 * time.Second

var shed503 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusServiceUnavailable)
})

// waitFor polls cond until it holds or guard passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func TestShedsOverTheCapAndRecovers(t *testing.T) {
	t.Parallel()
	l := httplimit.New(httplimit.Options{MaxConcurrent: 2, QueueWait: 20 * time.Millisecond})
	release := make(chan struct{})
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}), shed503))
	t.Cleanup(srv.Close)

	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		wg.Go(func() { statuses <- get(t, srv.URL+"/block").StatusCode })
	}
	waitFor(t, "two blocked requests", func() bool { return l.InFlight() == 2 })
	for i := range 3 {
		res := get(t, srv.URL+"/fast")
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("request %d over the cap: status %d, want 503", i+3, res.StatusCode)
		}
		if got := res.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want 1", got)
		}
	}
	if got := l.Shed(); got != 3 {
		t.Errorf("Shed() = %d, want 3", got)
	}
	close(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("blocked request: status %d, want 200", s)
		}
	}
	if res := get(t, srv.URL+"/fast"); res.StatusCode != http.StatusOK {
		t.Errorf("after the blockers: status %d, want 200", res.StatusCode)
	}
}

func TestQueuedRequestGetsTheFreedSlot(t *testing.T) {
	t.Parallel()
	l := httplimit.New(httplimit.Options{MaxConcurrent: 1, QueueWait: guard})
	release := make(chan struct{})
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
	}), shed503))
	t.Cleanup(srv.Close)
	done := make(chan int, 1)
	go func() { done <- get(t, srv.URL+"/block").StatusCode }()
	waitFor(t, "the blocker", func() bool { return l.InFlight() == 1 })
	queued := make(chan int, 1)
	go func() { queued <- get(t, srv.URL+"/fast").StatusCode }()
	close(release)
	if s := <-done; s != http.StatusOK {
		t.Errorf("blocker: %d", s)
	}
	if s := <-queued; s != http.StatusOK {
		t.Errorf("queued request: status %d, want 200 (it waits for the slot)", s)
	}
	if l.Shed() != 0 {
		t.Errorf("Shed() = %d, want 0", l.Shed())
	}
}

func TestNoCapAdmitsEverything(t *testing.T) {
	t.Parallel()
	l := httplimit.New(httplimit.Options{})
	srv := httptest.NewServer(l.Wrap(http.NotFoundHandler(), shed503))
	t.Cleanup(srv.Close)
	if res := get(t, srv.URL); res.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want the handler's 404", res.StatusCode)
	}
}

// rawConn dials srv and sends head (a request line and headers).
func rawConn(t *testing.T, srv *httptest.Server, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWriteTimeoutEndsAStalledResponse(t *testing.T) {
	t.Parallel()
	l := httplimit.New(httplimit.Options{WriteTimeout: 200 * time.Millisecond})
	werr := make(chan error, 1)
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				werr <- err
				return
			}
		}
	}), shed503))
	t.Cleanup(srv.Close)
	// The client never reads: the server's writes fill the socket buffers
	// and block until the deadline ends them.
	rawConn(t, srv, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-werr:
		if !strings.Contains(err.Error(), "timeout") {
			t.Errorf("write error %v, want a timeout", err)
		}
	case <-time.After(guard):
		t.Fatal("the stalled response was not ended by the write timeout")
	}
}

func TestReadTimeoutEndsATricklingBody(t *testing.T) {
	t.Parallel()
	l := httplimit.New(httplimit.Options{ReadTimeout: 200 * time.Millisecond})
	rerr := make(chan error, 1)
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		rerr <- err
	}), shed503))
	t.Cleanup(srv.Close)
	c := rawConn(t, srv, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
	select {
	case err := <-rerr:
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("body read error %v, want a timeout", err)
		}
	case <-time.After(guard):
		t.Fatal("the trickling body was not ended by the read timeout")
	}
	_ = c
}

// The read deadline must not outlive the body: net/http's background read
// of an idle connection would fail at the deadline and cancel the context
// of the request still being handled, and of every later request on the
// connection.
func TestReadTimeoutSparesTheWorkAfterTheBody(t *testing.T) {
	t.Parallel()
	l := httplimit.New(httplimit.Options{ReadTimeout: 100 * time.Millisecond})
	ctxErrs := make(chan error, 3)
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("%s: reading the body: %v", r.Method, err)
		}
		// Work well past the read deadline.
		time.Sleep(400 * time.Millisecond)
		ctxErrs <- r.Context().Err()
		io.WriteString(w, "ok")
	}), shed503))
	t.Cleanup(srv.Close)
	c := rawConn(t, srv, "")
	br := bufio.NewReader(c)
	for _, req := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(guard))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if err := <-ctxErrs; err != nil || string(body) != "ok" {
			t.Errorf("%q: context %v, body %q; want an uncancelled request answered ok", req, err, body)
		}
	}
}

func ExampleLimiter_Wrap() {
	l := httplimit.New(httplimit.Options{MaxConcurrent: 100, QueueWait: 250 * time.Millisecond})
	h := l.Wrap(http.NotFoundHandler(), shed503)
	fmt.Println(h != nil)
	// Output: true
}
