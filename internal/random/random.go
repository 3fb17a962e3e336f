// Package random produces cryptographically random strings for ids, secrets
// and file names. It is a leaf package: it imports no Basalt package.
package random

import "crypto/rand"

// Alphabets for String.
const (
	LowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	Alnum      = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// String returns n characters drawn uniformly from alphabet (at most 256
// characters) using crypto/rand. Random bytes are read in one call and
// mapped by rejection sampling: a byte at or above the largest multiple of
// len(alphabet) is dropped, so every character is equally likely.
func String(alphabet string, n int) string {
	k := len(alphabet)
	if k == 0 || k > 256 {
		panic("random: the alphabet must have 1 to 256 characters")
	}
	limit := 256 - 256%k // bytes below limit map uniformly
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		// Ask for a little more than is left: with a 36-letter alphabet
		// about one byte in nine is dropped.
		chunk := buf[:min(len(buf), n-len(out)+(n-len(out))/4+1)]
		if _, err := rand.Read(chunk); err != nil {
			panic("random: crypto/rand failed: " + err.Error()) // the OS source never fails in practice
		}
		for _, b := range chunk {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%k])
			}
		}
	}
	return string(out)
}

// ID returns a new 15-character [a-z0-9] record id.
func ID() string { return String(LowerAlnum, 15) }

// Secret returns a new 50-character alphanumeric secret.
func Secret() string { return String(Alnum, 50) }
