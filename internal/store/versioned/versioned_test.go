package versioned_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/versioned"
)

func TestVersionMovesAfterEveryWriteTransaction(t *testing.T) {
	ctx := context.Background()
	inner, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	st := versioned.Wrap(inner)
	v0 := st.Version()
	var during uint64
	if err := st.InTx(ctx, func(store.Tx) error { during = st.Version(); return nil }); err != nil {
		t.Fatal(err)
	}
	if during != v0 {
		t.Fatalf("version moved before the transaction ended: %d → %d", v0, during)
	}
	if st.Version() != v0+1 {
		t.Fatalf("version after a commit = %d, want %d", st.Version(), v0+1)
	}
	boom := errors.New("boom")
	if err := st.InTx(ctx, func(store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the callback's error", err)
	}
	if st.Version() != v0+2 {
		t.Fatalf("version after a rollback = %d, want %d", st.Version(), v0+2)
	}
	if _, err := st.Collections(ctx); err != nil || st.Version() != v0+2 {
		t.Fatalf("a read moved the version (%d) or failed (%v)", st.Version(), err)
	}
}
