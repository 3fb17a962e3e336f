package rest

import "net/http"

// jwks serves the public keys that verify Basalt's tokens (RFC 7517), so
// other services can check them without a shared secret. In the default
// HS256 mode the set is empty.
func (s *server) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := s.Auth.JWKS(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeBody(w, http.StatusOK, "application/jwk-set+json", set)
}
