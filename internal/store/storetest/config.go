package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store"
)

func testConfig(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Parallel()
	s := open(t)

	versions := func() map[store.ConfigArea]int64 {
		t.Helper()
		v, err := s.ConfigVersions(ctx)
		if err != nil {
			t.Fatalf("ConfigVersions: %v", err)
		}
		return v
	}
	if got := versions(); len(got) != 0 {
		t.Fatalf("ConfigVersions of a new store: got %v, want none", got)
	}

	inTx(t, s, func(tx store.Tx) error { return tx.TouchConfig(ctx, store.ConfigCollections) })
	first := versions()
	if first[store.ConfigCollections] <= 0 {
		t.Fatalf("collections version after a touch: got %d, want > 0", first[store.ConfigCollections])
	}
	if _, ok := first[store.ConfigSettings]; ok {
		t.Errorf("settings version after touching collections only: got %d, want absent", first[store.ConfigSettings])
	}

	// A rolled-back touch changes nothing.
	errRollback := errors.New("roll back")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.TouchConfig(ctx, store.ConfigCollections); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the callback's error", err)
	}
	if got := versions()[store.ConfigCollections]; got != first[store.ConfigCollections] {
		t.Errorf("collections version after a rollback: got %d, want %d", got, first[store.ConfigCollections])
	}

	// Each committed touch raises the version; areas move independently.
	for range 3 {
		inTx(t, s, func(tx store.Tx) error {
			if err := tx.TouchConfig(ctx, store.ConfigSettings); err != nil {
				return err
			}
			return tx.TouchConfig(ctx, store.ConfigCollections)
		})
	}
	got := versions()
	if got[store.ConfigCollections] < first[store.ConfigCollections]+3 {
		t.Errorf("collections version after 3 more touches: got %d, want >= %d", got[store.ConfigCollections], first[store.ConfigCollections]+3)
	}
	if got[store.ConfigSettings] < 3 {
		t.Errorf("settings version after 3 touches: got %d, want >= 3", got[store.ConfigSettings])
	}
	// Settings values stay apart from the versions.
	if _, err := s.Param(ctx, "settings"); err == nil {
		t.Errorf("Param(settings) after touching config: want NotFound")
	}

	// WatchConfig returns when its context ends (or at once when the
	// engine has nothing to watch) and reports only known areas.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err = s.WatchConfig(wctx, func(area store.ConfigArea) {
		if area != store.ConfigCollections && area != store.ConfigSettings {
			t.Errorf("WatchConfig reported %q", area)
		}
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WatchConfig: got %v, want nil or the context's error", err)
	}
}
