package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/timed"
	"github.com/basalt-dev/basalt/internal/tracing"
	"github.com/basalt-dev/basalt/internal/webhook"
)

// tracedServer is the serve command's wiring (observability, store,
// events, webhooks, REST) on a loopback listener; tp, when set, traces it.
type tracedServer struct {
	addr  string
	obs   *observability
	app   *app
	logs  *syncBuffer
	token string
}

func startTracedServer(t *testing.T, tp trace.TracerProvider) *tracedServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logs := &syncBuffer{}
	obs, err := startObservability(ctx, observeOptions{logFormat: "json", logLevel: "info", accessLog: true}, dir, logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(obs.close)
	if tp != nil {
		obs.setTracer(tracing.New(tp))
	}
	a, err := openWrapped(ctx, dir, "", obs.logger, obs.wrapStore)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.store.Close() })
	obs.attach(a)
	if err := a.auth.UpsertSuperuser(ctx, "root@example.com", "root-pass-123"); err != nil {
		t.Fatal(err)
	}
	hookOpts := webhook.Options{
		AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Transport:    obs.webhookTransport(),
	}
	_, hooks, stopEvents, err := startEvents(ctx, a, 0, hookOpts, nil, obs.dispatchTrace())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopEvents)
	srv := httptest.NewServer(rest.NewServer(rest.Deps{
		Logger: obs.logger, Collections: a.collections, Records: a.records, Auth: a.auth,
		Settings: a.settings, Files: a.files, Webhooks: hooks, Ready: obs.ready,
		Tracer: obs.restTracer(),
	}))
	t.Cleanup(srv.Close)
	s := &tracedServer{addr: strings.TrimPrefix(srv.URL, "http://"), obs: obs, app: a, logs: logs}
	status, body := call(t, http.MethodPost, s.addr, "/api/collections/_superusers/auth-with-password", "",
		map[string]any{"identity": "root@example.com", "password": "root-pass-123"})
	if status != http.StatusOK {
		t.Fatalf("superuser login: %d %v", status, body)
	}
	s.token, _ = body["token"].(string)
	return s
}

// hookReceiver records the headers of the webhook deliveries it gets.
type hookReceiver struct {
	mu      sync.Mutex
	headers []http.Header
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.headers = append(h.headers, r.Header.Clone())
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) received() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]http.Header(nil), h.headers...)
}

// createOrderWithHook creates the orders collection and a webhook on it
// posting to recv, as the superuser.
func (s *tracedServer) createOrderWithHook(t *testing.T, recv string) {
	t.Helper()
	status, body := call(t, http.MethodPost, s.addr, "/api/collections", s.token, map[string]any{
		"name": "orders", "type": "base", "createRule": "", "listRule": "",
		"fields": []map[string]any{{"name": "n", "type": "number"}},
	})
	if status != http.StatusOK {
		t.Fatalf("create collection: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, s.addr, "/api/webhooks", s.token, map[string]any{
		"url": recv + "/hook", "collections": []string{"orders"},
	})
	if status != http.StatusOK {
		t.Fatalf("create webhook: %d %v", status, body)
	}
}

func attrOf(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func attrString(s tracetest.SpanStub, key string) string {
	v, _ := attrOf(s, key)
	return v.Emit()
}

// TestTracingSpans sends a record create that carries a W3C traceparent to
// the real REST server over loopback, with tracing exporting to memory:
// the server span continues the caller's trace and is named for the route
// template, the store calls are its children, the access log line has the
// trace id, the event's dispatch has a consumer span, and the webhook
// delivery has a client span whose traceparent the receiver gets.
func TestTracingSpans(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	s := startTracedServer(t, tp)
	recv := &hookReceiver{}
	hookSrv := httptest.NewServer(recv)
	t.Cleanup(hookSrv.Close)
	s.createOrderWithHook(t, hookSrv.URL)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/collections/orders/records", strings.NewReader(`{"n":7}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	req.Header.Set("X-Request-Id", "trace-test-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create record: %d", res.StatusCode)
	}
	// An unmatched path: the span is named for the method alone.
	if got := getStatus(t, "http://"+s.addr+"/no/such/route"); got != http.StatusNotFound {
		t.Fatalf("unmatched route = %d", got)
	}

	var server, hook, dispatch tracetest.SpanStub
	var delivered http.Header
	_, msg := within(15*time.Second, func() string {
		server, hook, dispatch = tracetest.SpanStub{}, tracetest.SpanStub{}, tracetest.SpanStub{}
		for _, sp := range exp.GetSpans() {
			switch {
			case sp.SpanKind == trace.SpanKindServer && sp.SpanContext.TraceID().String() == traceID:
				server = sp
			case sp.Name == "POST webhook":
				hook = sp
			case sp.Name == "dispatch orders":
				dispatch = sp
			}
		}
		if got := recv.received(); len(got) > 0 {
			delivered = got[0]
		}
		switch {
		case server.Name == "":
			return "no server span with the caller's trace id"
		case dispatch.Name == "":
			return "no dispatch span"
		case hook.Name == "" || delivered == nil:
			return "no webhook delivery span or delivery"
		}
		return ""
	})
	if msg != "" {
		t.Fatal(msg)
	}

	// The server span.
	if want := "POST /api/collections/{collection}/records"; server.Name != want {
		t.Errorf("server span name = %q, want %q", server.Name, want)
	}
	if got := server.Parent.SpanID().String(); got != parentID || !server.Parent.IsRemote() {
		t.Errorf("server span parent = %s (remote %v), want the caller's %s", got, server.Parent.IsRemote(), parentID)
	}
	for key, want := range map[string]string{
		"http.request.method":       "POST",
		"http.route":                "/api/collections/{collection}/records",
		"http.response.status_code": "200",
		"url.path":                  "/api/collections/orders/records",
		"client.address":            "127.0.0.1",
		"basalt.request.id":         "trace-test-1",
	} {
		if got := attrString(server, key); got != want {
			t.Errorf("server span %s = %q, want %q", key, got, want)
		}
	}
	if server.Status.Code.String() == "Error" {
		t.Errorf("server span status = %v for a 200", server.Status)
	}

	// Store spans: children of the server span, directly or through InTx.
	spans := exp.GetSpans()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range spans {
		byID[sp.SpanContext.SpanID()] = sp
	}
	ops := map[string]bool{}
	for _, sp := range spans {
		if sp.SpanContext.TraceID() != server.SpanContext.TraceID() || attrString(sp, "db.system.name") == "" {
			continue
		}
		if sp.SpanKind != trace.SpanKindClient || attrString(sp, "db.system.name") != "sqlite" {
			t.Errorf("store span %q: kind %v, system %q", sp.Name, sp.SpanKind, attrString(sp, "db.system.name"))
		}
		ops[attrString(sp, "db.operation.name")] = true
		p := sp
		for p.Parent.SpanID() != server.SpanContext.SpanID() {
			next, ok := byID[p.Parent.SpanID()]
			if !ok {
				t.Errorf("store span %q does not descend from the server span", sp.Name)
				break
			}
			p = next
		}
		if attrString(sp, "db.operation.name") == "InsertRecord" {
			if sp.Name != "InsertRecord orders" || attrString(sp, "db.collection.name") != "orders" {
				t.Errorf("insert span = %q (collection %q)", sp.Name, attrString(sp, "db.collection.name"))
			}
			if byID[sp.Parent.SpanID()].Name != "InTx" {
				t.Errorf("insert span's parent = %q, want InTx", byID[sp.Parent.SpanID()].Name)
			}
		}
	}
	if !ops["InTx"] || !ops["InsertRecord"] {
		t.Errorf("store operations traced in the request: %v; want InTx and InsertRecord", ops)
	}

	// The access log line carries the trace id.
	if !strings.Contains(s.logs.String(), `"trace_id":"`+traceID+`"`) {
		t.Errorf("no log line with trace_id %s:\n%s", traceID, s.logs.String())
	}

	// The unmatched request.
	var unmatched bool
	for _, sp := range spans {
		if sp.SpanKind == trace.SpanKindServer && attrString(sp, "url.path") == "/no/such/route" {
			unmatched = true
			if _, ok := attrOf(sp, "http.route"); sp.Name != "GET" || ok {
				t.Errorf("unmatched request span = %q (http.route set: %v), want GET without a route", sp.Name, ok)
			}
		}
	}
	if !unmatched {
		t.Error("no span for the unmatched request")
	}

	// Dispatch: a consumer span of its own trace, naming the event.
	if dispatch.SpanKind != trace.SpanKindConsumer || dispatch.Parent.IsValid() {
		t.Errorf("dispatch span: kind %v, parent %v; want a consumer root", dispatch.SpanKind, dispatch.Parent.SpanID())
	}
	if attrString(dispatch, "messaging.destination.name") != "orders" || attrString(dispatch, "basalt.event.action") != "create" ||
		attrString(dispatch, "messaging.message.id") == "" {
		t.Errorf("dispatch span attributes = %v", dispatch.Attributes)
	}

	// Webhook delivery: the receiver joins the delivery span's trace.
	if hook.SpanKind != trace.SpanKindClient {
		t.Errorf("webhook span kind = %v", hook.SpanKind)
	}
	tp0 := delivered.Get("traceparent")
	parts := strings.Split(tp0, "-")
	if len(parts) != 4 || parts[1] != hook.SpanContext.TraceID().String() || parts[2] != hook.SpanContext.SpanID().String() {
		t.Errorf("delivery traceparent = %q, want trace %s span %s", tp0, hook.SpanContext.TraceID(), hook.SpanContext.SpanID())
	}
	if got := attrString(hook, "messaging.message.id"); got == "" || got != delivered.Get("webhook-id") {
		t.Errorf("webhook span message id = %q, delivery webhook-id = %q", got, delivered.Get("webhook-id"))
	}
	if got := attrString(hook, "http.response.status_code"); got != "204" {
		t.Errorf("webhook span status code = %q", got)
	}
	if got := attrString(hook, "url.full"); got != hookSrv.URL+"/hook" {
		t.Errorf("webhook span url.full = %q", got)
	}
}

// TestTracingOff serves with tracing off while a global tracer provider
// records (no Basalt code uses the global one, and none may): no span is
// made, no traceparent is sent on, and no tracing wrapper is installed.
func TestTracingOff(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	s := startTracedServer(t, nil)
	if s.obs.tracer != nil || s.obs.restTracer() != nil || s.obs.webhookTransport() != nil || s.obs.dispatchTrace() != nil {
		t.Fatal("tracing pieces installed with tracing off")
	}
	for st := s.app.store; st != nil; {
		if strings.Contains(fmt.Sprintf("%T", st), "traced") {
			t.Errorf("store %T is wrapped with tracing off", st)
		}
		w, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			break
		}
		st = w.Unwrap()
	}
	recv := &hookReceiver{}
	hookSrv := httptest.NewServer(recv)
	t.Cleanup(hookSrv.Close)
	s.createOrderWithHook(t, hookSrv.URL)
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/collections/orders/records", strings.NewReader(`{"n":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if _, msg := within(15*time.Second, func() string {
		if len(recv.received()) == 0 {
			return "no delivery"
		}
		return ""
	}); msg != "" {
		t.Fatal(msg)
	}
	if got := recv.received()[0].Get("traceparent"); got != "" {
		t.Errorf("delivery carries traceparent %q with tracing off", got)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans made with tracing off", n)
	}
	if strings.Contains(s.logs.String(), "trace_id") {
		t.Error("log lines carry trace_id with tracing off")
	}
}

// otlpReceiver is an OTLP/HTTP trace endpoint that decodes what it gets.
type otlpReceiver struct {
	mu    sync.Mutex
	reqs  []*coltrace.ExportTraceServiceRequest
	paths []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltrace.ExportTraceServiceRequest
	if r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(raw, &req) != nil {
		http.Error(w, "want application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	o.mu.Lock()
	o.reqs = append(o.reqs, &req)
	o.paths = append(o.paths, r.URL.Path)
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// receivedSpan is one exported span with its resource's attributes.
type receivedSpan struct {
	name, traceID, parentID string
	resource, attrs         map[string]string
}

func (o *otlpReceiver) spans() ([]receivedSpan, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []receivedSpan
	for _, req := range o.reqs {
		for _, rs := range req.ResourceSpans {
			res := map[string]string{}
			for _, kv := range rs.Resource.GetAttributes() {
				res[kv.Key] = kv.Value.GetStringValue()
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					attrs := map[string]string{}
					for _, kv := range sp.Attributes {
						attrs[kv.Key] = fmt.Sprint(kv.Value.GetStringValue(), kv.Value.GetIntValue())
					}
					out = append(out, receivedSpan{
						name: sp.Name, traceID: hex.EncodeToString(sp.TraceId), parentID: hex.EncodeToString(sp.ParentSpanId),
						resource: res, attrs: attrs,
					})
				}
			}
		}
	}
	return out, append([]string(nil), o.paths...)
}

// TestTracingOTLPExport runs "basalt serve --otlp-endpoint" against a
// loopback OTLP/HTTP receiver: a request's spans are exported as protobuf to
// /v1/traces by the time a graceful shutdown returns (the flush).
func TestTracingOTLPExport(t *testing.T) {
	t.Parallel()
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	t.Cleanup(collector.Close)

	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", addr, "--dir", dir, "--otlp-endpoint", collector.URL, "--shutdown-drain", "0s"},
			noEnv, strings.NewReader(""), out, out)
	}()
	if _, msg := within(15*time.Second, func() string {
		if getStatusQuiet("http://"+addr+"/api/health") != http.StatusOK {
			return "not healthy"
		}
		return ""
	}); msg != "" {
		t.Fatalf("%s:\n%s", msg, out.String())
	}
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/collections/users/records", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, out.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}

	spans, paths := recv.spans()
	for _, p := range paths {
		if p != "/v1/traces" {
			t.Errorf("export posted to %q, want /v1/traces", p)
		}
	}
	var server *receivedSpan
	var children int
	for i, sp := range spans {
		if sp.traceID != traceID {
			continue
		}
		if sp.parentID == "b7ad6b7169203331" {
			server = &spans[i]
		} else if sp.attrs["db.system.name"] != "" {
			children++
		}
	}
	if server == nil {
		t.Fatalf("no server span of trace %s among %d exported spans (paths %v):\n%s", traceID, len(spans), paths, out.String())
	}
	if want := "GET /api/collections/{collection}/records"; server.name != want {
		t.Errorf("exported server span %q, want %q", server.name, want)
	}
	if server.resource["service.name"] != "basalt" || server.resource["service.version"] != version {
		t.Errorf("resource = %v, want service.name basalt, service.version %s", server.resource, version)
	}
	if children == 0 {
		t.Error("no store span exported in the request's trace")
	}
}

// TestTraceFlags checks when tracing is on and how its flags are read.
func TestTraceFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		on     bool
		sample float64
	}{
		{"off by default", nil, nil, false, 1},
		{"flag", []string{"--otlp-endpoint", "http://127.0.0.1:4318"}, nil, true, 1},
		{"env", nil, map[string]string{"BASALT_OTLP_ENDPOINT": "http://c:4318", "BASALT_TRACE_SAMPLE": "0.25"}, true, 0.25},
		{"standard env", nil, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true, 1},
		{"standard traces env", []string{"--trace-sample", "0.5"}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true, 0.5},
		{"sdk disabled", []string{"--otlp-endpoint", "http://c:4318"}, map[string]string{"OTEL_SDK_DISABLED": "true"}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			o, _, err := parseFlags("serve", tc.args, getenv, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.observe.trace.on(); got != tc.on {
				t.Errorf("on = %v, want %v", got, tc.on)
			}
			if o.observe.trace.sample != tc.sample {
				t.Errorf("sample = %v, want %v", o.observe.trace.sample, tc.sample)
			}
		})
	}
	if _, _, err := parseFlags("serve", nil, func(k string) string {
		if k == "BASALT_TRACE_SAMPLE" {
			return "half"
		}
		return ""
	}, io.Discard); err == nil {
		t.Error("BASALT_TRACE_SAMPLE=half accepted")
	}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--dir", t.TempDir(), "--http", "127.0.0.1:0", "--otlp-endpoint", "http://c:4318", "--trace-sample", "2"},
		noEnv, strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--trace-sample") {
		t.Errorf("--trace-sample 2: got %v", err)
	}
	err = run(context.Background(), []string{"serve", "--dir", t.TempDir(), "--http", "127.0.0.1:0", "--otlp-endpoint", "collector:4318"},
		noEnv, strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--otlp-endpoint") {
		t.Errorf("--otlp-endpoint collector:4318: got %v", err)
	}
}

// TestTracingPostgresSystem checks that store spans name PostgreSQL as
// their database system when serve uses it.
func TestTracingPostgresSystem(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	obs, err := startObservability(ctx, observeOptions{logFormat: "text", logLevel: "error"}, t.TempDir(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(obs.close)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	obs.setTracer(tracing.New(tp))
	engine, err := postgres.Open(ctx, db, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := obs.wrapStore(engine)
	defer st.Close()
	if _, ok := timed.Unwrap(st).(*postgres.Store); !ok {
		t.Errorf("timed.Unwrap(%T) does not reach the engine", st)
	}
	rctx, span := tp.Tracer("test").Start(ctx, "request")
	if _, err := st.LastEventSeq(rctx); err != nil {
		t.Fatal(err)
	}
	span.End()
	var found bool
	for _, sp := range exp.GetSpans() {
		if sp.Name == "LastEventSeq" {
			found = true
			if got := attrString(sp, "db.system.name"); got != "postgresql" {
				t.Errorf("db.system.name = %q, want postgresql", got)
			}
		}
	}
	if !found {
		t.Error("no LastEventSeq span")
	}
}
