package auth

import (
	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
)

// checkPassword reports whether plain is the password of r, a record found
// for a sign-in, or nil when none was. Without a record, or with a record
// that has no password (created through OAuth2), it checks plain against a
// dummy hash of the collection's bcrypt cost: a sign-in costs one bcrypt
// comparison at that cost whether or not the identity exists, so its
// duration does not reveal which addresses are registered.
func (s *Service) checkPassword(c *schema.Collection, r *schema.Record, plain string) bool {
	if r != nil {
		if hash := r.String("password"); hash != "" {
			return password.Check(hash, plain)
		}
	}
	password.Check(s.dummyHash(c), plain)
	return false
}

// dummyHash returns a hash of a random secret at the bcrypt cost of c's
// password field, made once per cost.
func (s *Service) dummyHash(c *schema.Collection) string {
	cost := 0
	if f := c.Field("password"); f != nil {
		cost = f.Cost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		cost = password.DefaultCost // as password.Hash does
	}
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if h, ok := s.dummies[cost]; ok {
		return h
	}
	h, err := password.Hash(random.Secret(), cost)
	if err != nil {
		// Only on a broken crypto source; the check then fails fast,
		// which beats failing the sign-in of a known identity.
		s.logger.Error("hashing a dummy password failed", "err", err)
		return ""
	}
	s.dummies[cost] = h
	return h
}
