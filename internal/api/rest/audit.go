package rest

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// auditRoutes registers the audit log endpoints (superusers only; 404
// without an audit log).
func (s *server) auditRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/audit", s.requireSuperuser(s.withAudit(s.listAudit)))
	mux.HandleFunc("GET /api/audit/{seq}", s.requireSuperuser(s.withAudit(s.viewAudit)))
}

// actorOf tells the services who made the request r for their audit
// entries, from the context of the change: the authenticated record, or a
// guest, and the client address.
func (s *server) actorOf(r *http.Request) func(context.Context) audit.Actor {
	return func(ctx context.Context) audit.Actor {
		a := audit.Actor{IP: s.ip(r)}
		if id, _ := ctx.Value(identityKey{}).(*identity); id != nil {
			a.CollectionID, a.RecordID = id.record.Collection.ID, id.record.ID()
		}
		return a
	}
}

func (s *server) withAudit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Audit == nil {
			s.fail(w, r, apperr.New(apperr.NotFound, ""))
			return
		}
		next(w, r)
	}
}

// listAudit answers a page of entries, newest first (sort=seq for oldest
// first), filtered by action (prefix up to a dot), actor id and time range
// (since inclusive, until exclusive).
func (s *server) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage := atoi(q.Get("page")), atoi(q.Get("perPage"))
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = 30
	}
	perPage = min(perPage, 1000)
	aq := &store.AuditQuery{
		Action: q.Get("action"), ActorID: q.Get("actor"),
		Limit: perPage, Offset: (page - 1) * perPage, Desc: q.Get("sort") != "seq",
	}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"since", &aq.Since}, {"until", &aq.Until}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		t, ok := schema.ParseTime(v)
		if !ok {
			s.fail(w, r, apperr.Fields("Invalid audit query.", map[string]apperr.Field{
				b.name: {Code: "validation_invalid_datetime", Message: "Must be a valid date."}}))
			return
		}
		*b.dst = t
	}
	list, err := s.Audit.AuditEntries(r.Context(), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	total, err := s.Audit.CountAudit(r.Context(), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, len(list))
	for i, e := range list {
		items[i] = auditJSON(e)
	}
	s.respond(w, r, http.StatusOK, map[string]any{
		"page": page, "perPage": perPage, "totalItems": total,
		"totalPages": (total + int64(perPage) - 1) / int64(perPage), "items": items})
}

func (s *server) viewAudit(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		s.fail(w, r, apperr.New(apperr.NotFound, ""))
		return
	}
	list, err := s.Audit.AuditEntries(r.Context(), &store.AuditQuery{Seq: seq, Limit: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(list) == 0 {
		s.fail(w, r, apperr.New(apperr.NotFound, ""))
		return
	}
	s.respond(w, r, http.StatusOK, auditJSON(list[0]))
}

func auditJSON(e *store.AuditEntry) map[string]any {
	return map[string]any{
		"seq": e.Seq, "created": schema.FormatTime(e.Time),
		"actorCollection": e.ActorCollection, "actorId": e.ActorID, "ip": e.IP,
		"action": e.Action, "target": e.Target, "detail": e.Detail,
		"prevHash": e.PrevHash, "hash": e.Hash,
	}
}
