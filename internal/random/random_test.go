package random

import (
	"strings"
	"testing"
)

func TestStringUsesTheAlphabetUniformly(t *testing.T) {
	for _, alphabet := range []string{LowerAlnum, Alnum, "ab", "xyz"} {
		counts := map[rune]int{}
		const n, draws = 64, 400
		for range draws {
			s := String(alphabet, n)
			if len(s) != n {
				t.Fatalf("String(%q, %d) has %d characters", alphabet, n, len(s))
			}
			for _, r := range s {
				if !strings.ContainsRune(alphabet, r) {
					t.Fatalf("String(%q) gave %q", alphabet, r)
				}
				counts[r]++
			}
		}
		// Every character appears, each within 25% of its expected share
		// (25,600 draws: the expected deviation is a few percent).
		want := float64(n*draws) / float64(len(alphabet))
		for _, r := range alphabet {
			if got := float64(counts[r]); got < 0.75*want || got > 1.25*want {
				t.Errorf("alphabet %q: %q drawn %v times, want about %v", alphabet, r, got, want)
			}
		}
	}
	if String(LowerAlnum, 0) != "" || len(String(LowerAlnum, 1000)) != 1000 {
		t.Fatal("lengths 0 and 1000")
	}
	if ID() == ID() {
		t.Fatal("two ids are equal")
	}
}

func BenchmarkID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = ID()
	}
}
