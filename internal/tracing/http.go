package tracing

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// RequestIDKey is the attribute carrying Basalt's request id (X-Request-Id).
const RequestIDKey = attribute.Key("basalt.request.id")

// StartRequest begins the server span of r, continuing the caller's trace
// when r carries a W3C traceparent (and tracestate), and returns r's
// context with the span and the function that ends the span once r is
// answered. The span is named for the method until end gives the route
// template ("" when no route matched): "GET /api/collections/{collection}/records".
func (t *Tracer) StartRequest(r *http.Request, requestID, clientIP string) (context.Context, func(route string, status int)) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	method := knownMethod(r.Method)
	ctx, span := t.tracer.Start(ctx, spanMethod(method), trace.WithSpanKind(trace.SpanKindServer))
	if !span.IsRecording() {
		// Not sampled: the span only carries the trace context on.
		return ctx, func(string, int) { span.End() }
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	span.SetAttributes(
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLPath(r.URL.Path),
		semconv.URLScheme(scheme),
		semconv.ClientAddress(clientIP),
		semconv.UserAgentOriginal(r.UserAgent()),
		RequestIDKey.String(requestID),
	)
	if method == "_OTHER" {
		span.SetAttributes(semconv.HTTPRequestMethodOriginal(r.Method))
	}
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		span.SetAttributes(semconv.NetworkPeerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			span.SetAttributes(semconv.NetworkPeerPort(p))
		}
	}
	return ctx, func(route string, status int) {
		if route != "" {
			span.SetName(spanMethod(method) + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		// Server spans are errors for 5xx only: a 4xx is the client's.
		if status >= 500 {
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

// Transport returns rt with a client span named name around every request
// it sends, and the trace context injected into the request's headers so
// that the receiver can join the trace. headerAttrs copies request headers
// into span attributes (header name to attribute key). The URL is recorded
// without its query and user info, which may hold secrets.
func (t *Tracer) Transport(rt http.RoundTripper, name string, headerAttrs map[string]string) http.RoundTripper {
	return &transport{t: t, rt: rt, name: name, headerAttrs: headerAttrs}
}

type transport struct {
	t           *Tracer
	rt          http.RoundTripper
	name        string
	headerAttrs map[string]string
}

func (c *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	u := *req.URL
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(knownMethod(req.Method)),
		semconv.URLFull(u.String()),
		semconv.ServerAddress(req.URL.Hostname()),
	}
	if p := req.URL.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			attrs = append(attrs, semconv.ServerPort(n))
		}
	}
	for h, key := range c.headerAttrs {
		if v := req.Header.Get(h); v != "" {
			attrs = append(attrs, attribute.String(key, v))
		}
	}
	ctx, span := c.t.tracer.Start(req.Context(), c.name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	// A RoundTripper must not change the request it is given.
	req = req.Clone(ctx)
	c.t.prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String("transport"))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return resp, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}

// knownMethod is method when HTTP defines it, else "_OTHER", so that
// arbitrary methods cannot grow span names.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
}

// spanMethod is the method part of a span name ("HTTP" for unknown ones).
func spanMethod(method string) string {
	if method == "_OTHER" {
		return "HTTP"
	}
	return method
}
