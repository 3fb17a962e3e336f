package collection

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Several replicas may share one database. Every change of collections
// touches store.ConfigCollections in its transaction, so that the other
// replicas reload their registries (Reload, called when the store's
// WatchConfig reports the area).
// Until they do, a replica's registry may be behind: a change is therefore
// checked inside its transaction against the stored definitions it was
// computed from (current), and computed again once on a fresh registry
// when they moved.

// errStale reports that a collection a change was computed from no longer
// matches the stored one.
var errStale = errors.New("collection changed by another replica")

// current returns errStale unless every collection in cols is stored
// exactly as given (the writer lock of tx keeps it so until commit).
func current(ctx context.Context, tx store.Reader, cols ...*schema.Collection) error {
	if len(cols) == 0 {
		return nil
	}
	stored, err := tx.Collections(ctx)
	if err != nil {
		return err
	}
	byID := make(map[string]*schema.Collection, len(stored))
	for _, c := range stored {
		byID[c.ID] = c
	}
	for _, c := range cols {
		s := byID[c.ID]
		if s == nil {
			return errStale
		}
		a, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encoding collection %s: %w", c.Name, err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encoding collection %s: %w", s.Name, err)
		}
		if !bytes.Equal(a, b) {
			return errStale
		}
	}
	return nil
}

// staleError turns an errStale left after the retry into a client error.
func staleError(err error) error {
	if errors.Is(err, errStale) {
		return apperr.Wrap(apperr.Conflict, "The collection was changed at the same time; try again.", err)
	}
	return err
}

// missTimeout bounds the store check of a lookup that missed.
const missTimeout = 2 * time.Second

// missCheck lets concurrent lookups that miss share store checks.
type missCheck struct {
	mu      sync.Mutex
	running *missRun // the check under way, nil when none
	started uint64   // checks started so far
}

type missRun struct {
	n    uint64 // the check's number: missCheck.started when it began
	done chan struct{}
}

// catchUp reloads the registry when the store's collections version moved
// past the loaded one. A lookup that misses calls it, then looks again, so
// that a collection created through another replica a moment ago (its
// notification still on the way) is found at once, as a client behind a
// load balancer expects after its create call returned. Lookups that miss
// at the same time share one check, but never one that began before they
// missed: that one may have read the versions before the change it is
// looked up for. Hits never reach the store.
func (s *Service) catchUp() {
	m := &s.misses
	m.mu.Lock()
	first := m.started + 1 // the first check to begin after this miss
	for m.running != nil {
		run := m.running
		m.mu.Unlock()
		<-run.done
		if run.n >= first {
			return
		}
		m.mu.Lock()
	}
	m.started++
	run := &missRun{n: m.started, done: make(chan struct{})}
	m.running = run
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = nil
		m.mu.Unlock()
		close(run.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), missTimeout)
	defer cancel()
	versions, err := s.store.ConfigVersions(ctx)
	if err != nil || versions[store.ConfigCollections] == s.registry.loadedVersion() {
		return
	}
	_ = s.registry.load(ctx, s.store) // a failed load leaves the registry as it was: the lookup misses
}
