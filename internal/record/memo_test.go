package record

import (
	"fmt"
	"sync"
	"testing"
)

func TestMemo(t *testing.T) {
	t.Parallel()
	var m Memo
	if m.Load(1) != nil {
		t.Fatal("an empty memo has an encoding")
	}
	m.Store(1, []byte("one"))
	m.Store(1, []byte("again")) // the first encoding of a view stays
	m.Store(2, []byte("two"))
	if got := string(m.Load(1)); got != "one" {
		t.Fatalf("Load(1) = %q, want one", got)
	}
	if got := string(m.Load(2)); got != "two" {
		t.Fatalf("Load(2) = %q, want two", got)
	}
	for v := uint64(3); v < 10; v++ {
		m.Store(v, []byte("more"))
	}
	n := 0
	for v := uint64(1); v < 10; v++ {
		if m.Load(v) != nil {
			n++
		}
	}
	if n != maxMemoViews {
		t.Fatalf("memo keeps %d views, want %d", n, maxMemoViews)
	}
}

func TestMemoConcurrent(t *testing.T) {
	t.Parallel()
	var m Memo
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				v := uint64((g + i) % maxMemoViews)
				want := fmt.Sprint(v)
				m.Store(v, []byte(want))
				if got := m.Load(v); string(got) != want {
					t.Errorf("Load(%d) = %q, want %q", v, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
