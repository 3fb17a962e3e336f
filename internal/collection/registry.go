// Package collection is the service that defines collections: it validates
// definitions, migrates their tables through the store, and keeps the
// in-memory registry every other service resolves collections from.
//
// collection imports the domain model, the storage port and leaf packages;
// never adapters or transports.
package collection

import (
	"context"
	"strings"
	"sync"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Registry is a snapshot cache of all collections, replaced whole after each
// change so readers never see a half-applied one.
type Registry struct {
	// loading serializes loads, so that a load that read older definitions
	// never replaces the result of one that read newer ones.
	loading sync.Mutex
	mu      sync.RWMutex
	byKey   map[string]*schema.Collection // lowercased name and id
	sorted  []*schema.Collection
	// version is the store's collections config version read before the
	// definitions (so the definitions are at least that new).
	version int64
}

func (r *Registry) load(ctx context.Context, st store.Store) error {
	r.loading.Lock()
	defer r.loading.Unlock()
	versions, err := st.ConfigVersions(ctx)
	if err != nil {
		return err
	}
	list, err := st.Collections(ctx)
	if err != nil {
		return err
	}
	byKey := make(map[string]*schema.Collection, 2*len(list))
	for _, c := range list {
		byKey[strings.ToLower(c.Name)] = c
		byKey[strings.ToLower(c.ID)] = c
	}
	r.mu.Lock()
	r.byKey, r.sorted, r.version = byKey, list, versions[store.ConfigCollections]
	r.mu.Unlock()
	return nil
}

// loadedVersion returns the config version the registry was loaded at.
func (r *Registry) loadedVersion() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.version
}

// Lookup returns the collection with the given name or id (case-insensitive),
// or nil. The result is shared: callers must not modify it.
func (r *Registry) Lookup(nameOrID string) *schema.Collection {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byKey[strings.ToLower(nameOrID)]
}

// All returns every collection, oldest first. Callers must not modify them.
func (r *Registry) All() []*schema.Collection {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]*schema.Collection(nil), r.sorted...)
}
