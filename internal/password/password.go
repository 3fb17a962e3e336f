// Package password hashes and checks passwords with bcrypt. It is a leaf
// package: it imports no Basalt package.
package password

import (
	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is used when a field does not set one.
const DefaultCost = 10

// Hash returns the bcrypt hash of plain at cost (DefaultCost when outside
// bcrypt's range).
func Hash(plain string, cost int) (string, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		cost = DefaultCost
	}
	b, err := bcrypt.GenerateFromPassword([]byte(plain), cost)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Check reports whether plain matches hash. bcrypt compares in constant time.
func Check(hash, plain string) bool {
	if hash == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(plain)) == nil
}

// IsHash reports whether s looks like a bcrypt hash (for values that were
// already hashed, e.g. on import).
func IsHash(s string) bool {
	_, err := bcrypt.Cost([]byte(s))
	return err == nil
}
