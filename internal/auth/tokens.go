package auth

import (
	"context"
	"errors"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/token"
)

// Messages shared by the flows, as PocketBase words them.
const (
	msgValidation = "An error occurred while validating the submitted data."
	msgLoad       = "An error occurred while loading the submitted data."
)

// tokenConfig returns the secret and lifetime c uses for tokens of type typ.
func tokenConfig(c *schema.Collection, typ string) (schema.TokenConfig, bool) {
	switch typ {
	case token.TypeAuth:
		return c.AuthToken, true
	case token.TypeFile:
		return c.FileToken, true
	case token.TypeVerification:
		return c.VerificationToken, true
	case token.TypePasswordReset:
		return c.PasswordResetToken, true
	case token.TypeEmailChange:
		return c.EmailChangeToken, true
	}
	return schema.TokenConfig{}, false
}

// sign returns a token of claims.Type for r, signed with r's tokenKey and
// the collection's secret of that type, valid for that type's duration.
func (s *Service) sign(ctx context.Context, r *schema.Record, claims token.Claims) (string, error) {
	cfg, _ := tokenConfig(r.Collection, claims.Type)
	claims.ID, claims.CollectionID = r.ID(), r.Collection.ID
	return s.signToken(ctx, r, cfg, claims, time.Duration(cfg.Duration)*time.Second)
}

// errBadToken is any token that does not verify: malformed, forged, expired,
// of another type, or for a record that no longer exists.
var errBadToken = errors.New("invalid or expired token")

// recordByToken verifies raw as a token of type typ and returns its record
// and claims. Failures are errBadToken unless the store fails.
func (s *Service) recordByToken(ctx context.Context, raw, typ string) (*schema.Record, *token.Claims, error) {
	claims, err := token.Unverified(raw)
	if err != nil || claims.Type != typ {
		return nil, nil, errBadToken
	}
	c := s.cols.Lookup(claims.CollectionID)
	if c == nil || !c.IsAuth() || c.ID != claims.CollectionID {
		return nil, nil, errBadToken
	}
	r, err := s.byID(ctx, c, claims.ID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil, errBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	cfg, _ := tokenConfig(c, typ)
	verified, err := s.verifyToken(ctx, raw, r, cfg)
	if err != nil || verified.Type != typ {
		return nil, nil, errBadToken
	}
	return r, verified, nil
}

// Impersonate returns a non-refreshable auth token for the record id of
// collection, valid for duration seconds (0 = the collection's auth token
// duration). Only superusers may impersonate; the authRule does not apply
// to them.
func (s *Service) Impersonate(ctx context.Context, req *record.Request, collection, id string, duration int64) (string, *schema.Record, error) {
	if !record.IsSuperuser(req) {
		return "", nil, apperr.New(apperr.Forbidden, "")
	}
	c, err := s.authCollection(collection)
	if err != nil {
		return "", nil, err
	}
	r, err := s.byID(ctx, c, id)
	if err != nil {
		return "", nil, err
	}
	if duration < 0 {
		return "", nil, apperr.Fields(msgValidation, map[string]apperr.Field{
			"duration": {Code: "validation_min_greater_equal_than_required", Message: "Must be no less than 0."}})
	}
	ttl := time.Duration(duration) * time.Second
	if duration == 0 {
		ttl = time.Duration(c.AuthToken.Duration) * time.Second
	}
	claims := token.Claims{ID: r.ID(), Type: token.TypeAuth, CollectionID: c.ID}
	tok, err := s.signToken(ctx, r, c.AuthToken, claims, ttl)
	if err != nil {
		return "", nil, err
	}
	s.Audit.RecordAlone(ctx, audit.Entry{Action: "auth.impersonate", Target: r.ID(),
		Detail: map[string]any{"collection": c.Name, "seconds": int64(ttl / time.Second)}})
	return tok, r, nil
}
