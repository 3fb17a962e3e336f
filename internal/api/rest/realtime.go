package rest

import (
	"mime"
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Realtime is the broker behind the realtime endpoints (PocketBase's SSE
// protocol). The REST server resolves the caller's auth and IP and maps
// errors; the broker owns the clients and the stream format.
type Realtime interface {
	// Connect streams a new client's events until the connection ends.
	Connect(w http.ResponseWriter, r *http.Request, ip string)
	// Subscribe replaces a client's subscriptions on behalf of a request
	// from ip authenticated as auth (nil for guests).
	Subscribe(clientID, ip string, auth *schema.Record, topics []string) error
	// ServeWS upgrades to Basalt's realtime WebSocket protocol; auth is the
	// upgrade request's identity (nil for guests).
	ServeWS(w http.ResponseWriter, r *http.Request, ip string, auth *schema.Record)
}

func (s *server) realtimeConnect(w http.ResponseWriter, r *http.Request) {
	if s.Realtime == nil {
		s.notFound(w, r)
		return
	}
	s.Realtime.Connect(w, r, s.ip(r))
}

func (s *server) realtimeWS(w http.ResponseWriter, r *http.Request) {
	if s.Realtime == nil {
		s.notFound(w, r)
		return
	}
	var auth *schema.Record
	if id := identityOf(r); id != nil {
		auth = id.record
	}
	s.Realtime.ServeWS(w, r, s.ip(r), auth)
}

// realtimeSubscribe handles POST /api/realtime {clientId, subscriptions}:
// 204 once the client's subscriptions are replaced.
func (s *server) realtimeSubscribe(w http.ResponseWriter, r *http.Request) {
	if s.Realtime == nil {
		s.notFound(w, r)
		return
	}
	data, _, err := decodeBody(r, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	clientID, ok := data["clientId"].(string)
	if !ok && data["clientId"] != nil {
		s.fail(w, r, badSubscribeBody())
		return
	}
	var topics []string
	switch v := data["subscriptions"].(type) {
	case nil:
	case string:
		if !isForm(r) { // a form field given once; JSON needs a list
			s.fail(w, r, badSubscribeBody())
			return
		}
		topics = []string{v}
	case []any:
		for _, t := range v {
			str, ok := t.(string)
			if !ok {
				s.fail(w, r, badSubscribeBody())
				return
			}
			topics = append(topics, str)
		}
	default:
		s.fail(w, r, badSubscribeBody())
		return
	}
	var auth *schema.Record
	if id := identityOf(r); id != nil {
		auth = id.record
	}
	if err := s.Realtime.Subscribe(clientID, s.ip(r), auth, topics); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// isForm reports whether r carries a URL-encoded or multipart form.
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

func badSubscribeBody() error {
	return apperr.New(apperr.Invalid, msgInvalidBody)
}
