package rest

import (
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// msgBusy is the message of a request shed over the concurrency cap.
const msgBusy = "The server is busy, try again later."

// limit puts requests behind Deps.Limits (the concurrency cap and the
// read and write deadlines), except the ones that must never wait or be
// cut: realtime streams and the streams of mounted transports
// (Deps.Streams), which live as long as their client, and the health,
// readiness and metrics probes, which must answer under load.
func (s *server) limit(next http.Handler) http.Handler {
	if s.Limits == nil {
		return next
	}
	limited := s.Limits.Wrap(next, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Retry-After is set by the limiter. The access log records the
		// answer; an error line per shed request would flood the log when
		// the server is overloaded already.
		writeError(w, r, apperr.New(apperr.Unavailable, msgBusy), nil)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unlimited(r) || (s.Streams != nil && s.Streams(r)) {
			next.ServeHTTP(w, r)
			return
		}
		limited.ServeHTTP(w, r)
	})
}

// unlimited reports the requests that limit lets through as they are.
func unlimited(r *http.Request) bool {
	switch r.URL.Path {
	case "/api/realtime", "/api/ws":
		return r.Method == http.MethodGet
	case "/api/health", "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// maxBody is the body limit of requests without file uploads.
func (s *server) maxBody() int64 {
	if s.MaxBody > 0 {
		return s.MaxBody
	}
	return DefaultMaxBody
}
