package filter

import "unicode/utf8"

// LikePattern turns the text of a constant ~ operand into a LIKE pattern
// (escape character \) the way a PocketBase-compatible server does: unless the
// text contains an unescaped %, its unescaped \, % and _ are escaped and the
// result is wrapped in %...%, so 'a_b' matches the substring "a_b" literally.
// Text with an unescaped % is used as the pattern unchanged, so the user
// controls the wildcards: 'pb_%' is a prefix match in which _ matches any one
// character.
func LikePattern(text string) string {
	if containsUnescaped(text, '%') {
		return text
	}
	return "%" + escapeUnescaped(text) + "%"
}

func containsUnescaped(s string, ch byte) bool {
	var prev byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ch && prev != '\\' {
			return true
		}
		if c == '\\' && prev == '\\' {
			prev = 0 // an escaped backslash escapes nothing
		} else {
			prev = c
		}
	}
	return false
}

// escapeUnescaped puts a backslash before every \, % and _ that does not
// already follow one. Scanning from the end, the character before an escaped
// one is taken as its escape and not examined itself, which is what the
// compatible server does (so "__" becomes "_\_").
func escapeUnescaped(s string) string {
	special := func(c byte) bool { return c == '\\' || c == '%' || c == '_' }
	out := make([]byte, 0, len(s)+4)
	pending := false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if pending {
			if c != '\\' {
				out = append(out, '\\')
			}
			pending = false
		} else if special(c) {
			pending = true
		}
		out = append(out, c)
	}
	if pending {
		out = append(out, '\\')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

type likeElem struct {
	kind byte // 'c' literal, '_' any one, '%' any run
	r    rune
}

func foldASCII(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + ('a' - 'A')
	}
	return r
}

// likeMatch is SQLite's `text LIKE pattern ESCAPE '\'`: % matches any run of
// characters, _ any one character, \ makes the next character literal, and
// letters compare case-insensitively for ASCII only. A pattern ending in a
// lone \ matches nothing.
func likeMatch(pattern, text string) bool {
	elems := make([]likeElem, 0, len(pattern))
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch r {
		case '%':
			if len(elems) == 0 || elems[len(elems)-1].kind != '%' {
				elems = append(elems, likeElem{kind: '%'})
			}
		case '_':
			elems = append(elems, likeElem{kind: '_'})
		case '\\':
			if i >= len(pattern) {
				return false
			}
			r, n = utf8.DecodeRuneInString(pattern[i:])
			i += n
			elems = append(elems, likeElem{kind: 'c', r: foldASCII(r)})
		default:
			elems = append(elems, likeElem{kind: 'c', r: foldASCII(r)})
		}
	}
	runes := make([]rune, 0, len(text))
	for _, r := range text {
		runes = append(runes, foldASCII(r))
	}
	// Wildcard matching with backtracking to the last %: O(len(text) *
	// len(pattern)) in the worst case.
	p, t := 0, 0
	starP, starT := -1, 0
	for t < len(runes) {
		if p < len(elems) && (elems[p].kind == '_' || elems[p].kind == 'c' && elems[p].r == runes[t]) {
			p++
			t++
			continue
		}
		if p < len(elems) && elems[p].kind == '%' {
			starP, starT = p, t
			p++
			continue
		}
		if starP >= 0 {
			starT++
			p, t = starP+1, starT
			continue
		}
		return false
	}
	for p < len(elems) && elems[p].kind == '%' {
		p++
	}
	return p == len(elems)
}
