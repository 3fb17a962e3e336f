package rest

import (
	"net/http"

	"github.com/basalt-dev/basalt/internal/schema"
)

// routes registers every endpoint of the REST API.
func (s *server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/health", s.health)
	s.opsRoutes(mux)
	s.auditRoutes(mux)

	mux.HandleFunc("GET /api/collections", s.requireSuperuser(s.listCollections))
	mux.HandleFunc("POST /api/collections", s.requireSuperuser(s.createCollection))
	mux.HandleFunc("PUT /api/collections/import", s.requireSuperuser(s.importCollections))
	mux.HandleFunc("GET /api/collections/meta/scaffolds", s.requireSuperuser(s.scaffolds))
	mux.HandleFunc("GET /api/collections/meta/oauth2-providers", s.requireSuperuser(s.oauth2Providers))
	mux.HandleFunc("GET /api/collections/{collection}", s.requireSuperuser(s.viewCollection))
	mux.HandleFunc("PATCH /api/collections/{collection}", s.requireSuperuser(s.updateCollection))
	mux.HandleFunc("DELETE /api/collections/{collection}", s.requireSuperuser(s.deleteCollection))
	mux.HandleFunc("DELETE /api/collections/{collection}/truncate", s.requireSuperuser(s.truncateCollection))

	mux.HandleFunc("GET /api/collections/{collection}/records", s.listRecords)
	mux.HandleFunc("POST /api/collections/{collection}/records", s.createRecord)
	mux.HandleFunc("GET /api/collections/{collection}/records/{id}", s.viewRecord)
	mux.HandleFunc("PATCH /api/collections/{collection}/records/{id}", s.updateRecord)
	mux.HandleFunc("DELETE /api/collections/{collection}/records/{id}", s.deleteRecord)

	mux.HandleFunc("GET /api/collections/{collection}/auth-methods", s.authMethods)
	mux.HandleFunc("POST /api/collections/{collection}/auth-with-password", s.authWithPassword)
	mux.HandleFunc("POST /api/collections/{collection}/auth-with-oauth2", s.authWithOAuth2)
	mux.HandleFunc("POST /api/collections/{collection}/auth-refresh", s.authRefresh)
	mux.HandleFunc("POST /api/collections/{collection}/request-verification", s.requestVerification)
	mux.HandleFunc("POST /api/collections/{collection}/confirm-verification", s.confirmVerification)
	mux.HandleFunc("POST /api/collections/{collection}/request-password-reset", s.requestPasswordReset)
	mux.HandleFunc("POST /api/collections/{collection}/confirm-password-reset", s.confirmPasswordReset)
	mux.HandleFunc("POST /api/collections/{collection}/request-email-change", s.requestEmailChange)
	mux.HandleFunc("POST /api/collections/{collection}/confirm-email-change", s.confirmEmailChange)
	mux.HandleFunc("POST /api/collections/{collection}/request-otp", s.requestOTP)
	mux.HandleFunc("POST /api/collections/{collection}/auth-with-otp", s.authWithOTP)
	mux.HandleFunc("POST /api/collections/{collection}/impersonate/{id}", s.requireSuperuser(s.impersonate))

	mux.HandleFunc("POST /api/batch", s.batch)

	mux.HandleFunc("GET /api/oauth2-redirect", s.oauth2Redirect)
	mux.HandleFunc("POST /api/oauth2-redirect", s.oauth2Redirect)

	mux.HandleFunc("GET /api/realtime", s.realtimeConnect)
	mux.HandleFunc("POST /api/realtime", s.realtimeSubscribe)
	mux.HandleFunc("GET /api/ws", s.realtimeWS)

	mux.HandleFunc("POST /api/files/token", s.fileToken)
	mux.HandleFunc("GET /api/files/{collection}/{record}/{filename}", s.serveFile)
	mux.HandleFunc("HEAD /api/files/{collection}/{record}/{filename}", s.serveFile)

	mux.HandleFunc("GET /api/settings", s.requireSuperuser(s.getSettings))
	mux.HandleFunc("PATCH /api/settings", s.requireSuperuser(s.updateSettings))
	mux.HandleFunc("POST /api/settings/test/email", s.requireSuperuser(s.testEmail))

	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)

	s.backupRoutes(mux)
	s.jobRoutes(mux)

	mux.HandleFunc("GET /api/webhooks", s.requireSuperuser(s.noWebhooks(s.listWebhooks)))
	mux.HandleFunc("POST /api/webhooks", s.requireSuperuser(s.noWebhooks(s.createWebhook)))
	mux.HandleFunc("GET /api/webhooks/{id}", s.requireSuperuser(s.noWebhooks(s.viewWebhook)))
	mux.HandleFunc("PATCH /api/webhooks/{id}", s.requireSuperuser(s.noWebhooks(s.updateWebhook)))
	mux.HandleFunc("DELETE /api/webhooks/{id}", s.requireSuperuser(s.noWebhooks(s.deleteWebhook)))
	mux.HandleFunc("GET /api/webhooks/{id}/deliveries", s.requireSuperuser(s.noWebhooks(s.listDeliveries)))
	mux.HandleFunc("POST /api/webhooks/{id}/deliveries/{deliveryId}/replay", s.requireSuperuser(s.noWebhooks(s.replayDelivery)))

	mux.HandleFunc("/api/", s.notFound)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{
		"status": 404, "message": "The requested resource wasn't found.", "data": map[string]any{}})
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{}
	if id := identityOf(r); id != nil && id.record.Collection.ID == schema.SuperusersID {
		cfg := s.Settings.Current().TrustedProxy
		data["canBackup"] = s.Backups != nil && s.Backups.Idle()
		data["realIP"] = clientIP(r, cfg.Headers, cfg.UseLeftmostIP)
		data["possibleProxyHeader"] = possibleProxyHeader(r, cfg.Headers)
	}
	writeJSON(w, http.StatusOK, map[string]any{"code": 200, "message": "API is healthy.", "data": data})
}

// possibleProxyHeader names a forwarding header the request carries that is
// not configured as trusted, to hint superusers at a missing proxy setting.
func possibleProxyHeader(r *http.Request, trusted []string) string {
	for _, h := range []string{"CF-Connecting-IP", "Fly-Client-IP", "X-Real-IP", "X-Forwarded-For"} {
		if r.Header.Get(h) == "" {
			continue
		}
		for _, t := range trusted {
			if http.CanonicalHeaderKey(t) == http.CanonicalHeaderKey(h) {
				return ""
			}
		}
		return h
	}
	return ""
}
