package rest

import (
	"net/http"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// fresh runs Deps.Fresh before every API request that reads or changes
// data or configuration: not the probes, /metrics, /api/health or file
// downloads. A failure is answered 503 (the replica cannot tell whether
// its configuration is current).
func (s *server) fresh(next http.Handler) http.Handler {
	if s.Fresh == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") && p != "/api/health" && !strings.HasPrefix(p, "/api/files/") {
			if err := s.Fresh(r.Context()); err != nil {
				s.fail(w, r, apperr.Wrap(apperr.Unavailable, "", err))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
