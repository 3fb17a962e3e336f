// Package client is a small JSON client of Basalt's REST API for the bench
// tools: one call per request, the answer's status always reported, so a
// tool can tell "answered with an error" from "no answer at all".
//
// It imports no Basalt package.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client sends requests to one server.
type Client struct {
	Base  string // http://host:port
	HTTP  *http.Client
	Token string // sent as Authorization when not empty
}

// New returns a client of base with its own connection pool of up to conns
// idle keep-alive connections and a per-request timeout.
func New(base string, conns int, timeout time.Duration) *Client {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{Base: base, HTTP: &http.Client{Transport: tr, Timeout: timeout}}
}

// StatusError is an answer outside 2xx.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// NoAnswerError is a request that got no HTTP answer: the connection failed,
// broke or timed out.
type NoAnswerError struct {
	Method, Path string
	Err          error
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("%s %s: no answer: %v", e.Method, e.Path, e.Err)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// Answered reports whether err, from Do, still means the server answered
// (a StatusError or a body that did not decode), as opposed to no answer.
func Answered(err error) bool {
	var na *NoAnswerError
	return err == nil || !errors.As(err, &na)
}

// Do sends body (JSON, when not nil) and decodes a 2xx answer into out (when
// not nil). It returns the status, 0 without an answer; a non-2xx status is a
// *StatusError, no answer a *NoAnswerError.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", c.Token)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return 0, &NoAnswerError{Method: method, Path: path, Err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		// The status line arrived but the body broke off: for a write the
		// server may or may not have committed, as with no answer at all.
		return 0, &NoAnswerError{Method: method, Path: path, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, &StatusError{Method: method, Path: path, Status: res.StatusCode, Body: string(bytes.TrimSpace(raw))}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("decoding %s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// SignIn authenticates with a password on an auth collection and returns
// the token.
func (c *Client) SignIn(ctx context.Context, collection, identity, password string) (string, error) {
	var auth struct {
		Token string `json:"token"`
	}
	_, err := c.Do(ctx, http.MethodPost, "/api/collections/"+collection+"/auth-with-password",
		map[string]any{"identity": identity, "password": password}, &auth)
	if err != nil {
		return "", err
	}
	if auth.Token == "" {
		return "", fmt.Errorf("signing in to %s: no token in the answer", collection)
	}
	return auth.Token, nil
}
