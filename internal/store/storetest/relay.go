package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

func testRelay(t *testing.T, open func(t *testing.T) store.Store) {
	t.Parallel()
	s := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const channel = "basalt_test_relay"

	err := s.RelaySend(ctx, channel, bytes.Repeat([]byte("x"), store.MaxRelayPayload+1))
	wantCode(t, err, apperr.Invalid)

	lctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan struct{}, 1)
	got := make(chan []byte, 4)
	done := make(chan error, 1)
	go func() {
		done <- s.RelayListen(lctx, channel, func() {
			select {
			case ready <- struct{}{}:
			default:
			}
		}, func(p []byte) { got <- p })
	}()
	select {
	case err := <-done:
		// An engine without other processes: nothing to listen to.
		if err != nil {
			t.Fatalf("RelayListen returned at once with %v, want nil", err)
		}
		if err := s.RelaySend(ctx, channel, []byte("hello")); err != nil {
			t.Errorf("RelaySend: %v", err)
		}
		return
	case <-ready:
	case <-ctx.Done():
		t.Fatal("RelayListen neither returned nor became ready")
	}
	want := bytes.Repeat([]byte("é"), store.MaxRelayPayload/2)
	for _, p := range [][]byte{[]byte("hello"), []byte(`{"json":true}`), want} {
		if err := s.RelaySend(ctx, channel, p); err != nil {
			t.Fatalf("RelaySend: %v", err)
		}
		select {
		case g := <-got:
			if !bytes.Equal(g, p) {
				t.Errorf("relayed %q, want %q", truncate(g), truncate(p))
			}
		case <-ctx.Done():
			t.Fatalf("message %q not relayed", truncate(p))
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RelayListen after cancel: got %v, want context.Canceled", err)
	}
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
