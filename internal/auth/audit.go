package auth

import (
	"context"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
)

// auditSignIn records the outcome of a sign-in with method ("password",
// "otp", "oauth2") in the audit log: "auth.signin" once a token is issued
// (or a second factor is asked for), "auth.<method>.fail" or
// "auth.mfa.fail" when it is refused. identity is what the client named
// (never a password or code). Throttled attempts are not recorded: they
// cost an attacker nothing and must not cost a write each. Entries go in
// their own transaction (a sign-in writes nothing else that must commit
// with them); that write is small next to the password hash check every
// attempt pays.
func (s *Service) auditSignIn(ctx context.Context, method, collection, identity string, login *Login, err error) {
	if s.Audit == nil {
		return
	}
	if err != nil {
		code := apperr.CodeOf(err)
		if code == apperr.TooManyRequests || code == apperr.Internal || code == apperr.Unavailable {
			return
		}
		action := "auth." + method + ".fail"
		msg := err.Error()
		if e := apperr.As(err); e != nil {
			msg = e.Message
			if isMFAFailure(msg) {
				action = "auth.mfa.fail"
			}
		}
		s.Audit.RecordAlone(ctx, audit.Entry{Action: action, Target: identity,
			Detail: map[string]any{"collection": collection, "method": method, "reason": msg}})
		return
	}
	if login == nil || login.Record == nil {
		return
	}
	d := map[string]any{"collection": login.Record.Collection.Name, "method": method}
	if login.MFAID != "" {
		d["mfaPending"] = true
	}
	s.Audit.RecordAlone(ctx, audit.Entry{Action: "auth.signin", Target: login.Record.ID(), Detail: d})
}

// isMFAFailure reports whether a refusal message comes from the second
// factor check (see checkMFA).
func isMFAFailure(msg string) bool {
	switch msg {
	case "Invalid or expired MFA session.", "Invalid MFA session.", "A different authentication method is required.":
		return true
	}
	return false
}
