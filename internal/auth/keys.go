package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/token"
)

// Asymmetric signing (opt-in, WithSigning): every token is signed with the
// active key of the ring and names it by kid; verification finds the key by
// kid and accepts only its algorithm. Keys live in the database (params),
// so every replica signs and verifies with the same ring. Rotation makes a
// new key active; the old ones keep verifying until every token they can
// have signed has expired, then they are dropped.

// paramSigningKeys is the params key of the stored ring.
const paramSigningKeys = "tokenSigningKeys"

// keyReload bounds how long a replica signs with a ring another replica
// (or the CLI) may have rotated since.
const keyReload = 30 * time.Second

// keyMissReload bounds the reloads that tokens with unknown kids cause.
const keyMissReload = time.Second

// WithSigning signs tokens with asymmetric keys of alg (token.AlgES256 or
// token.AlgEdDSA) instead of PocketBase's per-record HS256 secrets. "" and
// token.AlgHS256 keep the default.
func WithSigning(alg string) Option {
	return func(s *Service) {
		if alg == token.AlgHS256 {
			alg = ""
		}
		s.keys.alg = alg
	}
}

// keyRing caches the stored signing keys.
type keyRing struct {
	alg string // "" = HS256 mode

	mu       sync.Mutex
	keys     []*token.Key
	loaded   time.Time
	lastMiss time.Time
}

// SigningAlg returns the algorithm new tokens are signed with.
func (s *Service) SigningAlg() string {
	if s.keys.alg == "" {
		return token.AlgHS256
	}
	return s.keys.alg
}

// keyHash binds an asymmetric token to r's tokenKey and the collection's
// secret for its type: changing either invalidates the token, as it does
// an HS256 one.
func keyHash(r *schema.Record, cfg schema.TokenConfig) string {
	sum := sha256.Sum256(signingKey(r, cfg))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// signToken signs claims for r with cfg's secret (HS256) or the active key.
func (s *Service) signToken(ctx context.Context, r *schema.Record, cfg schema.TokenConfig, claims token.Claims, ttl time.Duration) (string, error) {
	if s.keys.alg == "" {
		return token.Sign(claims, signingKey(r, cfg), s.now(), ttl)
	}
	k, err := s.activeKey(ctx)
	if err != nil {
		return "", err
	}
	claims.KeyHash = keyHash(r, cfg)
	return token.SignWith(claims, k, s.now(), ttl)
}

// verifyToken verifies raw, a token of r, in the service's signing mode.
func (s *Service) verifyToken(ctx context.Context, raw string, r *schema.Record, cfg schema.TokenConfig) (*token.Claims, error) {
	if s.keys.alg == "" {
		return token.Verify(raw, signingKey(r, cfg), s.now())
	}
	c, err := token.VerifyWith(raw, func(kid string) *token.Key { return s.keyByID(ctx, kid) }, s.now())
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(c.KeyHash), []byte(keyHash(r, cfg))) != 1 {
		return nil, errBadToken
	}
	return c, nil
}

// activeKey returns the key that signs new tokens, generating and storing
// one on first use (or when the configured algorithm changed).
func (s *Service) activeKey(ctx context.Context) (*token.Key, error) {
	ring := &s.keys
	ring.mu.Lock()
	defer ring.mu.Unlock()
	if s.now().Sub(ring.loaded) > keyReload {
		if err := s.loadKeys(ctx); err != nil {
			return nil, err
		}
	}
	if k := active(ring.keys, ring.alg); k != nil {
		return k, nil
	}
	if err := s.rotateLocked(ctx, false); err != nil {
		return nil, err
	}
	return active(ring.keys, ring.alg), nil
}

// active returns the unretired key of alg in keys, or nil.
func active(keys []*token.Key, alg string) *token.Key {
	for _, k := range keys {
		if k.Retired.IsZero() && k.Alg == alg {
			return k
		}
	}
	return nil
}

// keyByID returns the key with kid, reloading the ring (at most once per
// keyMissReload) when it is unknown: another replica may have rotated.
func (s *Service) keyByID(ctx context.Context, kid string) *token.Key {
	ring := &s.keys
	ring.mu.Lock()
	defer ring.mu.Unlock()
	find := func() *token.Key {
		for _, k := range ring.keys {
			if k.ID == kid {
				return k
			}
		}
		return nil
	}
	if k := find(); k != nil {
		return k
	}
	now := s.now()
	if now.Sub(ring.lastMiss) < keyMissReload {
		return nil
	}
	ring.lastMiss = now
	if err := s.loadKeys(ctx); err != nil {
		s.logger.Error("loading token signing keys failed", "err", err)
		return nil
	}
	return find()
}

// loadKeys reads the ring from the store, without the keys past their
// retention. The caller holds ring.mu.
func (s *Service) loadKeys(ctx context.Context) error {
	keys, err := readKeys(ctx, s.store)
	if err != nil {
		return err
	}
	s.keys.keys, s.keys.loaded = s.retained(keys), s.now()
	return nil
}

func readKeys(ctx context.Context, rd store.Reader) ([]*token.Key, error) {
	data, err := rd.Param(ctx, paramSigningKeys)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys, err := token.UnmarshalKeys(data)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, "", err)
	}
	return keys, nil
}

// retained drops the retired keys that can no longer have signed an
// unexpired token: retired longer ago than the longest token duration of
// any auth collection. (A token with a longer, custom lifetime, such as an
// impersonation token, stops verifying then.)
func (s *Service) retained(keys []*token.Key) []*token.Key {
	var longest time.Duration
	for _, c := range s.cols.All() {
		if !c.IsAuth() {
			continue
		}
		for _, typ := range []string{token.TypeAuth, token.TypeFile, token.TypeVerification, token.TypePasswordReset, token.TypeEmailChange} {
			cfg, _ := tokenConfig(c, typ)
			longest = max(longest, seconds(cfg.Duration))
		}
	}
	now := s.now()
	out := make([]*token.Key, 0, len(keys))
	for _, k := range keys {
		if k.Retired.IsZero() || now.Before(k.Retired.Add(longest+time.Minute)) {
			out = append(out, k)
		}
	}
	return out
}

// RotateKeys makes a new key of the configured algorithm active; the
// previous ones keep verifying the tokens they signed until those expire.
// Invalid in HS256 mode.
func (s *Service) RotateKeys(ctx context.Context) (*token.Key, error) {
	if s.keys.alg == "" {
		return nil, apperr.New(apperr.Invalid, "Token signing keys are used only with an asymmetric signing algorithm.")
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if err := s.rotateLocked(ctx, true); err != nil {
		return nil, err
	}
	return active(s.keys.keys, s.keys.alg), nil
}

// rotateLocked stores a new active key (when force, or when the stored
// ring has none of the configured algorithm: another replica may have just
// made one), retiring the others and dropping the expired ones. The caller
// holds ring.mu.
func (s *Service) rotateLocked(ctx context.Context, force bool) error {
	var keys []*token.Key
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		stored, err := readKeys(ctx, tx)
		if err != nil {
			return err
		}
		if !force && active(stored, s.keys.alg) != nil {
			keys = stored
			return nil
		}
		now := s.now()
		k, err := token.GenerateKey(s.keys.alg, now)
		if err != nil {
			return apperr.Wrap(apperr.Internal, "", err)
		}
		for _, old := range stored {
			if old.Retired.IsZero() {
				old.Retired = now.UTC()
			}
		}
		keys = append(s.retained(stored), k)
		data, err := token.MarshalKeys(keys)
		if err != nil {
			return apperr.Wrap(apperr.Internal, "", err)
		}
		return tx.SetParam(ctx, paramSigningKeys, data)
	})
	if err != nil {
		return err
	}
	s.keys.keys, s.keys.loaded = s.retained(keys), s.now()
	return nil
}

// JWKS returns the public keys that verify tokens, as an RFC 7517 JWK set
// ({"keys": [...]}); empty in HS256 mode, whose secrets are not public.
func (s *Service) JWKS(ctx context.Context) (map[string]any, error) {
	list := []any{}
	if s.keys.alg != "" {
		if _, err := s.activeKey(ctx); err != nil {
			return nil, err
		}
		s.keys.mu.Lock()
		keys := append([]*token.Key(nil), s.keys.keys...)
		s.keys.mu.Unlock()
		for _, k := range keys {
			jwk, err := token.JWK(k)
			if err != nil {
				return nil, apperr.Wrap(apperr.Internal, "", err)
			}
			list = append(list, jwk)
		}
	}
	return map[string]any{"keys": list}, nil
}
