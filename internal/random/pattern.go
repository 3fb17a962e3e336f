package random

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Bounds for FromPattern.
const (
	// MaxPatternLength is the longest string FromPattern may produce, in
	// characters; patterns that could produce more are refused.
	MaxPatternLength = 1000
	// openRepeat is how many extra repetitions `*`, `+` and `{n,}` may add.
	openRepeat = 10
	// patternAttempts bounds retries for patterns whose anchors make some
	// generated strings fail to match (e.g. `a^b` can never match).
	patternAttempts = 8
)

// printable is the preferred pool for `.` and for classes that include
// printable ASCII (such as negated classes): generated values stay readable.
const printableLo, printableHi = 0x20, 0x7e

// FromPattern returns a random string matching pattern, a regular expression
// such as a text field's autogeneratePattern (`[a-z0-9]{15}`,
// `abc-[0-9]{3}`, `(a|b)[x-z]{2,4}`). The whole result matches the pattern.
//
// Unbounded repeats (`*`, `+`, `{n,}`) add at most a few repetitions, and a
// pattern that could produce more than MaxPatternLength characters is
// refused, as are patterns that cannot be generated (word boundaries,
// contradictory anchors, empty classes).
func FromPattern(pattern string) (string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", fmt.Errorf("parsing pattern: %w", err)
	}
	if n := maxLen(re); n > MaxPatternLength {
		return "", fmt.Errorf("pattern may produce more than %d characters", MaxPatternLength)
	}
	if err := checkGeneratable(re); err != nil {
		return "", err
	}
	full, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return "", fmt.Errorf("compiling pattern: %w", err)
	}
	var b strings.Builder
	for range patternAttempts {
		b.Reset()
		generate(&b, re)
		if s := b.String(); full.MatchString(s) {
			return s, nil
		}
	}
	return "", errors.New("pattern cannot be satisfied")
}

// maxLen returns an upper bound of the characters re can generate,
// saturating at MaxPatternLength+1 so nested repeats cannot overflow.
func maxLen(re *syntax.Regexp) int {
	const limit = MaxPatternLength + 1
	sat := func(n int) int { return min(n, limit) }
	switch re.Op {
	case syntax.OpLiteral:
		return sat(len(re.Rune))
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return sat(maxLen(re.Sub[0]) * (openRepeat + 1))
	case syntax.OpRepeat:
		hi := re.Max
		if hi < 0 {
			hi = re.Min + openRepeat
		}
		return sat(maxLen(re.Sub[0]) * hi)
	case syntax.OpConcat:
		total := 0
		for _, sub := range re.Sub {
			total = sat(total + maxLen(sub))
		}
		return total
	case syntax.OpAlternate:
		longest := 0
		for _, sub := range re.Sub {
			longest = max(longest, maxLen(sub))
		}
		return longest
	default: // anchors and empty matches produce nothing
		return 0
	}
}

// checkGeneratable refuses constructs generate cannot honour.
func checkGeneratable(re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpNoMatch:
		return errors.New("pattern matches nothing")
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return errors.New("word boundaries are not supported in patterns")
	case syntax.OpCharClass:
		if classSize(re.Rune, 0, utf8.MaxRune) == 0 {
			return errors.New("pattern has an empty character class")
		}
	}
	for _, sub := range re.Sub {
		if err := checkGeneratable(sub); err != nil {
			return err
		}
	}
	return nil
}

func generate(b *strings.Builder, re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		b.WriteRune(pickRune(re.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteRune(rune(printableLo + intn(printableHi-printableLo+1)))
	case syntax.OpCapture:
		generate(b, re.Sub[0])
	case syntax.OpQuest:
		repeat(b, re.Sub[0], 0, 1)
	case syntax.OpStar:
		repeat(b, re.Sub[0], 0, openRepeat)
	case syntax.OpPlus:
		repeat(b, re.Sub[0], 1, 1+openRepeat)
	case syntax.OpRepeat:
		hi := re.Max
		if hi < 0 {
			hi = re.Min + openRepeat
		}
		repeat(b, re.Sub[0], re.Min, hi)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			generate(b, sub)
		}
	case syntax.OpAlternate:
		generate(b, re.Sub[intn(len(re.Sub))])
	}
}

func repeat(b *strings.Builder, re *syntax.Regexp, lo, hi int) {
	n := lo + intn(hi-lo+1)
	for range n {
		generate(b, re)
	}
}

// pickRune draws a rune uniformly from the class given as [lo, hi] pairs,
// preferring its printable ASCII part and never choosing a surrogate.
func pickRune(ranges []rune) rune {
	if n := classSize(ranges, printableLo, printableHi); n > 0 {
		return nthRune(ranges, printableLo, printableHi, intn(n))
	}
	low, high := classSize(ranges, 0, 0xd7ff), classSize(ranges, 0xe000, utf8.MaxRune)
	i := intn(low + high)
	if i < low {
		return nthRune(ranges, 0, 0xd7ff, i)
	}
	return nthRune(ranges, 0xe000, utf8.MaxRune, i-low)
}

// classSize counts the runes of the class that fall within [lo, hi].
func classSize(ranges []rune, lo, hi rune) int {
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		a, z := max(ranges[i], lo), min(ranges[i+1], hi)
		if a <= z {
			n += int(z-a) + 1
		}
	}
	return n
}

// nthRune returns the k-th rune (0-based) of the class within [lo, hi].
func nthRune(ranges []rune, lo, hi rune, k int) rune {
	for i := 0; i+1 < len(ranges); i += 2 {
		a, z := max(ranges[i], lo), min(ranges[i+1], hi)
		if a > z {
			continue
		}
		if size := int(z-a) + 1; k >= size {
			k -= size
			continue
		}
		return a + rune(k)
	}
	return lo // unreachable when k < classSize
}

// intn returns a uniform crypto-random int in [0, n); n must be > 0.
func intn(n int) int {
	if n <= 1 {
		return 0
	}
	bound := uint64(n)
	// Rejection sampling: drop the top partial range so every value is equally likely.
	limit := ^uint64(0) - (^uint64(0)%bound+1)%bound
	var buf [8]byte
	for {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails (it crashes the program instead)
		v := binary.LittleEndian.Uint64(buf[:])
		if v <= limit {
			return int(v % bound)
		}
	}
}
