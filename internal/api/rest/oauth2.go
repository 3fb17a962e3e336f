package rest

import (
	"encoding/json"
	"net/http"

	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// oauth2Topic is the realtime topic of the SDK's OAuth2 popup flow; the
// realtime client id doubles as the OAuth2 state.
const oauth2Topic = "@oauth2"

// publisher sends one message to one realtime client if it is subscribed
// to the topic; the realtime broker implements it.
type publisher interface {
	Publish(clientID, topic string, data []byte) bool
}

// authWithOAuth2 handles POST /api/collections/{c}/auth-with-oauth2
// {provider, code, codeVerifier, redirectURL, createData?}.
func (s *server) authWithOAuth2(w http.ResponseWriter, r *http.Request) {
	data, _, err := decodeBody(r, 1<<20)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	createData, _ := data["createData"].(map[string]any)
	redirectURL := str(data, "redirectURL")
	if redirectURL == "" {
		redirectURL = str(data, "redirectUrl") // before PocketBase v0.23
	}
	req := s.request(r)
	req.Context = "oauth2"
	login, meta, err := s.Auth.WithOAuth2(r.Context(), req, r.PathValue("collection"), auth.OAuth2Login{
		Provider: str(data, "provider"), Code: str(data, "code"), CodeVerifier: str(data, "codeVerifier"),
		RedirectURL: redirectURL, CreateData: createData, MFAID: mfaID(r, data), IP: s.ip(r),
	})
	if err != nil || login.MFAID != "" {
		s.loginResponse(w, r, login, err)
		return
	}
	owner := s.request(r)
	owner.Auth = login.Record
	it := &record.Item{Record: login.Record}
	if expand := r.URL.Query().Get("expand"); expand != "" {
		if viewed, err := s.Records.View(r.Context(), owner, login.Record.Collection.ID, login.Record.ID(), expand); err == nil {
			it = viewed
		}
	}
	s.respond(w, r, http.StatusOK, map[string]any{"token": login.Token, "record": record.Export(it, owner), "meta": oauth2MetaJSON(meta)})
}

// oauth2MetaJSON is the auth response's meta in PocketBase's shape.
func oauth2MetaJSON(m *auth.OAuth2Meta) map[string]any {
	expiry := ""
	if !m.Expiry.IsZero() {
		expiry = schema.FormatTime(m.Expiry)
	}
	raw := m.User.RawUser
	if raw == nil {
		raw = map[string]any{}
	}
	return map[string]any{
		"id": m.User.ID, "name": m.User.Name, "username": m.User.Username, "email": m.User.Email,
		"avatarURL": m.User.AvatarURL, "avatarUrl": m.User.AvatarURL,
		"accessToken": m.AccessToken, "refreshToken": m.RefreshToken, "expiry": expiry,
		"isNew": m.IsNew, "rawUser": raw,
	}
}

// oauth2Redirect handles GET and POST (form_post) /api/oauth2-redirect: the
// provider's callback of the SDK's popup flow. It hands {state, code,
// error} to the realtime client whose id is state, if that client waits on
// the @oauth2 topic, and shows a page the user can close.
func (s *server) oauth2Redirect(w http.ResponseWriter, r *http.Request) {
	var state, code, errText string
	if r.Method == http.MethodPost {
		data, _, err := decodeBody(r, 64<<10)
		if err != nil {
			s.oauth2Debug("reading the OAuth2 redirect failed", "err", err)
			oauth2Page(w, false)
			return
		}
		state, code, errText = str(data, "state"), str(data, "code"), str(data, "error")
	} else {
		q := r.URL.Query()
		state, code, errText = q.Get("state"), q.Get("code"), q.Get("error")
	}
	pub, ok := s.Realtime.(publisher)
	if state == "" || !ok {
		oauth2Page(w, false)
		return
	}
	msg := map[string]string{"state": state, "code": code}
	if errText != "" {
		msg["error"] = errText
	}
	body, err := json.Marshal(msg)
	if err != nil || !pub.Publish(state, oauth2Topic, body) {
		s.oauth2Debug("no realtime client waits for this OAuth2 redirect")
		oauth2Page(w, false)
		return
	}
	oauth2Page(w, errText == "" && code != "")
}

func (s *server) oauth2Debug(msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Debug(msg, args...)
	}
}

// oauth2Page answers the browser window of an OAuth2 redirect as
// PocketBase does without its admin UI.
func oauth2Page(w http.ResponseWriter, ok bool) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	if ok {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("Auth completed. You can close this window and go back to the app."))
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("Failed to authenticate. You can close this window and go back to the app to try again."))
}

// oauth2Providers handles GET /api/collections/meta/oauth2-providers.
func (s *server) oauth2Providers(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusOK, auth.OAuth2Providers())
}
