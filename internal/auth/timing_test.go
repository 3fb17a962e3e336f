package auth

import (
	"log/slog"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/schema"
)

// TestDummyHashMatchesTheCollectionCost checks that an unknown identity
// costs the bcrypt work of a known one whatever the collection's cost.
func TestDummyHashMatchesTheCollectionCost(t *testing.T) {
	t.Parallel()
	s := &Service{dummies: map[int]string{}, logger: slog.New(slog.DiscardHandler)}
	for fieldCost, want := range map[int]int{0: password.DefaultCost, 5: 5, bcrypt.MinCost: bcrypt.MinCost, 99: password.DefaultCost} {
		c := &schema.Collection{Type: schema.TypeAuth, Fields: []*schema.Field{{Name: "password", Type: schema.TypePassword, Cost: fieldCost}}}
		h := s.dummyHash(c)
		got, err := bcrypt.Cost([]byte(h))
		if err != nil || got != want {
			t.Errorf("field cost %d: dummy hash cost %d (%v), want %d", fieldCost, got, err, want)
		}
		if again := s.dummyHash(c); again != h {
			t.Errorf("field cost %d: the dummy hash is not reused", fieldCost)
		}
		if s.checkPassword(c, nil, "anything") {
			t.Errorf("field cost %d: an unknown identity passed", fieldCost)
		}
	}
}
