// Package jsonenc encodes the values API responses and stored records are
// made of (maps, slices, strings, numbers, bools) as JSON without
// reflection, byte for byte as encoding/json does.
package jsonenc

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxFastDepth is how deep Append encodes by itself; deeper values go
// to encoding/json, which also reports cycles.
const maxFastDepth = 64

// Append appends the JSON encoding of v to dst, byte for byte what
// json.Marshal(v) returns, and fails where json.Marshal fails. The shapes
// API responses and records are made of (map[string]any, []any, []string,
// strings, float64, ints, bools and nil) are encoded here without
// reflection; any other value is handed to json.Marshal.
func Append(dst []byte, v any) ([]byte, error) { return appendValue(dst, v, 0) }

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxFastDepth {
		return appendMarshal(dst, v)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case float64:
		return appendFloat(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return appendObject(dst, x, depth)
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, item := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, item, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, item := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, item)
		}
		return append(dst, ']'), nil
	}
	return appendMarshal(dst, v)
}

// appendObject encodes m with its keys in sorted order, as
// encoding/json does.
func appendObject(dst []byte, m map[string]any, depth int) ([]byte, error) {
	// Entries are collected once (no second lookup per key) into a stack
	// array that fits a record's fields.
	var small [24]entry
	entries := small[:0]
	for k, v := range m {
		entries = append(entries, entry{k, v})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, e.key)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, e.value, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

type entry struct {
	key   string
	value any
}

func appendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendFloat encodes f as encoding/json does (AppendFloat). NaN and
// infinities have no JSON form.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return appendMarshal(dst, f) // json.Marshal's UnsupportedValueError
	}
	return AppendFloat(dst, f), nil
}

// AppendFloat appends finite f as encoding/json encodes it: like
// JavaScript, plain decimal notation unless the magnitude is below 1e-6 or
// at least 1e21, with a two-digit exponent trimmed (1e-07 becomes 1e-7).
// The caller handles NaN and infinities, which JSON cannot hold.
func AppendFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// safe marks the ASCII bytes a JSON string holds as they are: printable
// characters except '"', '\\' and the HTML-sensitive '<', '>' and '&'.
var safe = func() (safe [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		safe[b] = !strings.ContainsRune(`"\<>&`, rune(b))
	}
	return safe
}()

// AppendString encodes s as encoding/json does with its default HTML
// escaping: '"', '\\' and control characters escaped, '<', '>' and '&' as
// \u003c, \u003e and \u0026, invalid UTF-8 bytes as \ufffd, and U+2028 and
// U+2029 as \u2028 and \u2029.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
