package logs

import (
	"regexp"
	"testing"
	"time"
)

func TestTimeOrderedIDs(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9]{15}$`)
	t0 := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 2000 {
		id := timeOrderedID(t0.Add(time.Duration(i) * time.Millisecond))
		if !valid.MatchString(id) {
			t.Fatalf("id %q is not 15 characters of [a-z0-9]", id)
		}
		if id <= prev {
			t.Fatalf("id %q for a later millisecond sorts before %q", id, prev)
		}
		prev = id
	}
	if a, b := timeOrderedID(t0), timeOrderedID(t0); a == b {
		t.Fatalf("two ids of one millisecond are equal: %q", a)
	}
	if id := timeOrderedID(time.Unix(0, 0)); id[:9] != "000000000" {
		t.Fatalf("the epoch gives %q", id)
	}
}
