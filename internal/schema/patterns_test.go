package schema

import (
	"fmt"
	"sync"
	"testing"
)

func TestValidateWithPatterns(t *testing.T) {
	t.Parallel()
	pats := NewPatterns()
	for _, tc := range []struct {
		pattern, value string
		wantCode       string
	}{
		{"^[a-z0-9]+$", "abc123", ""},
		{"^[a-z0-9]+$", "ABC", "validation_invalid_format"},
		{"^[A-Z]{3}$", "ABC", ""},
		{"^[A-Z]{3}$", "ABCD", "validation_invalid_format"},
		// A pattern that does not compile fails every value, cached or not.
		{"([a-z", "abc", "validation_invalid_format"},
	} {
		f := &Field{Name: "code", Type: TypeText, Pattern: tc.pattern}
		for _, p := range []*Patterns{nil, pats, pats} { // uncached, first use, cached
			got := ""
			if problem := f.ValidateWith(tc.value, p); problem != nil {
				got = problem.Code
			}
			if got != tc.wantCode {
				t.Errorf("pattern %q value %q (cache %v): code %q, want %q", tc.pattern, tc.value, p != nil, got, tc.wantCode)
			}
		}
	}
	if _, ok := pats.m["([a-z"]; ok {
		t.Error("a pattern that does not compile was cached")
	}
}

func TestPatternsBounded(t *testing.T) {
	t.Parallel()
	pats := NewPatterns()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range maxCachedPatterns {
				src := fmt.Sprintf("^x{%d}$", (i+w*maxCachedPatterns/2)%(maxCachedPatterns+100))
				if re, err := pats.compile(src); err != nil || re.String() != src {
					t.Errorf("compile(%q) = %v, %v", src, re, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(pats.m); n > maxCachedPatterns {
		t.Fatalf("the cache holds %d patterns, more than %d", n, maxCachedPatterns)
	}
}
