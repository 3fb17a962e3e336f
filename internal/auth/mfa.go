package auth

import (
	"context"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// checkMFA applies the collection's multi-factor rule to r, which has just
// proven its identity with method. Without mfaID it opens a session and
// returns its id: the caller answers 401 {"mfaId"} instead of a token. With
// mfaID it closes that session if it belongs to r, is still valid and was
// opened with a different method; then it returns "".
func (s *Service) checkMFA(ctx context.Context, req *record.Request, r *schema.Record, method, mfaID string) (string, error) {
	c := r.Collection
	if !c.MFA.Enabled || method == "" {
		return "", nil
	}
	wants, err := s.wantsMFA(ctx, req, r)
	if err != nil {
		return "", apperr.Wrap(apperr.Invalid, "Failed to authenticate.", err)
	}
	if !wants {
		return "", nil
	}
	mfas, err := s.system(schema.MFAsID)
	if err != nil {
		return "", err
	}
	ttl := seconds(c.MFA.Duration)
	if mfaID == "" {
		id := random.ID()
		err := s.insertRow(ctx, mfas, id, map[string]any{"collectionRef": c.ID, "recordRef": r.ID(), "method": method}, ttl)
		if err != nil {
			return "", err
		}
		return id, nil
	}
	invalid := apperr.New(apperr.Invalid, "Invalid or expired MFA session.")
	if len(mfaID) > 255 {
		return "", invalid
	}
	row, err := s.byID(ctx, mfas, mfaID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "", invalid
	}
	if err != nil {
		return "", err
	}
	if s.expired(row, ttl) {
		if _, err := s.takeRow(ctx, mfas, row.ID()); err != nil {
			s.logger.Warn("deleting an expired MFA session failed", "mfaId", row.ID(), "err", err)
		}
		return "", invalid
	}
	if row.String("recordRef") != r.ID() || row.String("collectionRef") != c.ID {
		return "", apperr.New(apperr.Invalid, "Invalid MFA session.")
	}
	if row.String("method") == method {
		return "", apperr.New(apperr.Invalid, "A different authentication method is required.")
	}
	taken, err := s.takeRow(ctx, mfas, row.ID())
	if err != nil {
		return "", err
	}
	if !taken {
		return "", invalid // completed by a concurrent request
	}
	return "", nil
}

// wantsMFA reports whether r needs a second factor: always when the
// collection's mfa.rule is empty, else when r matches it.
func (s *Service) wantsMFA(ctx context.Context, req *record.Request, r *schema.Record) (bool, error) {
	rule := strings.TrimSpace(r.Collection.MFA.Rule)
	if rule == "" {
		return true, nil
	}
	sub := record.Request{Method: "POST", Context: "default", Auth: r}
	if req != nil {
		sub.Headers, sub.Query, sub.Method = req.Headers, req.Query, req.Method
	}
	q := &store.Query{Collection: r.Collection, Schema: s.cols.Lookup, Request: &sub, IDs: []string{r.ID()}, Filters: []string{rule}}
	n, err := s.store.CountRecords(ctx, q)
	if err != nil {
		return true, err
	}
	return n > 0, nil
}
