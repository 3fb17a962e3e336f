package tracing

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func newTest(t *testing.T) (*Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	return New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))), exp
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func TestEndpointURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://localhost:4318":       "http://localhost:4318/v1/traces",
		"https://otel.example.com/":   "https://otel.example.com/v1/traces",
		"http://c:4318/custom/traces": "http://c:4318/custom/traces",
		"localhost:4318":              "",
		"ftp://c/x":                   "",
		"http://":                     "",
	} {
		got, err := endpointURL(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("endpointURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Start(context.Background(), Config{Endpoint: "http://c:4318", SampleRatio: 1.5}); err == nil {
		t.Error("sample ratio 1.5 accepted")
	}
}

func TestStartRequest(t *testing.T) {
	t.Parallel()
	tr, exp := newTest(t)
	for _, tc := range []struct {
		method, route string
		status        int
		name          string
		failed        bool
	}{
		{"GET", "/api/health", 200, "GET /api/health", false},
		{"POST", "/api/x/{id}", 404, "POST /api/x/{id}", false},
		{"PATCH", "/api/x/{id}", 503, "PATCH /api/x/{id}", true},
		{"BREW", "", 405, "HTTP", false},
	} {
		r := httptest.NewRequest(tc.method, "/p", nil)
		_, end := tr.StartRequest(r, "rid", "203.0.113.9")
		end(tc.route, tc.status)
		spans := exp.GetSpans()
		sp := spans[len(spans)-1]
		if sp.Name != tc.name || sp.SpanKind != trace.SpanKindServer {
			t.Errorf("%s %s: span %q kind %v, want %q server", tc.method, tc.route, sp.Name, sp.SpanKind, tc.name)
		}
		if failed := sp.Status.Code == codes.Error; failed != tc.failed {
			t.Errorf("%s: status %v, want failed %v", tc.name, sp.Status, tc.failed)
		}
		if attr(sp, "client.address") != "203.0.113.9" || attr(sp, "basalt.request.id") != "rid" {
			t.Errorf("%s: attributes %v", tc.name, sp.Attributes)
		}
		if tc.method == "BREW" && (attr(sp, "http.request.method") != "_OTHER" || attr(sp, "http.request.method_original") != "BREW") {
			t.Errorf("unknown method attributes %v", sp.Attributes)
		}
	}
}

func TestTransport(t *testing.T) {
	t.Parallel()
	tr, exp := newTest(t)
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	client := &http.Client{Transport: tr.Transport(http.DefaultTransport, "POST hook", map[string]string{"X-Id": "x.id"})}
	req, _ := http.NewRequest(http.MethodPost, strings.Replace(srv.URL, "http://", "http://user:pw@", 1)+"/h?token=secret", nil)
	req.Header.Set("X-Id", "ev1")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if req.Header.Get("traceparent") != "" {
		t.Error("the caller's request was changed")
	}
	sp := exp.GetSpans()[0]
	if tp := got.Get("traceparent"); !strings.Contains(tp, sp.SpanContext.TraceID().String()+"-"+sp.SpanContext.SpanID().String()) {
		t.Errorf("traceparent %q does not name span %s", tp, sp.SpanContext.SpanID())
	}
	if u := attr(sp, "url.full"); u != srv.URL+"/h" {
		t.Errorf("url.full = %q, want no query or user info", u)
	}
	if attr(sp, "x.id") != "ev1" || attr(sp, "http.response.status_code") != "502" || sp.Status.Code != codes.Error || sp.SpanKind != trace.SpanKindClient {
		t.Errorf("span %q: %v %v", sp.Name, sp.Attributes, sp.Status)
	}

	// A transport failure fails the span.
	req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:1/h", nil)
	if _, err := client.Do(req); err == nil {
		t.Fatal("no error from a closed port")
	}
	spans := exp.GetSpans()
	if sp := spans[len(spans)-1]; sp.Status.Code != codes.Error || attr(sp, "error.type") != "transport" {
		t.Errorf("failed call span: %v %v", sp.Status, sp.Attributes)
	}
}

func TestStartQuery(t *testing.T) {
	t.Parallel()
	tr, exp := newTest(t)
	// Without a recording span: no span (background polling).
	if _, span := tr.StartQuery(context.Background(), SystemSQLite, "Events", ""); span != nil {
		t.Error("a store span without a parent")
	}
	ctx, parent := tr.tracer.Start(context.Background(), "request")
	_, span := tr.StartQuery(ctx, SystemPostgreSQL, "FindRecords", "posts")
	EndQuery(span, errors.New("boom"))
	parent.End()
	sp := exp.GetSpans()[0]
	if sp.Name != "FindRecords posts" || attr(sp, "db.system.name") != "postgresql" || attr(sp, "db.operation.name") != "FindRecords" ||
		attr(sp, "db.collection.name") != "posts" || sp.Status.Code != codes.Error || sp.Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("store span %q: %v %v parent %v", sp.Name, sp.Attributes, sp.Status, sp.Parent.SpanID())
	}
	EndQuery(nil, nil) // no span: nothing to do
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	tr, _ := newTest(t)
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("k", "v")
	log.InfoContext(context.Background(), "no span")
	if strings.Contains(buf.String(), "trace_id") {
		t.Errorf("trace_id without a span: %s", buf.String())
	}
	ctx, span := tr.tracer.Start(context.Background(), "x")
	defer span.End()
	buf.Reset()
	log.InfoContext(ctx, "in span")
	if want := `"trace_id":"` + span.SpanContext().TraceID().String() + `"`; !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), `"k":"v"`) {
		t.Errorf("log line %s lacks %s", buf.String(), want)
	}
}
