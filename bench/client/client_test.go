package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestDoClassifiesAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"id":"abc"}`))
		case "/bad":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"status":400}`))
		case "/cut":
			// Promise a longer body than is sent, then drop the connection.
			w.Header().Set("Content-Length", "100")
			w.Write([]byte(`{"id":`))
			panic(http.ErrAbortHandler)
		}
	}))
	defer srv.Close()
	c := New(srv.URL, 2, 5*time.Second)

	var out struct{ ID string }
	if status, err := c.Do(t.Context(), http.MethodGet, "/ok", nil, &out); err != nil || status != 200 || out.ID != "abc" {
		t.Errorf("/ok: status %d, err %v, id %q; want 200, nil, abc", status, err, out.ID)
	}

	status, err := c.Do(t.Context(), http.MethodPost, "/bad", map[string]any{"x": 1}, nil)
	var se *StatusError
	if !errors.As(err, &se) || status != 400 || !Answered(err) {
		t.Errorf("/bad: status %d, err %v; want 400 and an answered StatusError", status, err)
	}

	status, err = c.Do(t.Context(), http.MethodGet, "/cut", nil, nil)
	if status != 0 || Answered(err) {
		t.Errorf("/cut: status %d, err %v; want 0 and no answer", status, err)
	}

	srv.Close()
	status, err = c.Do(t.Context(), http.MethodGet, "/ok", nil, nil)
	if status != 0 || Answered(err) {
		t.Errorf("closed server: status %d, err %v; want 0 and no answer", status, err)
	}
}
