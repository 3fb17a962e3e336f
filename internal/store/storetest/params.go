package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

func testParams(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Parallel()
	s := open(t)

	_, err := s.Param(ctx, "settings")
	wantCode(t, err, apperr.NotFound)

	values := [][]byte{
		[]byte(`{"meta":{"appName":"Basalt"}}`),
		[]byte(`{"meta":{"appName":"Changed"}}`),
		{0, 1, 2, 0xff, 0xfe}, // not text: stored as given
		{},
	}
	for _, v := range values {
		inTx(t, s, func(tx store.Tx) error {
			if err := tx.SetParam(ctx, "settings", v); err != nil {
				return err
			}
			got, err := tx.Param(ctx, "settings")
			if err != nil || !bytes.Equal(got, v) {
				t.Errorf("Param inside tx: got %q, %v; want %q", got, err, v)
			}
			return nil
		})
		got, err := s.Param(ctx, "settings")
		if err != nil {
			t.Fatalf("Param: %v", err)
		}
		if !bytes.Equal(got, v) || got == nil {
			t.Errorf("Param: got %q, want %q", got, v)
		}
	}

	inTx(t, s, func(tx store.Tx) error { return tx.SetParam(ctx, "other", []byte("x")) })
	if got, err := s.Param(ctx, "settings"); err != nil || len(got) != 0 {
		t.Errorf("setting one key changed another: %q, %v", got, err)
	}
}
