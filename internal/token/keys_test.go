package token_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/token"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func claims() token.Claims {
	return token.Claims{ID: "rec1234567890ab", Type: token.TypeAuth, CollectionID: "_pb_users_auth_", KeyHash: "h"}
}

func newKey(t *testing.T, alg string) *token.Key {
	t.Helper()
	k, err := token.GenerateKey(alg, now)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	return k
}

// forge builds a token from a header and claims, signed by sign (nil = no
// signature).
func forge(t *testing.T, header map[string]any, c token.Claims, sign func(input string) []byte) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	c.ExpiresAt = nil
	h, _ := json.Marshal(header)
	body := map[string]any{"id": c.ID, "type": c.Type, "collectionId": c.CollectionID, "tkh": c.KeyHash,
		"exp": now.Add(time.Hour).Unix()}
	p, _ := json.Marshal(body)
	input := b64(h) + "." + b64(p)
	sig := ""
	if sign != nil {
		sig = b64(sign(input))
	}
	return input + "." + sig
}

func TestSignWithVerifyWith(t *testing.T) {
	for _, alg := range []string{token.AlgES256, token.AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			k := newKey(t, alg)
			keys := func(kid string) *token.Key {
				if kid == k.ID {
					return k
				}
				return nil
			}
			s, err := token.SignWith(claims(), k, now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if got := token.KeyID(s); got != k.ID {
				t.Errorf("kid = %q, want %q", got, k.ID)
			}
			c, err := token.VerifyWith(s, keys, now.Add(time.Minute))
			if err != nil {
				t.Fatalf("VerifyWith: %v", err)
			}
			if c.ID != "rec1234567890ab" || c.KeyHash != "h" || c.Type != token.TypeAuth {
				t.Errorf("claims = %+v", c)
			}
			if _, err := token.VerifyWith(s, keys, now.Add(2*time.Hour)); err == nil {
				t.Error("expired token verified")
			}
			if _, err := token.VerifyWith(s, func(string) *token.Key { return nil }, now); err == nil {
				t.Error("token with an unknown kid verified")
			}
			other := newKey(t, alg)
			if _, err := token.VerifyWith(s, func(string) *token.Key { return other }, now); err == nil {
				t.Error("token verified with another key of the same algorithm")
			}
			tampered := s[:strings.LastIndex(s, ".")] + "." + strings.Repeat("A", 86)
			if _, err := token.VerifyWith(tampered, keys, now); err == nil {
				t.Error("token with a forged signature verified")
			}
		})
	}
}

// TestVerifyWithRejectsConfusion covers the classic JWT attacks: alg none,
// HS256 signed with the public key as HMAC secret, an algorithm other than
// the key's, a missing kid and an HS256 token without kid.
func TestVerifyWithRejectsConfusion(t *testing.T) {
	es := newKey(t, token.AlgES256)
	ed := newKey(t, token.AlgEdDSA)
	byID := map[string]*token.Key{es.ID: es, ed.ID: ed}
	keys := func(kid string) *token.Key { return byID[kid] }
	pubDER, err := x509.MarshalPKIXPublicKey(es.Public())
	if err != nil {
		t.Fatal(err)
	}
	edPub := []byte(ed.Public().(ed25519.PublicKey))
	hs := func(secret []byte) func(string) []byte {
		return func(input string) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(input))
			return m.Sum(nil)
		}
	}
	jwk, _ := token.JWK(es)
	cases := map[string]string{
		"alg none":                      forge(t, map[string]any{"alg": "none", "typ": "JWT", "kid": es.ID}, claims(), nil),
		"alg None":                      forge(t, map[string]any{"alg": "None", "kid": es.ID}, claims(), nil),
		"HS256 with the EC public DER":  forge(t, map[string]any{"alg": "HS256", "kid": es.ID}, claims(), hs(pubDER)),
		"HS256 with the Ed25519 bytes":  forge(t, map[string]any{"alg": "HS256", "kid": ed.ID}, claims(), hs(edPub)),
		"HS256 with the JWK x":          forge(t, map[string]any{"alg": "HS256", "kid": es.ID}, claims(), hs([]byte(jwk["x"].(string)))),
		"HS256 without kid":             forge(t, map[string]any{"alg": "HS256"}, claims(), hs([]byte("secret"))),
		"EdDSA signature under ES key":  retarget(t, ed, es.ID),
		"ES256 signature under Ed key":  retarget(t, es, ed.ID),
		"no kid":                        dropKid(t, es),
		"RS256 header":                  forge(t, map[string]any{"alg": "RS256", "kid": es.ID}, claims(), hs(pubDER)),
		"ES256 with zero signature":     forge(t, map[string]any{"alg": "ES256", "kid": es.ID}, claims(), func(string) []byte { return make([]byte, 64) }),
		"ES256 with r=n signature":      forge(t, map[string]any{"alg": "ES256", "kid": es.ID}, claims(), curveOrderSig(es)),
		"not a JWT":                     "abc",
		"empty signature of a real key": dropSig(t, ed),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if c, err := token.VerifyWith(s, keys, now); err == nil {
				t.Errorf("VerifyWith accepted it: %+v", c)
			}
		})
	}
}

// retarget signs with k but names the key kid (of another algorithm).
func retarget(t *testing.T, k *token.Key, kid string) string {
	t.Helper()
	orig := k.ID
	k2 := *k
	k2.ID = kid
	s, err := token.SignWith(claims(), &k2, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_ = orig
	return s
}

func dropKid(t *testing.T, k *token.Key) string {
	t.Helper()
	k2 := *k
	k2.ID = ""
	s, err := token.SignWith(claims(), &k2, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dropSig(t *testing.T, k *token.Key) string {
	t.Helper()
	s, err := token.SignWith(claims(), k, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s[:strings.LastIndex(s, ".")+1]
}

// curveOrderSig returns an ES256 signature (r, s) = (n, n), which a
// verifier that skips range checks might accept.
func curveOrderSig(k *token.Key) func(string) []byte {
	return func(string) []byte {
		n := k.Public().(*ecdsa.PublicKey).Curve.Params().N
		b := make([]byte, 64)
		new(big.Int).Set(n).FillBytes(b[:32])
		n.FillBytes(b[32:])
		return b
	}
}

func TestJWK(t *testing.T) {
	ed := newKey(t, token.AlgEdDSA)
	j, err := token.JWK(ed)
	if err != nil {
		t.Fatal(err)
	}
	if j["kty"] != "OKP" || j["crv"] != "Ed25519" || j["alg"] != "EdDSA" || j["kid"] != ed.ID || j["use"] != "sig" {
		t.Errorf("Ed25519 JWK = %v", j)
	}
	if x, _ := base64.RawURLEncoding.DecodeString(j["x"].(string)); len(x) != ed25519.PublicKeySize {
		t.Errorf("x has %d bytes, want %d", len(x), ed25519.PublicKeySize)
	}
	if _, ok := j["d"]; ok {
		t.Error("JWK carries the private key")
	}
	es := newKey(t, token.AlgES256)
	j, err = token.JWK(es)
	if err != nil {
		t.Fatal(err)
	}
	if j["kty"] != "EC" || j["crv"] != "P-256" || j["alg"] != "ES256" {
		t.Errorf("EC JWK = %v", j)
	}
	x, _ := base64.RawURLEncoding.DecodeString(j["x"].(string))
	y, _ := base64.RawURLEncoding.DecodeString(j["y"].(string))
	pub := es.Public().(*ecdsa.PublicKey)
	if new(big.Int).SetBytes(x).Cmp(pub.X) != 0 || new(big.Int).SetBytes(y).Cmp(pub.Y) != 0 || len(x) != 32 || len(y) != 32 {
		t.Errorf("EC JWK coordinates do not match the key")
	}
	if len(es.ID) != 43 || es.ID == ed.ID {
		t.Errorf("kid %q is not a SHA-256 thumbprint", es.ID)
	}
}

func TestMarshalKeys(t *testing.T) {
	es, ed := newKey(t, token.AlgES256), newKey(t, token.AlgEdDSA)
	es.Retired = now.Add(time.Hour)
	data, err := token.MarshalKeys([]*token.Key{es, ed})
	if err != nil {
		t.Fatal(err)
	}
	got, err := token.UnmarshalKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != es.ID || got[0].Alg != token.AlgES256 || !got[0].Retired.Equal(es.Retired) ||
		got[1].ID != ed.ID || !got[1].Retired.IsZero() || !got[1].Created.Equal(now) {
		t.Fatalf("round trip = %+v %+v", got[0], got[1])
	}
	s, err := token.SignWith(claims(), got[1], now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.VerifyWith(s, func(string) *token.Key { return ed }, now); err != nil {
		t.Errorf("token signed with the decoded key does not verify with the original: %v", err)
	}
	// A stored key whose algorithm does not match its private half.
	bad := strings.Replace(string(data), `"alg":"EdDSA"`, `"alg":"ES256"`, 1)
	if _, err := token.UnmarshalKeys([]byte(bad)); err == nil {
		t.Error("UnmarshalKeys accepted an Ed25519 key stored as ES256")
	}
}
