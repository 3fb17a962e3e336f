package rest

import (
	"encoding/json"
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/webhook"
)

// webhookBodyLimit bounds a webhook definition's request body.
const webhookBodyLimit = 64 << 10

// webhookJSON is the API view of a webhook. The secret is shown in full
// only in the answer to its creation (or to setting a new one).
func webhookJSON(w *store.Webhook, fullSecret bool) map[string]any {
	secret := webhook.MaskSecret(w.Secret)
	if fullSecret {
		secret = w.Secret
	}
	collections, actions := w.Collections, w.Actions
	if collections == nil {
		collections = []string{}
	}
	if actions == nil {
		actions = []store.Action{}
	}
	out := map[string]any{
		"id": w.ID, "url": w.URL, "collections": collections, "actions": actions, "filter": w.Filter,
		"secret": secret, "enabled": w.Enabled,
		"created": schema.FormatTime(w.Created), "updated": schema.FormatTime(w.Updated),
	}
	if w.PreviousSecret != "" {
		out["previousSecretUntil"] = schema.FormatTime(w.PreviousUntil)
	}
	return out
}

func deliveryJSON(d *store.Delivery) map[string]any {
	attempts := make([]any, len(d.Attempts))
	for i, a := range d.Attempts {
		attempts[i] = map[string]any{
			"time": schema.FormatTime(a.Time), "status": a.Status, "latencyMs": a.LatencyMS,
			"response": a.Response, "error": a.Error,
		}
	}
	return map[string]any{
		"id": d.ID, "webhookId": d.WebhookID, "eventId": d.EventID, "status": string(d.Status),
		"attemptCount": d.AttemptCount, "nextAttempt": schema.FormatTime(d.NextAttempt),
		"attempts": attempts, "payload": json.RawMessage(d.Event),
		"created": schema.FormatTime(d.Created), "updated": schema.FormatTime(d.Updated),
	}
}

// decodeWebhookInput reads a webhook definition.
func decodeWebhookInput(r *http.Request) (webhook.Input, error) {
	var in webhook.Input
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, webhookBodyLimit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, bodyError(err)
	}
	return in, nil
}

func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := s.Webhooks.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, len(list))
	for i, h := range list {
		items[i] = webhookJSON(h, false)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"page": 1, "perPage": len(items), "totalItems": len(items), "totalPages": 1, "items": items})
}

func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) {
	in, err := decodeWebhookInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.Webhooks.Create(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookJSON(h, true))
}

func (s *server) viewWebhook(w http.ResponseWriter, r *http.Request) {
	h, err := s.Webhooks.View(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookJSON(h, false))
}

func (s *server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	in, err := decodeWebhookInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.Webhooks.Update(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A new secret is shown once, like a created one.
	writeJSON(w, http.StatusOK, webhookJSON(h, in.Secret != nil))
}

func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.Webhooks.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage := atoi(q.Get("page")), atoi(q.Get("perPage"))
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = 30
	}
	perPage = min(perPage, 500)
	list, total, err := s.Webhooks.Deliveries(r.Context(), r.PathValue("id"), perPage, (page-1)*perPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, len(list))
	for i, d := range list {
		items[i] = deliveryJSON(d)
	}
	writePage(w, page, perPage, total, items)
}

func (s *server) replayDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.Webhooks.Replay(r.Context(), r.PathValue("id"), r.PathValue("deliveryId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deliveryJSON(d))
}

// noWebhooks answers when the server runs without the webhook service.
func (s *server) noWebhooks(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Webhooks == nil {
			s.fail(w, r, apperr.New(apperr.NotFound, ""))
			return
		}
		next(w, r)
	}
}
