// Package picker applies PocketBase's "fields" parameter to a JSON response:
// it keeps only the listed keys, at any depth, and can shorten HTML text to
// a plain-text excerpt. The REST and realtime transports share it.
//
// picker imports only leaf packages.
package picker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// maxPickedFields bounds how many entries one "fields" parameter may list.
const maxPickedFields = 500

const msgInvalidFields = "Invalid fields parameter."

// Pick applies PocketBase's "fields" query parameter to a response
// value: it keeps only the listed keys. fields is a comma-separated list of
// dot paths ("id,title,expand.author.name"); "*" keeps every key of its
// level; a path may end with a ":excerpt(maxLength, withEllipsis?)" modifier
// that turns an HTML string into a plain-text excerpt. On a list result
// ({"items":[…],"page",…}) the fields apply to each item; on any other list
// to each object in it.
//
// v is first converted to plain JSON values (so structs and json.Marshalers
// work) and is not modified. An empty fields returns v unchanged. Invalid
// syntax is an apperr Invalid error.
func Pick(v any, fields string) (any, error) {
	if strings.TrimSpace(fields) == "" {
		return v, nil
	}
	parsed, err := parseFields(fields)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, msgInvalidFields, err)
	}
	data, err := plainJSON(v)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, "", fmt.Errorf("preparing the response for the fields picker: %w", err))
	}
	if m, ok := data.(map[string]any); ok && isListResult(m) {
		pick(m["items"], parsed)
	} else {
		pick(data, parsed)
	}
	return data, nil
}

// modifier transforms a picked value.
type modifier interface {
	modify(v any) any
}

// plainJSON round-trips v through JSON, keeping numbers exact.
func plainJSON(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// isListResult reports whether m has exactly the keys of a list response.
func isListResult(m map[string]any) bool {
	if len(m) != 5 {
		return false
	}
	for _, k := range []string{"page", "perPage", "totalItems", "totalPages"} {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	_, ok := m["items"].([]any)
	return ok
}

// parseFields splits the parameter into paths and their modifiers (nil
// when none).
func parseFields(raw string) (map[string]modifier, error) {
	tokens, err := splitFields(raw)
	if err != nil {
		return nil, err
	}
	if len(tokens) > maxPickedFields {
		return nil, fmt.Errorf("more than %d fields", maxPickedFields)
	}
	out := make(map[string]modifier, len(tokens))
	for _, tok := range tokens {
		path, mod, hasMod := strings.Cut(tok, ":")
		if !hasMod {
			out[path] = nil
			continue
		}
		m, err := parseModifier(mod)
		if err != nil {
			return nil, err
		}
		out[path] = m
	}
	return out, nil
}

// splitFields splits on commas and whitespace outside parentheses and
// quotes; unbalanced parentheses or quotes are an error.
func splitFields(raw string) ([]string, error) {
	var tokens []string
	var cur strings.Builder
	depth := 0
	var quote rune
	escaped := false
	flush := func() {
		if cur.Len() > 0 {
			tokens = append(tokens, cur.String())
			cur.Reset()
		}
	}
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced parenthesis in %q", raw)
			}
			depth--
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			flush()
			continue
		}
		cur.WriteRune(c)
	}
	if depth != 0 || quote != 0 {
		return nil, fmt.Errorf("unbalanced parenthesis or quote in %q", raw)
	}
	flush()
	return tokens, nil
}

// parseModifier parses "name(arg, …)".
func parseModifier(raw string) (modifier, error) {
	name, rest, hasArgs := strings.Cut(strings.TrimSpace(raw), "(")
	name = strings.TrimSpace(name)
	var args []string
	if hasArgs {
		inner, ok := strings.CutSuffix(strings.TrimSpace(rest), ")")
		if !ok {
			return nil, fmt.Errorf("invalid modifier %q", raw)
		}
		for a := range strings.SplitSeq(inner, ",") {
			if a = strings.TrimSpace(a); a != "" {
				args = append(args, a)
			}
		}
	}
	switch name {
	case "excerpt":
		return newExcerpt(args)
	case "":
		return nil, fmt.Errorf("empty modifier %q", raw)
	default:
		return nil, fmt.Errorf("unknown modifier %q", name)
	}
}

// pick keeps only the listed fields of data (a map, or a list of maps), in place.
func pick(data any, fields map[string]modifier) {
	switch v := data.(type) {
	case map[string]any:
		pickMap(v, fields)
	case []any:
		for _, item := range v {
			if m, ok := item.(map[string]any); ok {
				pickMap(m, fields)
			}
		}
	}
}

func pickMap(data map[string]any, fields map[string]modifier) {
	if len(fields) == 0 {
		return
	}
	if star, ok := fields["*"]; ok {
		// "*" keeps every key that no other path names.
		all := make(map[string]modifier, len(fields)+len(data))
		for f, m := range fields {
			all[f] = m
		}
		for k := range data {
			if !namesKey(fields, k) {
				all[k] = star
			}
		}
		fields = all
	}
	for k, v := range data {
		var nested map[string]modifier
		whole, keep := false, false
		var mod modifier
		for f, m := range fields {
			switch {
			case f == k:
				whole, keep, mod = true, true, m
			case strings.HasPrefix(f, k+"."):
				keep = true
				if nested == nil {
					nested = map[string]modifier{}
				}
				nested[f[len(k)+1:]] = m
			}
		}
		switch {
		case !keep:
			delete(data, k)
		case whole:
			if mod != nil {
				data[k] = mod.modify(v)
			}
		default:
			pick(v, nested)
		}
	}
}

// namesKey reports whether a path in fields starts at key k.
func namesKey(fields map[string]modifier, k string) bool {
	for f := range fields {
		if f == k || strings.HasPrefix(f, k+".") {
			return true
		}
	}
	return false
}

// excerpt turns an HTML string into a plain-text excerpt of at most max
// characters; other values are left as they are.
type excerpt struct {
	max      int
	ellipsis bool
}

func newExcerpt(args []string) (modifier, error) {
	if len(args) == 0 || len(args) > 2 {
		return nil, fmt.Errorf("excerpt expects (maxLength, withEllipsis?), got %d arguments", len(args))
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("excerpt maxLength must be a positive integer, got %q", args[0])
	}
	e := excerpt{max: n}
	if len(args) == 2 {
		e.ellipsis, _ = strconv.ParseBool(args[1]) // like PocketBase, anything else means false
	}
	return e, nil
}

func (e excerpt) modify(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	text := plainText(s, e.max+2)
	if utf8.RuneCountInString(text) > e.max {
		text = strings.TrimSpace(string([]rune(text)[:e.max]))
		if e.ellipsis {
			text += "..."
		}
	}
	return text
}

// Elements whose content is dropped from excerpts, elements that are
// inline (no separating space), elements without content, and elements
// whose content is raw text (where "<" starts no tag).
var (
	excerptSkipped = setOf("head", "style", "script", "iframe", "embed", "applet", "object",
		"svg", "img", "picture", "dialog", "template", "button", "form", "textarea", "input", "select", "option")
	excerptInline = setOf("a", "abbr", "acronym", "b", "bdo", "big", "br", "button", "cite", "code",
		"em", "i", "label", "q", "small", "span", "strong", "strike", "sub", "sup", "time")
	voidElements = setOf("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
		"source", "track", "wbr")
	rawTextElements = setOf("script", "style", "textarea", "iframe", "noembed", "noframes", "xmp", "title")
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// plainText strips tags and comments from an HTML fragment, decodes
// entities and collapses whitespace. It stops once it has more than limit
// characters, since only an excerpt is needed.
func plainText(s string, limit int) string {
	var b strings.Builder
	count := 0
	prevSpace := true // also drops leading whitespace
	space := func() {
		if !prevSpace {
			b.WriteByte(' ')
			count++
			prevSpace = true
		}
	}
	text := func(t string) {
		t = html.UnescapeString(t)
		for _, c := range t {
			if count > limit {
				return
			}
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
				space()
				continue
			}
			b.WriteRune(c)
			count++
			prevSpace = false
		}
	}
	for i := 0; i < len(s) && count <= limit; {
		if s[i] != '<' {
			end := strings.IndexByte(s[i:], '<')
			if end < 0 {
				end = len(s) - i
			}
			text(s[i : i+end])
			i += end
			continue
		}
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return strings.TrimSpace(b.String())
			}
			i += 4 + end + 3
			continue
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?' || rest[1] == '/' && (len(rest) == 2 || !isLetter(rest[2]))):
			// A doctype, processing instruction or bogus comment.
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return strings.TrimSpace(b.String())
			}
			i += end + 1
			continue
		}
		name, closing, end := scanTag(rest)
		if name == "" {
			text("<") // not a tag: a literal "<"
			i++
			continue
		}
		if end < 0 {
			break // an unterminated tag ends the document
		}
		i += end
		switch {
		case excerptSkipped[name]:
			// Skipped elements leave no trace, not even a separating space.
			if !closing && !voidElements[name] && rest[end-2] != '/' {
				i += skipElement(s[i:], name)
			}
		case !excerptInline[name]:
			space()
		}
	}
	return strings.TrimSpace(b.String())
}

// scanTag reads the tag at the start of s ("<name …>" or "</name …>"). It
// returns the lower-cased name ("" when s does not start a tag), whether it
// is a closing tag and the length of the tag (-1 when it never ends).
func scanTag(s string) (name string, closing bool, end int) {
	i := 1
	if i < len(s) && s[i] == '/' {
		closing = true
		i++
	}
	start := i
	if i >= len(s) || !isLetter(s[i]) {
		return "", false, 0
	}
	for i < len(s) && (isLetter(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == '-' || s[i] == ':') {
		i++
	}
	name = strings.ToLower(s[start:i])
	var quote byte
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return name, closing, i + 1
		}
	}
	return name, closing, -1
}

// skipElement returns how many bytes of s (which follows the start tag of
// name) belong to the element's content and end tag.
func skipElement(s, name string) int {
	if rawTextElements[name] {
		end := strings.Index(strings.ToLower(s), "</"+name)
		if end < 0 {
			return len(s)
		}
		if gt := strings.IndexByte(s[end:], '>'); gt >= 0 {
			return end + gt + 1
		}
		return len(s)
	}
	depth := 1
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			return len(s)
		}
		i += lt
		tag, closing, end := scanTag(s[i:])
		if tag == "" {
			i++
			continue
		}
		if end < 0 {
			return len(s)
		}
		if tag == name {
			if closing {
				depth--
			} else if s[i+end-2] != '/' {
				depth++
			}
		}
		i += end
		if depth == 0 {
			return i
		}
	}
	return len(s)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
