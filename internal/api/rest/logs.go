package rest

import (
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// logRoutes registers PocketBase's log endpoints (superusers only; 404
// without a log service).
func (s *server) logRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/logs", s.requireSuperuser(s.withLogs(s.listLogs)))
	mux.HandleFunc("DELETE /api/logs", s.requireSuperuser(s.withLogs(s.truncateLogs)))
	mux.HandleFunc("GET /api/logs/stats", s.requireSuperuser(s.withLogs(s.logStats)))
	mux.HandleFunc("GET /api/logs/{id}", s.requireSuperuser(s.withLogs(s.viewLog)))
}

func (s *server) withLogs(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Logs == nil {
			s.fail(w, r, apperr.New(apperr.NotFound, ""))
			return
		}
		next(w, r)
	}
}

func (s *server) listLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage := atoi(q.Get("page")), atoi(q.Get("perPage"))
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = 30
	}
	perPage = min(perPage, 1000)
	skipTotal := isTrue(q.Get("skipTotal"))
	list, total, err := s.Logs.List(r.Context(), store.LogQuery{
		Filter: q.Get("filter"), Sort: q.Get("sort"),
		Limit: perPage, Offset: (page - 1) * perPage, SkipTotal: skipTotal,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, len(list))
	for i, l := range list {
		items[i] = logJSON(l)
	}
	totalPages := int64(-1)
	if !skipTotal {
		totalPages = (total + int64(perPage) - 1) / int64(perPage)
	}
	s.respond(w, r, http.StatusOK, map[string]any{
		"page": page, "perPage": perPage, "totalItems": total, "totalPages": totalPages, "items": items})
}

func (s *server) viewLog(w http.ResponseWriter, r *http.Request) {
	l, err := s.Logs.View(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, logJSON(l))
}

func (s *server) logStats(w http.ResponseWriter, r *http.Request) {
	stats, err := s.Logs.Stats(r.Context(), r.URL.Query().Get("filter"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]any, len(stats))
	for i, st := range stats {
		out[i] = map[string]any{"date": schema.FormatTime(st.Date), "total": st.Total}
	}
	s.respond(w, r, http.StatusOK, out)
}

// truncateLogs is PocketBase v0.40's DELETE /api/logs, which the 0.28 SDK
// already calls.
func (s *server) truncateLogs(w http.ResponseWriter, r *http.Request) {
	if err := s.Logs.Truncate(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// logJSON is PocketBase's log model.
func logJSON(l *store.Log) map[string]any {
	data := l.Data
	if data == nil {
		data = map[string]any{}
	}
	return map[string]any{
		"id": l.ID, "created": schema.FormatTime(l.Created), "level": l.Level, "message": l.Message, "data": data,
	}
}
