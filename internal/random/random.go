// Package random produces cryptographically random strings for ids, secrets
// and file names. It is a leaf package: it imports no Basalt package.
package random

import (
	"crypto/rand"
	"math/big"
)

// Alphabets for String.
const (
	LowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	Alnum      = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// String returns n characters drawn uniformly from alphabet using crypto/rand.
func String(alphabet string, n int) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("random: crypto/rand failed: " + err.Error()) // the OS source never fails in practice
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out)
}

// ID returns a new 15-character [a-z0-9] record id.
func ID() string { return String(LowerAlnum, 15) }

// Secret returns a new 50-character alphanumeric secret.
func Secret() string { return String(Alnum, 50) }
