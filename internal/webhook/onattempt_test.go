package webhook

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/basalt-dev/basalt/internal/store"
)

func TestOnAttemptReportsOutcomes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.recv.setStatus(http.StatusInternalServerError)
	var mu sync.Mutex
	var outcomes []string
	s, _ := f.service(Options{MaxAttempts: 2, OnAttempt: func(outcome string) {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, outcome)
	}})
	w := f.hook(s, Input{})
	f.createPost("x")
	ctx := context.Background()
	var d *store.Delivery
	waitFor(t, func() bool {
		ds, _, _ := s.Deliveries(ctx, w.ID, 0, 0)
		if len(ds) == 1 && ds[0].Status == store.DeliveryDead {
			d = ds[0]
			return true
		}
		return false
	})
	f.recv.setStatus(http.StatusNoContent)
	if _, err := s.Replay(ctx, w.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(outcomes) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"failed", "dead", "succeeded"}; !slices.Equal(outcomes, want) {
		t.Errorf("outcomes = %v, want %v", outcomes, want)
	}
}
