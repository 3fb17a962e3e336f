package rest

import (
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

func (s *server) authMethods(w http.ResponseWriter, r *http.Request) {
	m, err := s.Auth.Methods(r.Context(), r.PathValue("collection"))
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
	req := s.request(r)
	req.Context = "password"
	login, err := s.Auth.WithPassword(r.Context(), req, r.PathValue("collection"), auth.PasswordLogin{
		Identity: str(data, "identity"), Password: str(data, "password"),
		IdentityField: str(data, "identityField"), MFAID: mfaID(r, data), IP: s.ip(r),
	})
	s.loginResponse(w, r, login, err)
}

// mfaID reads the MFA session id a second sign-in step carries, from the
// query (where the SDK puts it) or the body.
func mfaID(r *http.Request, data map[string]any) string {
	if id := r.URL.Query().Get("mfaId"); id != "" {
		return id
	}
	return str(data, "mfaId")
}

// str returns the string value of a decoded body key ("" when absent or
// not a string).
func str(data map[string]any, key string) string {
	v, _ := data[key].(string)
	return v
}

// loginResponse answers a sign-in step: an error, 401 {"mfaId"} when a
// second factor is required, or the auth response.
func (s *server) loginResponse(w http.ResponseWriter, r *http.Request, login *auth.Login, err error) {
	switch {
	case err != nil:
		s.fail(w, r, err)
	case login.MFAID != "":
		writeJSON(w, http.StatusUnauthorized, map[string]string{"mfaId": login.MFAID})
	default:
		s.authResponse(w, r, login.Token, login.Record)
	}
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
