package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// exporter sends spans to an OTLP/HTTP collector as binary protobuf
// (http/protobuf, the OTLP/HTTP default).
//
// Basalt has its own exporter rather than the OpenTelemetry project's
// otlptracehttp because that one links gRPC and grpc-gateway (its
// configuration and collector packages are shared with the gRPC exporter):
// about 70 packages whose initialisation every Basalt process ran at start,
// tracing on or off, for about 3 MiB of idle RSS and 4 MB of binary.
// The wire format is the OTLP protobuf messages themselves: the body is a
// TracesData, which is field-for-field the collector's
// ExportTraceServiceRequest.
type exporter struct {
	cfg    exportConfig
	client *http.Client
	// backoff is the first wait before a retry; it doubles up to
	// maxBackoff.
	backoff, maxBackoff time.Duration

	// stopped ends exports in flight at Shutdown.
	stopped  context.Context
	shutdown context.CancelFunc
}

var _ sdktrace.SpanExporter = (*exporter)(nil)

func newExporter(cfg exportConfig) *exporter {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.tls != nil {
		transport.TLSClientConfig = cfg.tls
	}
	stopped, shutdown := context.WithCancel(context.Background())
	return &exporter{
		cfg: cfg, client: &http.Client{Transport: transport},
		backoff: time.Second, maxBackoff: 30 * time.Second,
		stopped: stopped, shutdown: shutdown,
	}
}

// errShutdown is returned by exports after Shutdown.
var errShutdown = errors.New("OTLP exporter: shut down")

// maxResponse bounds how much of a collector's answer is read.
const maxResponse = 64 << 10

// ExportSpans posts spans in one request, retrying while the collector
// answers that it is throttled or unavailable (429, 502, 503, 504, or no
// answer), within the export timeout.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.stopped.Err() != nil {
		return errShutdown
	}
	if len(spans) == 0 {
		return nil
	}
	body, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: resourceSpans(spans)})
	if err != nil {
		return fmt.Errorf("OTLP export: encoding spans: %w", err)
	}
	if e.cfg.gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body) // a bytes.Buffer does not fail
		if err := zw.Close(); err != nil {
			return fmt.Errorf("OTLP export: compressing spans: %w", err)
		}
		body = b.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
	defer cancel()
	defer context.AfterFunc(e.stopped, cancel)()
	return e.send(ctx, body)
}

// send posts body until the collector accepts it, refuses it for good, or
// ctx ends; the error then is the last failure seen before ctx ended.
func (e *exporter) send(ctx context.Context, body []byte) error {
	wait := e.backoff
	var last error
	for {
		retryAfter, err := e.post(ctx, body)
		var perm permanentError
		if err == nil || errors.As(err, &perm) {
			return err
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		d := max(wait, retryAfter)
		wait = min(wait*2, e.maxBackoff)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("OTLP export: giving up (%w) after: %w", context.Cause(ctx), last)
		case <-t.C:
		}
	}
}

// permanentError is a refusal retrying cannot change.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// post sends body once. A retryable failure returns the wait the collector
// asked for (Retry-After, in seconds), if any.
func (e *exporter) post(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.url, bytes.NewReader(body))
	if err != nil {
		return 0, permanentError{fmt.Errorf("OTLP export: %w", err)}
	}
	for k, v := range e.cfg.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.cfg.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := e.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("OTLP export: %w", err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if err := partialSuccess(answer); err != nil {
			otel.Handle(err)
		}
		return 0, nil
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode == http.StatusBadGateway,
		res.StatusCode == http.StatusServiceUnavailable, res.StatusCode == http.StatusGatewayTimeout:
		var after time.Duration
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			after = time.Duration(s) * time.Second
		}
		return after, fmt.Errorf("OTLP export: the collector answered %s", res.Status)
	}
	return 0, permanentError{fmt.Errorf("OTLP export: the collector answered %s: %.200s", res.Status, answer)}
}

// partialSuccess reads the collector's ExportTraceServiceResponse: field 1
// is partial_success, whose field 1 counts the rejected spans and field 2
// says why. It returns an error when spans were rejected or a warning came
// back; an answer it cannot read is no error (the spans were accepted).
func partialSuccess(b []byte) error {
	var rejected uint64
	var msg string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			ps, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil
			}
			b = b[n:]
			for len(ps) > 0 {
				f, t, m := protowire.ConsumeTag(ps)
				if m < 0 {
					return nil
				}
				ps = ps[m:]
				switch {
				case f == 1 && t == protowire.VarintType:
					v, m := protowire.ConsumeVarint(ps)
					if m < 0 {
						return nil
					}
					rejected, ps = v, ps[m:]
				case f == 2 && t == protowire.BytesType:
					v, m := protowire.ConsumeBytes(ps)
					if m < 0 {
						return nil
					}
					msg, ps = string(v), ps[m:]
				default:
					m := protowire.ConsumeFieldValue(f, t, ps)
					if m < 0 {
						return nil
					}
					ps = ps[m:]
				}
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil
		}
		b = b[n:]
	}
	if rejected == 0 && msg == "" {
		return nil
	}
	return fmt.Errorf("OTLP export: the collector rejected %d spans: %.200s", rejected, msg)
}

// Shutdown ends exports in flight and refuses further ones.
func (e *exporter) Shutdown(context.Context) error {
	e.shutdown()
	e.client.CloseIdleConnections()
	return nil
}
