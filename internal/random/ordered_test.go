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

func TestRecordID(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z0-9]{15}$`)
	t0 := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 2000 {
		id := RecordID(t0.Add(time.Duration(i) * time.Millisecond))
		if !valid.MatchString(id) {
			t.Fatalf("id %q is not 15 characters of [a-z0-9]", id)
		}
		if id <= prev {
			t.Fatalf("id %q for a later millisecond sorts before %q", id, prev)
		}
		prev = id
	}
	if a, b := RecordID(t0), RecordID(t0); a == b {
		t.Fatalf("two ids of one millisecond are equal: %q", a)
	}
	for _, tc := range []struct {
		t      time.Time
		prefix string
	}{
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "00000000"},
		{time.Date(2020, 1, 1, 0, 0, 0, 1e6, time.UTC), "00000001"},
		// Before 2020 and past the 36^8 ms span the time part wraps around.
		{time.Date(2019, 12, 31, 23, 59, 59, 999e6, time.UTC), "zzzzzzzz"},
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(recordTimeSpan * time.Millisecond), "00000000"},
	} {
		if got := RecordID(tc.t)[:8]; got != tc.prefix {
			t.Errorf("RecordID(%s) starts with %q, want %q", tc.t, got, tc.prefix)
		}
	}
}
