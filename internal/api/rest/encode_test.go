package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// decodeJSON parses a response body, failing the test when it is not JSON.
func decodeJSON(t *testing.T, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	return v
}

// sameJSON reports whether two JSON texts hold equal values.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	a, _ := json.Marshal(decodeJSON(t, got))
	b, _ := json.Marshal(decodeJSON(t, []byte(want)))
	return bytes.Equal(a, b)
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		want   string // the whole JSON body
	}{
		{"invalid", apperr.New(apperr.Invalid, "bad thing"), 400,
			`{"status":400,"message":"Bad thing.","data":{}}`},
		{"invalid default message", apperr.New(apperr.Invalid, ""), 400,
			`{"status":400,"message":"Something went wrong while processing your request.","data":{}}`},
		{"field problems", apperr.Fields("Failed to create record.", map[string]apperr.Field{
			"title": {Code: "validation_required", Message: "cannot be blank"}}), 400,
			`{"status":400,"message":"Failed to create record.","data":{"title":{"code":"validation_required","message":"Cannot be blank."}}}`},
		{"unauthenticated", apperr.New(apperr.Unauthenticated, ""), 401,
			`{"status":401,"message":"Missing or invalid authentication.","data":{}}`},
		{"forbidden", apperr.New(apperr.Forbidden, "only superusers can perform this action"), 403,
			`{"status":403,"message":"Only superusers can perform this action.","data":{}}`},
		{"forbidden default", apperr.New(apperr.Forbidden, ""), 403,
			`{"status":403,"message":"You are not allowed to perform this request.","data":{}}`},
		{"not found", apperr.New(apperr.NotFound, ""), 404,
			`{"status":404,"message":"The requested resource wasn't found.","data":{}}`},
		{"wrapped not found", fmt.Errorf("finding: %w", apperr.New(apperr.NotFound, "Missing collection context.")), 404,
			`{"status":404,"message":"Missing collection context.","data":{}}`},
		{"conflict", apperr.New(apperr.Conflict, "already exists"), 409,
			`{"status":409,"message":"Already exists.","data":{}}`},
		{"unique violation", &apperr.Error{Code: apperr.Conflict, Message: "Failed to create record.",
			Data: map[string]any{"email": apperr.Field{Code: "validation_not_unique", Message: "Value must be unique."}}}, 400,
			`{"status":400,"message":"Failed to create record.","data":{"email":{"code":"validation_not_unique","message":"Value must be unique."}}}`},
		{"too large", apperr.New(apperr.TooLarge, ""), 413,
			`{"status":413,"message":"Request Entity Too Large.","data":{}}`},
		{"too many requests", apperr.New(apperr.TooManyRequests, ""), 429,
			`{"status":429,"message":"Too Many Requests.","data":{}}`},
		{"unavailable", apperr.New(apperr.Unavailable, "try again later"), 503,
			`{"status":503,"message":"Try again later.","data":{}}`},
		{"internal hides message and data", &apperr.Error{Code: apperr.Internal, Message: "sql: no such table x",
			Data: map[string]any{"a": "b"}, Cause: errors.New("disk")}, 500,
			`{"status":500,"message":"Something went wrong while processing your request.","data":{}}`},
		{"plain error", errors.New("pq: password authentication failed"), 500,
			`{"status":500,"message":"Something went wrong while processing your request.","data":{}}`},
		{"unknown code", &apperr.Error{Code: "weird", Message: "x"}, 500,
			`{"status":500,"message":"Something went wrong while processing your request.","data":{}}`},
		{"nested problems", &apperr.Error{Code: apperr.Invalid, Message: "An error occurred while saving the new settings.",
			Data: map[string]any{"batch": map[string]any{"maxRequests": apperr.Field{Code: "validation_required", Message: "Cannot be blank."}},
				"rateLimits": map[string]any{"rules": map[string]any{"0": map[string]any{"label": &apperr.Field{Code: "c", Message: "m"}}}}}}, 400,
			`{"status":400,"message":"An error occurred while saving the new settings.","data":{
				"batch":{"maxRequests":{"code":"validation_required","message":"Cannot be blank."}},
				"rateLimits":{"rules":{"0":{"label":{"code":"c","message":"M."}}}}}}`},
		{"batch sub-response kept", &apperr.Error{Code: apperr.Invalid, Message: "Batch transaction failed.",
			Data: map[string]any{"requests": map[string]any{"1": map[string]any{"code": "batch_request_failed", "message": "Batch request failed.",
				"response": map[string]any{"status": 404, "message": "Missing.", "data": map[string]any{}}}}}}, 400,
			`{"status":400,"message":"Batch transaction failed.","data":{"requests":{"1":{"code":"batch_request_failed","message":"Batch request failed.",
				"response":{"status":404,"message":"Missing.","data":{}}}}}}`},
		{"unsafe data values", &apperr.Error{Code: apperr.Invalid, Message: "x",
			Data: map[string]any{"a": errors.New("secret internals"), "b": 42, "c": "custom message", "d": (*apperr.Field)(nil),
				"e": map[string]string{"f": "g"}, "h": apperr.Wrap(apperr.Internal, "secret", nil)}}, 400,
			`{"status":400,"message":"X.","data":{"a":{"code":"validation_invalid_value","message":"Invalid value."},
				"b":{"code":"validation_invalid_value","message":"Invalid value."},
				"c":{"code":"validation_invalid_value","message":"Custom message."},
				"d":{"code":"validation_invalid_value","message":"Invalid value."},
				"e":{"f":{"code":"validation_invalid_value","message":"G."}},
				"h":{"code":"validation_invalid_value","message":"Invalid value."}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/api/x", nil)
			writeError(w, r, tt.err, logger)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			if !sameJSON(t, w.Body.Bytes(), tt.want) {
				t.Fatalf("body = %s\nwant   %s", w.Body.Bytes(), tt.want)
			}
			if tt.status == 500 {
				if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), tt.err.Error()) {
					t.Fatalf("internal error not logged with its cause: %q", logs.String())
				}
			}
		})
	}
}

func TestWriteErrorNeverLeaksCause(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		apperr.Wrap(apperr.Internal, "boom", errors.New("SECRET-1")),
		fmt.Errorf("wrapping: %w", errors.New("SECRET-1")),
		apperr.Wrap(apperr.Invalid, "Bad input.", errors.New("SECRET-1")),
		apperr.Wrap(apperr.NotFound, "", errors.New("SECRET-1")),
	} {
		w := httptest.NewRecorder()
		writeError(w, httptest.NewRequest(http.MethodGet, "/", nil), err, slog.New(slog.DiscardHandler))
		if strings.Contains(w.Body.String(), "SECRET") {
			t.Fatalf("response leaks the cause of %v: %s", err, w.Body.String())
		}
	}
}

func TestWriteErrorCyclicData(t *testing.T) {
	t.Parallel()
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	w := httptest.NewRecorder()
	writeError(w, httptest.NewRequest(http.MethodGet, "/", nil),
		&apperr.Error{Code: apperr.Invalid, Message: "x", Data: cyclic}, nil)
	if w.Code != 400 {
		t.Fatalf("status = %d, want 400", w.Code)
	}
	decodeJSON(t, w.Body.Bytes())
}

func TestWriteErrorProblemDetails(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept", "application/json;q=0.9, application/problem+json")
	writeError(w, r, apperr.Fields("Failed.", map[string]apperr.Field{"a": {Code: "c", Message: "m"}}), nil)
	if w.Code != 400 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	want := `{"type":"about:blank","title":"Bad Request","status":400,"detail":"Failed.","data":{"a":{"code":"c","message":"M."}}}`
	if !sameJSON(t, w.Body.Bytes(), want) {
		t.Fatalf("body = %s\nwant   %s", w.Body.Bytes(), want)
	}
}

func TestWriteErrorClientGoneLoggedQuietly(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil)) // info and above
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	r = r.WithContext(ctx)
	writeError(httptest.NewRecorder(), r, fmt.Errorf("query: %w", ctx.Err()), logger)
	if logs.Len() != 0 {
		t.Fatalf("a cancelled request was logged as an error: %s", logs.String())
	}
}

func TestErrorBody(t *testing.T) {
	t.Parallel()
	status, body := errorBody(apperr.New(apperr.NotFound, "gone"))
	if status != 404 || body["message"] != "Gone." || body["status"] != 404 {
		t.Fatalf("errorBody = %d %v", status, body)
	}
	if _, ok := body["data"].(map[string]any); !ok {
		t.Fatalf("data = %#v, want an object", body["data"])
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	writeJSON(w, http.StatusCreated, map[string]any{"a": "<b>", "n": 1})
	if w.Code != 201 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	if got := w.Body.String(); got != `{"a":"\u003cb\u003e","n":1}`+"\n" {
		t.Fatalf("body = %q", got)
	}

	w = httptest.NewRecorder()
	writeJSON(w, http.StatusNoContent, map[string]any{"ignored": true})
	if w.Code != 204 || w.Body.Len() != 0 {
		t.Fatalf("204: status %d, body %q", w.Code, w.Body.String())
	}

	for _, bad := range []any{math.NaN(), make(chan int), map[string]any{"f": func() {}}} {
		w = httptest.NewRecorder()
		writeJSON(w, http.StatusOK, bad)
		if w.Code != 500 {
			t.Fatalf("unencodable %T: status %d, want 500", bad, w.Code)
		}
		decodeJSON(t, w.Body.Bytes())
	}
}

func TestSentenize(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                 "",
		"   ":              "",
		"hello":            "Hello.",
		" hello world  ":   "Hello world.",
		"Done.":            "Done.",
		"why?":             "Why?",
		"stop!":            "Stop!",
		"élan":             "Élan.",
		"already Capital.": "Already Capital.",
		"\xff":             "\uFFFD.",
	}
	for in, want := range tests {
		if got := sentenize(in); got != want {
			t.Errorf("sentenize(%q) = %q, want %q", in, got, want)
		}
	}
}
