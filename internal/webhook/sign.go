package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signing follows the Standard Webhooks specification: the signed content
// is "msgId.timestamp.body", the key the base64-decoded part of the
// "whsec_" secret, and the signature "v1," and the base64 HMAC-SHA256.

const secretPrefix = "whsec_"

func decodeSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errors.New("secret lacks the whsec_ prefix")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, errors.New("secret is not base64")
	}
	return key, nil
}

// Sign returns the "v1,<base64>" signature of body sent as message id at ts.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// signatures returns the webhook-signature header value for w at now: the
// current secret's signature, and the previous one's during a rotation.
func signatures(secret, previous string, previousUntil time.Time, id string, now time.Time, body []byte) (string, error) {
	sig, err := Sign(secret, id, now, body)
	if err != nil {
		return "", err
	}
	if previous != "" && now.Before(previousUntil) {
		if old, err := Sign(previous, id, now, body); err == nil {
			sig += " " + old
		}
	}
	return sig, nil
}
