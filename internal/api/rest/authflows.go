package rest

import (
	"math"
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/auth"
)

// Email flows, one-time passwords, impersonation and test emails. Each
// handler decodes the body, calls the auth service and encodes its answer.

// maxAuthBody bounds the bodies of these endpoints.
const maxAuthBody = 1 << 20

// body decodes a request body, writing the error response when it fails.
func (s *server) body(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	data, _, err := decodeBody(r, maxAuthBody)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return data, true
}

// ip returns the client IP of r as the trusted-proxy settings define it.
func (s *server) ip(r *http.Request) string {
	cfg := s.Settings.Current().TrustedProxy
	return clientIP(r, cfg.Headers, cfg.UseLeftmostIP)
}

// noContent answers 204 or the error.
func (s *server) noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) requestVerification(w http.ResponseWriter, r *http.Request) {
	if data, ok := s.body(w, r); ok {
		s.noContent(w, r, s.Auth.RequestVerification(r.Context(), s.ip(r), r.PathValue("collection"), str(data, "email")))
	}
}

func (s *server) confirmVerification(w http.ResponseWriter, r *http.Request) {
	if data, ok := s.body(w, r); ok {
		s.noContent(w, r, s.Auth.ConfirmVerification(r.Context(), r.PathValue("collection"), str(data, "token")))
	}
}

func (s *server) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	if data, ok := s.body(w, r); ok {
		s.noContent(w, r, s.Auth.RequestPasswordReset(r.Context(), s.ip(r), r.PathValue("collection"), str(data, "email")))
	}
}

func (s *server) confirmPasswordReset(w http.ResponseWriter, r *http.Request) {
	if data, ok := s.body(w, r); ok {
		s.noContent(w, r, s.Auth.ConfirmPasswordReset(r.Context(), s.ip(r), r.PathValue("collection"),
			str(data, "token"), str(data, "password"), str(data, "passwordConfirm")))
	}
}

func (s *server) requestEmailChange(w http.ResponseWriter, r *http.Request) {
	if data, ok := s.body(w, r); ok {
		s.noContent(w, r, s.Auth.RequestEmailChange(r.Context(), s.request(r), s.ip(r), r.PathValue("collection"), str(data, "newEmail")))
	}
}

func (s *server) confirmEmailChange(w http.ResponseWriter, r *http.Request) {
	if data, ok := s.body(w, r); ok {
		s.noContent(w, r, s.Auth.ConfirmEmailChange(r.Context(), s.ip(r), r.PathValue("collection"), str(data, "token"), str(data, "password")))
	}
}

func (s *server) requestOTP(w http.ResponseWriter, r *http.Request) {
	data, ok := s.body(w, r)
	if !ok {
		return
	}
	id, err := s.Auth.RequestOTP(r.Context(), s.ip(r), r.PathValue("collection"), str(data, "email"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, map[string]any{"otpId": id})
}

func (s *server) authWithOTP(w http.ResponseWriter, r *http.Request) {
	data, ok := s.body(w, r)
	if !ok {
		return
	}
	req := s.request(r)
	req.Context = "otp"
	login, err := s.Auth.WithOTP(r.Context(), req, r.PathValue("collection"), auth.OTPLogin{
		OTPID: str(data, "otpId"), Password: str(data, "password"), MFAID: mfaID(r, data), IP: s.ip(r),
	})
	s.loginResponse(w, r, login, err)
}

func (s *server) impersonate(w http.ResponseWriter, r *http.Request) {
	data, ok := s.body(w, r)
	if !ok {
		return
	}
	var duration int64
	switch v := data["duration"].(type) {
	case nil:
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			s.fail(w, r, apperr.New(apperr.Invalid, "An error occurred while loading the submitted data."))
			return
		}
		duration = int64(v)
	default:
		s.fail(w, r, apperr.New(apperr.Invalid, "An error occurred while loading the submitted data."))
		return
	}
	tok, rec, err := s.Auth.Impersonate(r.Context(), s.request(r), r.PathValue("collection"), r.PathValue("id"), duration)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.authResponse(w, r, tok, rec)
}

func (s *server) testEmail(w http.ResponseWriter, r *http.Request) {
	if data, ok := s.body(w, r); ok {
		s.noContent(w, r, s.Auth.SendTestEmail(r.Context(), str(data, "collection"), str(data, "template"), str(data, "email")))
	}
}
