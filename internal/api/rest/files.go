package rest

import (
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// serveFile streams a record's file, or a thumbnail of it with ?thumb=WxH.
// The record must exist and the file must belong to one of its file fields;
// protected files need ?token= (a file token) whose holder passes the view
// rule, and answer 404 otherwise.
func (s *server) serveFile(w http.ResponseWriter, r *http.Request) {
	if s.Files == nil {
		s.notFound(w, r)
		return
	}
	c, err := s.Records.Collection(r.PathValue("collection"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	name := r.PathValue("filename")
	q := r.URL.Query()
	// Only the file token identifies the caller of a protected file, as in
	// PocketBase: the Authorization header does not (file URLs end up in
	// <img> tags and logs, where a header-based grant would not apply).
	req := s.request(r)
	req.Auth = nil
	if tok := q.Get("token"); tok != "" {
		if holder, err := s.Auth.FileTokenRecord(r.Context(), tok); err == nil {
			req.Auth = holder
		}
	}
	rec, field, err := s.Records.FileOwner(r.Context(), req, c.ID, r.PathValue("record"), name)
	if err != nil {
		s.notFound(w, r)
		return
	}
	download := isTrue(q.Get("download"))
	if thumb := q.Get("thumb"); thumb != "" {
		err = s.Files.ServeThumb(w, r, c.ID, rec.ID(), name, field, thumb, download)
	} else {
		err = s.Files.Serve(w, r, c.ID, rec.ID(), name, download)
	}
	if err != nil {
		s.fail(w, r, err)
	}
}

// fileToken issues a short-lived file token to the authenticated record.
func (s *server) fileToken(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	if id == nil {
		s.fail(w, r, apperr.New(apperr.Unauthenticated, "The request requires valid record authorization token."))
		return
	}
	tok, err := s.Auth.FileToken(id.record)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok})
}
