package rest

import (
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

func (s *server) authMethods(w http.ResponseWriter, r *http.Request) {
	m, err := s.Auth.Methods(r.PathValue("collection"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, m)
}

func (s *server) authWithPassword(w http.ResponseWriter, r *http.Request) {
	data, _, err := decodeBody(r, 1<<20)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	str := func(k string) string { v, _ := data[k].(string); return v }
	req := s.request(r)
	req.Context = "password"
	tok, rec, err := s.Auth.WithPassword(r.Context(), req, r.PathValue("collection"), str("identity"), str("password"), str("identityField"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.authResponse(w, r, tok, rec)
}

func (s *server) authRefresh(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	if id == nil {
		s.fail(w, r, apperr.New(apperr.Unauthenticated, "The request requires valid record authorization token."))
		return
	}
	tok, rec, err := s.Auth.Refresh(r.Context(), s.request(r), id.claims, r.PathValue("collection"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.authResponse(w, r, tok, rec)
}

// authResponse writes {token, record} with the record as its owner sees it,
// expanded per the "expand" query parameter.
func (s *server) authResponse(w http.ResponseWriter, r *http.Request, tok string, rec *schema.Record) {
	owner := s.request(r)
	owner.Auth = rec
	it := &record.Item{Record: rec}
	if expand := r.URL.Query().Get("expand"); expand != "" {
		viewed, err := s.Records.View(r.Context(), owner, rec.Collection.ID, rec.ID(), expand)
		if err == nil {
			it = viewed
		}
	}
	s.respond(w, r, http.StatusOK, map[string]any{"token": tok, "record": record.Export(it, owner)})
}
