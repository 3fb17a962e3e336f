package file

import (
	"strings"

	"github.com/basalt-dev/basalt/internal/random"
)

// Stored name limits, as in PocketBase: the base keeps at most 100 bytes, the
// extension at most 20 (plus its dot), and a base shorter than 3 bytes gets
// extra random characters.
const (
	maxBaseLen   = 100
	minBaseLen   = 3
	maxExtLen    = 20
	randomSuffix = 10
)

// Name returns the stored name for a client file name, in PocketBase's form
// <snake_case_base>_<10 random chars><.ext>, e.g. "My Photo.JPG" becomes
// "my_photo_k3j4h5g6f7.jpg". Directories in original are dropped, the base is
// snake-cased ASCII, the extension (up to two parts, as in ".tar.gz") is
// lower-cased ASCII letters and digits. The result is never empty, never
// starts with '.', holds only [a-z0-9._] and is a valid blob key segment
// (at most 133 bytes).
func (s *Service) Name(original string) string {
	if i := strings.LastIndexAny(original, `/\`); i >= 0 {
		original = original[i+1:]
	}
	rawExt := extension(original)
	ext := cleanExtension(rawExt)
	base := snakeCase(strings.TrimSuffix(original, rawExt))
	switch {
	case len(base) < minBaseLen:
		base += s.random(randomSuffix)
	case len(base) > maxBaseLen:
		base = base[:maxBaseLen]
	}
	return base + "_" + s.random(randomSuffix) + ext
}

// random returns n characters of s.rand, dropping anything outside [a-z0-9]
// so that a faulty generator cannot put a separator into a name.
func (s *Service) random(n int) string {
	r := s.rand(n)
	return strings.Map(func(c rune) rune {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			return c
		}
		return -1
	}, r)
}

// extension returns the extension of name with its leading dot, keeping a
// double extension: "a.tar.gz" gives ".tar.gz", "a.png" gives ".png", "a"
// gives "".
func extension(name string) string {
	last := strings.LastIndexByte(name, '.')
	if last < 0 {
		return ""
	}
	if prev := strings.LastIndexByte(name[:last], '.'); prev >= 0 {
		return name[prev:]
	}
	return name[last:]
}

// cleanExtension lower-cases ext, keeps ASCII letters and digits in each
// dot-separated part, drops empty parts and keeps the last maxExtLen bytes.
func cleanExtension(ext string) string {
	var parts []string
	for p := range strings.SplitSeq(strings.ToLower(ext), ".") {
		p = strings.Map(func(c rune) rune {
			if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
				return c
			}
			return -1
		}, p)
		if p != "" {
			parts = append(parts, p)
		}
	}
	clean := strings.Join(parts, ".")
	if len(clean) > maxExtLen {
		clean = strings.TrimLeft(clean[len(clean)-maxExtLen:], ".")
	}
	if clean == "" {
		return ""
	}
	return "." + clean
}

// snakeCase splits s at every run of characters other than ASCII letters and
// digits, splits camelCase words ("myTestDB" gives "my_test_db"), joins the
// words with '_' and lower-cases them. Non-ASCII letters are dropped.
func snakeCase(s string) string {
	var b strings.Builder
	word := false // inside a word
	var prev byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		isUpper := 'A' <= c && c <= 'Z'
		if !(isUpper || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			word = false
			continue
		}
		switch {
		case !word:
			if b.Len() > 0 {
				b.WriteByte('_')
			}
		case isUpper && !('A' <= prev && prev <= 'Z'):
			b.WriteByte('_')
		}
		if isUpper {
			c += 'a' - 'A'
			prev = 'A'
		} else {
			prev = c
		}
		b.WriteByte(c)
		word = true
	}
	return b.String()
}

// Random returns n random characters from [a-z0-9] (crypto/rand); it is
// the generator to pass to New outside tests.
func Random(n int) string { return random.String(random.LowerAlnum, n) }
