package collection_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// heldStore is a real store whose next ConfigVersions, once held, reads the
// versions and then waits to answer until released: a check that read the
// versions before a change and answers after it.
type heldStore struct {
	store.Store
	mu   sync.Mutex
	gate chan struct{}
	read chan struct{}
}

// hold makes the next ConfigVersions wait; read receives once it has read
// the versions, release lets it answer.
func (h *heldStore) hold() (read <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate, h.read = make(chan struct{}), make(chan struct{}, 1)
	gate := h.gate
	return h.read, func() { close(gate) }
}

func (h *heldStore) ConfigVersions(ctx context.Context) (map[store.ConfigArea]int64, error) {
	v, err := h.Store.ConfigVersions(ctx)
	h.mu.Lock()
	gate, read := h.gate, h.read
	h.gate, h.read = nil, nil
	h.mu.Unlock()
	if gate != nil {
		read <- struct{}{}
		<-gate
	}
	return v, err
}

// replicas returns two collection services on one database, as two
// replicas see it: a and b each keep their own registry, and a's store can
// hold its version checks.
func replicas(t *testing.T) (a, b *collection.Service, held *heldStore) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	held = &heldStore{Store: st}
	if a, err = collection.New(ctx, held, time.Now); err != nil {
		t.Fatal(err)
	}
	if b, err = collection.New(ctx, st, time.Now); err != nil {
		t.Fatal(err)
	}
	return a, b, held
}

func createNotes(t *testing.T, b *collection.Service) {
	t.Helper()
	if _, err := b.Create(context.Background(), []byte(`{"name":"notes","fields":[{"name":"title","type":"text"}]}`)); err != nil {
		t.Fatal(err)
	}
}

func TestLookupFindsWhatAnotherReplicaCreated(t *testing.T) {
	a, b, _ := replicas(t)
	if a.Lookup("notes") != nil {
		t.Fatal("notes before it was created")
	}
	createNotes(t, b)
	if a.Lookup("notes") == nil || a.Lookup("NOTES") == nil {
		t.Fatal("the other replica's new collection is not found")
	}
	if a.Lookup("ghost") != nil {
		t.Fatal("a collection nobody created is found")
	}
}

// A lookup that misses while a check is under way that read the versions
// before the collection was created must not take that check's answer.
func TestLookupDoesNotShareACheckThatBeganBeforeItsMiss(t *testing.T) {
	a, b, held := replicas(t)
	read, release := held.hold()
	early := make(chan struct{})
	go func() {
		defer close(early)
		a.Lookup("ghost")
	}()
	<-read // the early check has read the versions: notes does not exist yet
	createNotes(t, b)
	found := make(chan bool, 1)
	go func() { found <- a.Lookup("notes") != nil }()
	time.Sleep(50 * time.Millisecond) // let the second lookup miss while the early check waits
	release()
	<-early
	if !<-found {
		t.Fatal("a lookup after the create shared the check that began before it and missed")
	}
}

// A reload for another replica's notification may land between a missing
// lookup's version check and its answer: the lookup then finds the
// collection in the reloaded registry.
func TestLookupSeesAReloadThatRacedItsCheck(t *testing.T) {
	a, b, held := replicas(t)
	createNotes(t, b)
	read, release := held.hold()
	found := make(chan bool, 1)
	go func() { found <- a.Lookup("notes") != nil }()
	<-read // the check has read the new version
	// The notification's reload.
	if err := a.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	release() // the check now finds the registry at that version: nothing to load
	if !<-found {
		t.Fatal("the lookup missed a collection its registry holds")
	}
}
