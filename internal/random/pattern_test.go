package random

import (
	"regexp"
	"testing"
	"unicode/utf8"
)

func TestFromPatternMatches(t *testing.T) {
	t.Parallel()
	patterns := []string{
		`[a-z0-9]{15}`,
		`[a-zA-Z0-9]{50}`,
		`abc-[0-9]{3}`,
		`(a|b)[x-z]{2,4}`,
		`^[a-z0-9]+$`,
		`\d{4}-\d{2}-\d{2}`,
		`[^a-z]{5}`,
		`x*y+z?`,
		`(?i)hello[A-F]{2}`,
		`.{3}`,
		`[\p{Greek}]{4}`,
		`(ab){2,}`,
		`(foo|bar|baz)?_\w{1,8}`,
		`[[:alpha:]]{6}`,
		``,
	}
	for _, p := range patterns {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			re := regexp.MustCompile(`^(?:` + p + `)$`)
			for range 1000 {
				got, err := FromPattern(p)
				if err != nil {
					t.Fatalf("FromPattern(%q) error: %v", p, err)
				}
				if !re.MatchString(got) {
					t.Fatalf("FromPattern(%q) = %q, which does not match", p, got)
				}
				if !utf8.ValidString(got) {
					t.Fatalf("FromPattern(%q) = %q, not valid UTF-8", p, got)
				}
			}
		})
	}
}

func TestFromPatternDistribution(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		got, err := FromPattern(`[a-z0-9]{15}`)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 15 {
			t.Fatalf("got %q, want 15 characters", got)
		}
		seen[got] = true
	}
	if len(seen) < 200 {
		t.Fatalf("got %d distinct values out of 200, want all distinct", len(seen))
	}
	// Every character of a small class appears.
	chars := map[rune]bool{}
	for range 200 {
		got, _ := FromPattern(`[abc]`)
		chars[rune(got[0])] = true
	}
	if len(chars) != 3 {
		t.Fatalf("got characters %v, want a, b and c", chars)
	}
}

func TestFromPatternRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"invalid syntax":      `[a-z`,
		"too long":            `[a-z]{1001}`,
		"nested too long":     `([a-z]{100}){11}`,
		"open repeat too big": `(a{100})+`,
		"word boundary":       `\bword\b`,
		"never matches":       `a^b`,
		"empty class":         `[^\x00-\x{10FFFF}]`,
		"bad repeat":          `a{2000}`,
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got, err := FromPattern(p); err == nil {
				t.Fatalf("FromPattern(%q) = %q, want an error", p, got)
			}
		})
	}
}

func TestFromPatternBound(t *testing.T) {
	t.Parallel()
	got, err := FromPattern(`[a-z]{1000}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 {
		t.Fatalf("got %d characters, want 1000", len(got))
	}
	got, err = FromPattern(`a+`)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got); n < 1 || n > 1+openRepeat {
		t.Fatalf("a+ produced %d characters, want 1..%d", n, 1+openRepeat)
	}
}

func TestIntnUniformRange(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 36, 62, 1 << 20} {
		for range 100 {
			if v := intn(n); v < 0 || v >= n {
				t.Fatalf("intn(%d) = %d, out of range", n, v)
			}
		}
	}
}

func FuzzFromPattern(f *testing.F) {
	for _, seed := range []string{
		`[a-z0-9]{15}`, `abc-[0-9]{3}`, `(a|b)[x-z]{2,4}`, `x*`, `(?i)AbC`, `^$`, `.+`,
		`[^a]`, `\pL{3}`, `(a(b(c)*)+)?`, `a{0}`, `(|a)`, `[\x{D7FF}-\x{E000}]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		if len(pattern) > 200 {
			return
		}
		got, err := FromPattern(pattern)
		if err != nil {
			return
		}
		re, cerr := regexp.Compile(`^(?:` + pattern + `)$`)
		if cerr != nil {
			t.Fatalf("FromPattern accepted %q that does not compile: %v", pattern, cerr)
		}
		if !re.MatchString(got) {
			t.Fatalf("FromPattern(%q) = %q, which does not match", pattern, got)
		}
		if utf8.RuneCountInString(got) > MaxPatternLength {
			t.Fatalf("FromPattern(%q) produced %d characters", pattern, utf8.RuneCountInString(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("FromPattern(%q) = %q, not valid UTF-8", pattern, got)
		}
	})
}
