package rest

import (
	"net/http"
	"slices"
	"strings"
)

// hstsHeader is sent on answers over TLS: browsers then use HTTPS only for
// a year. Subdomains are left out; they may be served by something else.
const hstsHeader = "max-age=31536000"

// cors answers CORS preflights and adds the CORS and security headers to
// every answer.
//
// With no CORSOrigins (or "*") any origin may read answers, as in
// PocketBase; otherwise only the listed origins get
// Access-Control-Allow-Origin, and a preflight from another origin gets an
// empty 204 that the browser refuses.
func (s *server) cors(next http.Handler) http.Handler {
	anyOrigin := len(s.CORSOrigins) == 0 || slices.Contains(s.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		allowed := false
		if origin := r.Header.Get("Origin"); origin != "" {
			h.Add("Vary", "Origin")
			switch {
			case anyOrigin:
				h.Set("Access-Control-Allow-Origin", "*")
				allowed = true
			case slices.Contains(s.CORSOrigins, origin):
				h.Set("Access-Control-Allow-Origin", origin)
				allowed = true
			}
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, PATCH, POST, DELETE")
				if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					h.Set("Access-Control-Allow-Headers", req)
				}
				h.Set("Access-Control-Max-Age", "86400")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		securityHeaders(h, r)
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers that keep browsers from misusing
// answers: no content sniffing, no referrer, no framing of API answers and
// no embedding of them by other sites. Stored files may still be framed by
// the same origin and embedded anywhere (images, media), as before; their
// own Content-Security-Policy sandboxes them.
func securityHeaders(h http.Header, r *http.Request) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(r.URL.Path, "/api/files/") {
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	} else {
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
	}
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", hstsHeader)
	}
}

// ParseOrigins splits a comma-separated list of allowed CORS origins
// ("https://app.example.com, https://admin.example.com"), dropping empty
// items and trailing slashes, which browsers never send in Origin.
func ParseOrigins(list string) []string {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o != "" {
			out = append(out, o)
		}
	}
	return out
}
