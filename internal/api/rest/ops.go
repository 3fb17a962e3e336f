package rest

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// opsRoutes registers the operational endpoints beside PocketBase's
// /api/health: liveness, readiness, metrics and the logs API.
func (s *server) opsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil && s.MetricsToken != "" {
		mux.Handle("GET /metrics", s.metricsAuth(s.Metrics.Handler()))
	}
	mux.HandleFunc("GET /api/metrics/history", s.requireSuperuser(s.metricsHistory))
	s.logRoutes(mux)
}

// metricsHistory answers the monitor's recent points (throughput, errors,
// latency percentiles, in-flight requests, realtime clients, outbox lag,
// memory and CPU) of this process: docs/admin.md.
func (s *server) metricsHistory(w http.ResponseWriter, r *http.Request) {
	if s.Monitor == nil {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.Monitor.History())
}

// healthz answers 200 while the process serves (liveness).
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz answers 200 when the server should take traffic: the database
// answers and its migrations are applied, and shutdown has not begun.
// Otherwise 503, so that load balancers take the replica out of rotation.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			// The reason is for operators; it names no secret (see Deps.Ready).
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// metricsAuth serves /metrics on the API listener only to requests that
// carry "Authorization: Bearer <MetricsToken>".
func (s *server) metricsAuth(next http.Handler) http.Handler {
	want := []byte(s.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"status": 401, "message": "The request requires a valid metrics token.", "data": map[string]any{}})
			return
		}
		next.ServeHTTP(w, r)
	})
}
