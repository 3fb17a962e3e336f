package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms of asymmetric signing keys. HS256 is the PocketBase default,
// signed with per-record secrets rather than a Key.
const (
	AlgHS256 = "HS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// Key is an asymmetric signing key. Its algorithm is fixed when it is
// generated: a token naming the key by kid verifies only under Alg.
type Key struct {
	ID      string
	Alg     string
	Private crypto.Signer
	// Created is when the key was generated; Retired when a newer key
	// replaced it (zero while it is the active key).
	Created, Retired time.Time
}

// Public returns the key's public half.
func (k *Key) Public() crypto.PublicKey { return k.Private.Public() }

// method returns the JWT signing method of alg, or nil for an algorithm
// keys cannot have.
func method(alg string) jwt.SigningMethod {
	switch alg {
	case AlgES256:
		return jwt.SigningMethodES256
	case AlgEdDSA:
		return jwt.SigningMethodEdDSA
	}
	return nil
}

// ValidAlg reports whether alg can be an asymmetric key's algorithm.
func ValidAlg(alg string) bool { return method(alg) != nil }

// GenerateKey returns a new key of alg (ES256 or EdDSA) created at now, with
// its RFC 7638 thumbprint as id.
func GenerateKey(alg string, now time.Time) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("generating signing key: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	k := &Key{Alg: alg, Private: priv, Created: now.UTC()}
	if k.ID, err = thumbprint(k); err != nil {
		return nil, err
	}
	return k, nil
}

// SignWith returns a token for c valid for ttl from now, signed with k and
// naming it in the kid header.
func SignWith(c Claims, k *Key, now time.Time, ttl time.Duration) (string, error) {
	m := method(k.Alg)
	if m == nil {
		return "", fmt.Errorf("signing token: unsupported algorithm %q", k.Alg)
	}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	t := jwt.NewWithClaims(m, &c)
	t.Header["kid"] = k.ID
	return t.SignedString(k.Private)
}

// errKey is any failure to find a key for a token: no kid, an unknown kid,
// or an alg other than the key's.
var errKey = errors.New("no matching signing key")

// VerifyWith checks s against the key its kid header names (looked up with
// keys) and its expiry. Only asymmetric algorithms are accepted, and only
// the one the key was generated for: "none", HS256 and any other algorithm
// fail, whatever the key.
func VerifyWith(s string, keys func(kid string) *Key, now time.Time) (*Claims, error) {
	var c Claims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{AlgES256, AlgEdDSA}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := p.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errKey
		}
		k := keys(kid)
		if k == nil || t.Method.Alg() != k.Alg || method(k.Alg) == nil {
			return nil, errKey
		}
		return k.Public(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("verifying token: %w", err)
	}
	if c.ID == "" || c.Type == "" || c.CollectionID == "" {
		return nil, errors.New("verifying token: missing claims")
	}
	return &c, nil
}

// KeyID returns the kid header of s without verifying anything ("" when
// there is none or s is not a JWT).
func KeyID(s string) string {
	t, _, err := jwt.NewParser().ParseUnverified(s, &Claims{})
	if err != nil {
		return ""
	}
	kid, _ := t.Header["kid"].(string)
	return kid
}

// JWK returns the public half of k as an RFC 7517 JSON Web Key: EC P-256
// for ES256, OKP Ed25519 (RFC 8037) for EdDSA.
func JWK(k *Key) (map[string]any, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	out := map[string]any{"kid": k.ID, "alg": k.Alg, "use": "sig"}
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		e, err := pub.ECDH()
		if err != nil {
			return nil, fmt.Errorf("encoding signing key: %w", err)
		}
		raw := e.Bytes() // 0x04 || X || Y, 32 bytes each
		out["kty"], out["crv"], out["x"], out["y"] = "EC", "P-256", b64(raw[1:33]), b64(raw[33:65])
	case ed25519.PublicKey:
		out["kty"], out["crv"], out["x"] = "OKP", "Ed25519", b64(pub)
	default:
		return nil, fmt.Errorf("encoding signing key: unsupported key type %T", pub)
	}
	return out, nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of k's public key: the
// required members of its JWK, in lexicographic order, without spaces.
func thumbprint(k *Key) (string, error) {
	jwk, err := JWK(k)
	if err != nil {
		return "", err
	}
	var members []byte
	switch jwk["kty"] {
	case "EC":
		members, err = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{jwk["crv"].(string), "EC", jwk["x"].(string), jwk["y"].(string)})
	default:
		members, err = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{jwk["crv"].(string), "OKP", jwk["x"].(string)})
	}
	if err != nil {
		return "", fmt.Errorf("encoding signing key: %w", err)
	}
	sum := sha256.Sum256(members)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// storedKey is the storage form of a Key.
type storedKey struct {
	ID      string `json:"kid"`
	Alg     string `json:"alg"`
	PKCS8   []byte `json:"pkcs8"`
	Created int64  `json:"created"`
	Retired int64  `json:"retired,omitempty"`
}

// MarshalKeys encodes keys, private halves included, for storage.
func MarshalKeys(keys []*Key) ([]byte, error) {
	list := make([]storedKey, len(keys))
	for i, k := range keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.Private)
		if err != nil {
			return nil, fmt.Errorf("encoding signing key %s: %w", k.ID, err)
		}
		list[i] = storedKey{ID: k.ID, Alg: k.Alg, PKCS8: der, Created: k.Created.Unix()}
		if !k.Retired.IsZero() {
			list[i].Retired = k.Retired.Unix()
		}
	}
	return json.Marshal(list)
}

// UnmarshalKeys decodes what MarshalKeys encoded. A key whose private half
// does not match its algorithm is an error.
func UnmarshalKeys(data []byte) ([]*Key, error) {
	var list []storedKey
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("decoding signing keys: %w", err)
	}
	keys := make([]*Key, 0, len(list))
	for _, s := range list {
		priv, err := x509.ParsePKCS8PrivateKey(s.PKCS8)
		if err != nil {
			return nil, fmt.Errorf("decoding signing key %s: %w", s.ID, err)
		}
		k := &Key{ID: s.ID, Alg: s.Alg, Created: time.Unix(s.Created, 0).UTC()}
		switch p := priv.(type) {
		case *ecdsa.PrivateKey:
			if s.Alg != AlgES256 || p.Curve != elliptic.P256() {
				return nil, fmt.Errorf("decoding signing key %s: not an %s key", s.ID, s.Alg)
			}
			k.Private = p
		case ed25519.PrivateKey:
			if s.Alg != AlgEdDSA {
				return nil, fmt.Errorf("decoding signing key %s: not an %s key", s.ID, s.Alg)
			}
			k.Private = p
		default:
			return nil, fmt.Errorf("decoding signing key %s: unsupported key type %T", s.ID, priv)
		}
		if s.Retired != 0 {
			k.Retired = time.Unix(s.Retired, 0).UTC()
		}
		keys = append(keys, k)
	}
	return keys, nil
}
