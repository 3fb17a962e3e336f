package tracing

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP traces endpoint on loopback that decodes each
// request with the collector's own message type and answers with the
// statuses queued in answers (200 once they run out).
type collector struct {
	mu      sync.Mutex
	reqs    []*coltrace.ExportTraceServiceRequest
	headers []http.Header
	answers []int
	srv     *httptest.Server
}

func newCollector(t *testing.T, answers ...int) *collector {
	c := &collector{answers: answers}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		var req coltrace.ExportTraceServiceRequest
		if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(raw, &req) != nil {
			http.Error(w, "want an application/x-protobuf ExportTraceServiceRequest", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.reqs = append(c.reqs, &req)
		c.headers = append(c.headers, r.Header.Clone())
		status := http.StatusOK
		if len(c.answers) > 0 {
			status, c.answers = c.answers[0], c.answers[1:]
		}
		c.mu.Unlock()
		if status != http.StatusOK {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "not now", status)
			return
		}
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) received() ([]*coltrace.ExportTraceServiceRequest, []http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*coltrace.ExportTraceServiceRequest(nil), c.reqs...), append([]http.Header(nil), c.headers...)
}

func testExporter(url string, gzip bool) *exporter {
	e := newExporter(exportConfig{url: url, gzip: gzip, timeout: 5 * time.Second, headers: map[string]string{"Api-Key": "k 1"}})
	e.backoff, e.maxBackoff = time.Millisecond, 5*time.Millisecond
	return e
}

// Spans of every shape reach a collector as the OTLP messages it decodes:
// ids, parent, kind, times, attributes of each type, events, links, status
// (whose codes OTLP numbers differently), resource and scope.
func TestExporterEncodesSpans(t *testing.T) {
	for _, gz := range []bool{false, true} {
		col := newCollector(t)
		exp := testExporter(col.srv.URL+"/v1/traces", gz)
		res := resource.NewSchemaless(attribute.String("service.name", "basalt"))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
		tr := tp.Tracer("scope-a", trace.WithInstrumentationVersion("1.2"))

		remote := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled, Remote: true,
		})
		ctx, parent := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "GET /api/x",
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithLinks(trace.Link{SpanContext: remote, Attributes: []attribute.KeyValue{attribute.Bool("link", true)}}))
		_, child := tr.Start(ctx, "db.query", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("s", "v"), attribute.Int64("i", -7), attribute.Float64("f", 1.5), attribute.Bool("b", true),
			attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{1, 2}),
		))
		child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
		child.SetStatus(codes.Error, "boom")
		child.End()
		parent.SetStatus(codes.Ok, "")
		parent.End()
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}

		reqs, headers := col.received()
		if len(reqs) != 2 {
			t.Fatalf("gzip %v: %d requests, want 2 (a syncer exports each span)", gz, len(reqs))
		}
		if h := headers[0]; h.Get("Api-Key") != "k 1" || (h.Get("Content-Encoding") == "gzip") != gz {
			t.Errorf("gzip %v: headers %v", gz, h)
		}
		spans := map[string]*tracepb.Span{}
		for _, req := range reqs {
			rs := req.ResourceSpans[0]
			if got := rs.Resource.Attributes[0]; got.Key != "service.name" || got.Value.GetStringValue() != "basalt" {
				t.Errorf("resource %v", rs.Resource)
			}
			if sc := rs.ScopeSpans[0].Scope; sc.Name != "scope-a" || sc.Version != "1.2" {
				t.Errorf("scope %v", sc)
			}
			sp := rs.ScopeSpans[0].Spans[0]
			spans[sp.Name] = sp
		}
		p, c := spans["GET /api/x"], spans["db.query"]
		if p == nil || c == nil {
			t.Fatalf("spans %v", spans)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"trace id", hex.EncodeToString(c.TraceId), remote.TraceID().String()},
			{"child's parent", hex.EncodeToString(c.ParentSpanId), hex.EncodeToString(p.SpanId)},
			{"parent's parent (remote)", hex.EncodeToString(p.ParentSpanId), remote.SpanID().String()},
			{"parent flags", p.Flags, uint32(0x301)},
			{"child flags", c.Flags, uint32(0x101)},
			{"kinds", [2]tracepb.Span_SpanKind{p.Kind, c.Kind}, [2]tracepb.Span_SpanKind{tracepb.Span_SPAN_KIND_SERVER, tracepb.Span_SPAN_KIND_CLIENT}},
			{"statuses", [2]tracepb.Status_StatusCode{p.Status.Code, c.Status.Code}, [2]tracepb.Status_StatusCode{tracepb.Status_STATUS_CODE_OK, tracepb.Status_STATUS_CODE_ERROR}},
			{"status message", c.Status.Message, "boom"},
			{"times", c.StartTimeUnixNano > 0 && c.EndTimeUnixNano >= c.StartTimeUnixNano, true},
			{"event", c.Events[0].Name + "/" + c.Events[0].Attributes[0].Key, "retry/attempt"},
			{"link", hex.EncodeToString(p.Links[0].SpanId) + "/" + p.Links[0].Attributes[0].Key, remote.SpanID().String() + "/link"},
		}
		for _, ck := range checks {
			if ck.got != ck.want {
				t.Errorf("gzip %v: %s = %v, want %v", gz, ck.name, ck.got, ck.want)
			}
		}
		attrs := map[string]*commonpb.AnyValue{}
		for _, kv := range c.Attributes {
			attrs[kv.Key] = kv.Value
		}
		if attrs["s"].GetStringValue() != "v" || attrs["i"].GetIntValue() != -7 || attrs["f"].GetDoubleValue() != 1.5 ||
			!attrs["b"].GetBoolValue() || len(attrs["ss"].GetArrayValue().GetValues()) != 2 ||
			attrs["is"].GetArrayValue().GetValues()[1].GetIntValue() != 2 {
			t.Errorf("gzip %v: attributes %v", gz, c.Attributes)
		}
	}
}

// A throttled or unavailable collector is retried within the timeout; a
// refusal (400) is not; after Shutdown nothing is sent.
func TestExporterRetries(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	_, sp := tp.Tracer("t").Start(context.Background(), "s")
	sp.End()
	spans := []sdktrace.ReadOnlySpan{sp.(sdktrace.ReadOnlySpan)}
	for _, tc := range []struct {
		name     string
		answers  []int
		requests int
		fails    bool
	}{
		{"accepted", nil, 1, false},
		{"throttled then accepted", []int{429, 503, 502, 504}, 5, false},
		{"refused", []int{400}, 1, true},
	} {
		col := newCollector(t, tc.answers...)
		exp := testExporter(col.srv.URL, false)
		err := exp.ExportSpans(context.Background(), spans)
		reqs, _ := col.received()
		if (err != nil) != tc.fails || len(reqs) != tc.requests {
			t.Errorf("%s: err %v after %d requests; want failure %v after %d", tc.name, err, len(reqs), tc.fails, tc.requests)
		}
	}

	unavailable := make([]int, 10000)
	for i := range unavailable {
		unavailable[i] = http.StatusServiceUnavailable
	}
	col := newCollector(t, unavailable...)
	exp := testExporter(col.srv.URL, false)
	exp.cfg.timeout = 50 * time.Millisecond
	if err := exp.ExportSpans(context.Background(), spans); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("unavailable until the timeout: %v", err)
	}
	exp.Shutdown(context.Background())
	if err := exp.ExportSpans(context.Background(), spans); !errors.Is(err, errShutdown) {
		t.Errorf("export after shutdown: %v", err)
	}
}

// A partial success answer is read: rejected spans are an error for the
// OpenTelemetry error handler; an unreadable answer is not.
func TestPartialSuccess(t *testing.T) {
	ok, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	rejected, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{PartialSuccess: &coltrace.ExportTracePartialSuccess{RejectedSpans: 3, ErrorMessage: "too old"}})
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"empty", nil, ""},
		{"full success", ok, ""},
		{"rejected", rejected, "rejected 3 spans: too old"},
		{"garbage", []byte{0xff, 0xff, 0xff}, ""},
		{"json", []byte(`{"partialSuccess":{}}`), ""},
	} {
		err := partialSuccess(tc.body)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
