package random

import (
	"regexp"
	"testing"
	"time"
)

func TestOrdered(t *testing.T) {
	t.Parallel()
	for _, n := range []int{15, 20} {
		valid := regexp.MustCompile(`^[a-z0-9]+$`)
		t0 := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
		prev := ""
		for i := range 2000 {
			id := Ordered(t0.Add(time.Duration(i)*time.Millisecond), n)
			if len(id) != n || !valid.MatchString(id) {
				t.Fatalf("id %q is not %d characters of [a-z0-9]", id, n)
			}
			if id <= prev {
				t.Fatalf("id %q for a later millisecond sorts before %q", id, prev)
			}
			prev = id
		}
		if a, b := Ordered(t0, n), Ordered(t0, n); a == b {
			t.Fatalf("two ids of one millisecond are equal: %q", a)
		}
		if id := Ordered(time.Unix(0, 0), n); id[:9] != "000000000" {
			t.Fatalf("the epoch gives %q", id)
		}
	}
}
