// Package token signs and verifies Basalt's JWTs with the claims the
// PocketBase SDK reads (id, type, collectionId, refreshable, exp): HS256
// with per-record secrets as PocketBase does, or, opt-in, ES256 or EdDSA
// with asymmetric keys named by kid (see keys.go). It is a leaf package: it
// imports no Basalt package.
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token types.
const (
	TypeAuth          = "auth"
	TypeFile          = "file"
	TypeVerification  = "verification"
	TypePasswordReset = "passwordReset"
	TypeEmailChange   = "emailChange"
)

// Claims are the verified contents of a token.
type Claims struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	CollectionID string `json:"collectionId"`
	Refreshable  bool   `json:"refreshable,omitempty"`
	Email        string `json:"email,omitempty"`
	NewEmail     string `json:"newEmail,omitempty"`
	// KeyHash ties an asymmetrically signed token to the record's current
	// tokenKey and the collection's secret (see the auth service), so that
	// rotating either still invalidates it. HS256 tokens do not need it:
	// those secrets are their signing key.
	KeyHash string `json:"tkh,omitempty"`
	jwt.RegisteredClaims
}

// Sign returns a token for c valid for ttl from now, signed with key.
func Sign(c Claims, key []byte, now time.Time, ttl time.Duration) (string, error) {
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	return jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(key)
}

// Unverified reads a token's claims without checking its signature, so the
// caller can find which key to verify it with. Never trust the result before
// Verify succeeds.
func Unverified(s string) (*Claims, error) {
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(s, &c); err != nil {
		return nil, fmt.Errorf("reading token: %w", err)
	}
	return &c, nil
}

// Verify checks the signature (HS256 only) and expiry of s against key.
func Verify(s string, key []byte, now time.Time) (*Claims, error) {
	var c Claims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if _, err := p.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		return nil, fmt.Errorf("verifying token: %w", err)
	}
	if c.ID == "" || c.Type == "" || c.CollectionID == "" {
		return nil, errors.New("verifying token: missing claims")
	}
	return &c, nil
}
