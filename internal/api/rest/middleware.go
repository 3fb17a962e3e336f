package rest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/logs"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
)

// RequestIDHeader carries the request id, in requests (accepted when sane)
// and in every response.
const RequestIDHeader = "X-Request-Id"

// maxRequestID bounds an accepted X-Request-Id.
const maxRequestID = 128

// unmatchedRoute labels requests that no route matched, so that scanners
// cannot grow the metrics' label sets.
const unmatchedRoute = "unmatched"

// requestState is what the outer middleware (observe) learns about a
// request from the layers inside it: ServeMux sets the matched pattern on the
// request it is handed, which is a copy once loadAuth adds the caller.
type requestState struct {
	route string
	auth  *schema.Record
	// err is the error the request was answered with (writeError), and
	// errMessage the message the client got.
	err        error
	errMessage string
	// proxy says whether the peer may name the client in forwarding
	// headers; see clientIP.
	proxy proxyTrust
}

// proxyTrust is whether forwarding headers are honoured for a request.
type proxyTrust uint8

const (
	// proxyAny: no trusted networks are configured, so the headers named by
	// the trustedProxy settings are honoured from any peer (PocketBase).
	proxyAny proxyTrust = iota
	// proxyTrusted: the peer is in a trusted network.
	proxyTrusted
	// proxyUntrusted: the peer is not; forwarding headers are ignored.
	proxyUntrusted
)

type stateKey struct{}

func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	return st
}

// observe gives every request an id (echoed in X-Request-Id and carried by
// the context into every log line), counts it in the metrics and writes one
// access log line once it is answered.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = random.String(random.LowerAlnum, 20)
		}
		w.Header().Set(RequestIDHeader, id)
		if r.Header.Get("Origin") != "" {
			// Browser clients may read the id of a cross-origin answer.
			w.Header().Add("Access-Control-Expose-Headers", RequestIDHeader)
		}
		st := &requestState{proxy: s.proxyTrust(r)}
		ctx := logs.WithRequestID(context.WithValue(r.Context(), stateKey{}, st), id)
		r = r.WithContext(audit.WithActorFunc(ctx, s.actorOf(r)))
		var endSpan func(route string, status int)
		if s.Tracer != nil {
			var ctx context.Context
			ctx, endSpan = s.Tracer.StartRequest(r, id, s.ip(r))
			r = r.WithContext(ctx)
		}
		rw := &responseRecorder{ResponseWriter: w}
		done := s.Metrics.RequestStarted()
		defer func() {
			done()
			if endSpan != nil {
				endSpan(st.route, rw.statusCode())
			}
			took := time.Since(start)
			route := st.route
			if route == "" {
				route = unmatchedRoute
			}
			s.Metrics.ObserveRequest(route, r.Method, rw.statusCode(), took)
			s.accessLog(r, rw, st, route, took)
		}()
		next.ServeHTTP(rw, r)
	})
}

// routed sits right around the ServeMux and reports the matched route and
// the caller to observe.
func (s *server) routed(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if st := stateOf(r); st != nil {
				st.route = routeOf(r.Pattern)
				if id := identityOf(r); id != nil {
					st.auth = id.record
				}
			}
		}()
		mux.ServeHTTP(w, r)
	})
}

// routeOf returns the path template of a ServeMux pattern ("GET /api/x/{id}"
// gives "/api/x/{id}"); "" when none matched.
func routeOf(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:]
	}
	return pattern
}

// validRequestID accepts ids a client or proxy may set: 1 to 128 characters
// of a charset that is safe in headers and log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_.:+=/@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// proxyTrust decides whether r's peer may name the client in forwarding
// headers.
func (s *server) proxyTrust(r *http.Request) proxyTrust {
	if len(s.TrustedProxies) == 0 {
		return proxyAny
	}
	addr, err := netip.ParseAddr(remoteIP(r))
	if err != nil {
		return proxyUntrusted
	}
	for _, p := range s.TrustedProxies {
		if p.Contains(addr.Unmap()) {
			return proxyTrusted
		}
	}
	return proxyUntrusted
}

// accessLog writes the request's log line: to the console at the logger's
// level and, through the logs handler, to the log database. Probes of
// /healthz, /readyz and /metrics log at debug level.
func (s *server) accessLog(r *http.Request, rw *responseRecorder, st *requestState, route string, took time.Duration) {
	status := rw.statusCode()
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	case route == "/healthz" || route == "/readyz" || route == "/metrics":
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if s.Logger == nil || !s.Logger.Enabled(ctx, level) {
		return
	}
	url := redactURL(r.URL.RequestURI())
	authName, authID := "guest", ""
	if st.auth != nil {
		authName, authID = st.auth.Collection.Name, st.auth.ID()
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("type", "request"),
		slog.String("method", r.Method),
		slog.String("url", url),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("execTime", float64(took.Microseconds())/1000),
		slog.Int64("size", rw.size),
		slog.String("auth", authName),
		slog.String("authId", authID),
		slog.String("userIP", s.ip(r)),
		slog.String("remoteIP", remoteIP(r)),
		slog.String("referer", redactURL(r.Referer())),
		slog.String("userAgent", r.UserAgent()),
	)
	if st.err != nil {
		// As PocketBase: the client's message, and the cause for server
		// errors (whose message hides it).
		attrs = append(attrs, slog.String("error", st.errMessage))
		if status >= 500 {
			attrs = append(attrs, slog.String("details", st.err.Error()))
		}
	}
	s.Logger.LogAttrs(context.WithoutCancel(ctx), level, r.Method+" "+url, attrs...)
}

// redactURL hides the values of query parameters that may carry secrets
// (tokens, passwords, OAuth2 codes) so that they never reach a log.
func redactURL(u string) string {
	q := strings.IndexByte(u, '?')
	if q < 0 {
		return u
	}
	parts := strings.Split(u[q+1:], "&")
	changed := false
	for i, p := range parts {
		key, _, hasValue := strings.Cut(p, "=")
		if hasValue && secretParam(key) {
			parts[i] = key + "=REDACTED"
			changed = true
		}
	}
	if !changed {
		return u
	}
	return u[:q+1] + strings.Join(parts, "&")
}

func secretParam(key string) bool {
	k := strings.ToLower(key)
	if k == "code" || k == "state" || k == "key" || k == "sig" || k == "signature" {
		return true
	}
	for _, s := range []string{"token", "secret", "password", "passwd", "auth", "apikey", "api_key", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// responseRecorder remembers the status and size of a response. Unwrap lets
// http.ResponseController and websocket upgrades reach the connection.
type responseRecorder struct {
	http.ResponseWriter
	status int
	size   int64
}

func (w *responseRecorder) WriteHeader(code int) {
	if w.status == 0 || w.status < 200 { // informational answers precede the final one
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += int64(n)
	return n, err
}

// ReadFrom keeps the connection's sendfile path for served files.
func (w *responseRecorder) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.size += n
	return n, err
}

func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends what was written so far: the server streams of mounted
// transports (gRPC, Connect) need an http.Flusher.
func (w *responseRecorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// statusCode is the status sent, 200 when the handler wrote nothing.
func (w *responseRecorder) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
