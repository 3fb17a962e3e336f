package filter

import (
	"slices"
	"strings"
)

// Modifier is the optional `:name` suffix of an identifier's last segment.
type Modifier string

// Supported modifiers.
const (
	ModNone    Modifier = ""
	ModIsset   Modifier = "isset"   // @request.*: the value was submitted
	ModChanged Modifier = "changed" // @request.body.*: submitted and different from the stored value
	ModLength  Modifier = "length"  // number of items of a multi-valued field
	ModEach    Modifier = "each"    // every item of a multi-valued field
	ModLower   Modifier = "lower"   // lower-cased value
)

func parseModifier(s string) (Modifier, bool) {
	switch m := Modifier(s); m {
	case ModIsset, ModChanged, ModLength, ModEach, ModLower:
		return m, true
	}
	return "", false
}

// Identifier is a field path such as `title`, `author.name`, `tags:length`,
// `@request.auth.id` or `@collection.users:u.email`.
//
// The source text is split into dot-separated path segments. The modifier of
// the last segment and the collection alias of an @collection path are taken
// off the segments and exposed separately: `@collection.users:u.email:lower`
// has the path [@collection users email], alias "u" and modifier "lower".
type Identifier struct {
	name  string
	path  []string
	mod   Modifier
	alias string
	pos   int
}

// Name returns the identifier as written.
func (id *Identifier) Name() string { return id.name }

// Path returns a copy of the path segments without modifier and alias.
func (id *Identifier) Path() []string { return slices.Clone(id.path) }

// Len returns the number of path segments.
func (id *Identifier) Len() int { return len(id.path) }

// Segment returns the i-th path segment.
func (id *Identifier) Segment(i int) string { return id.path[i] }

// Modifier returns the modifier of the last segment, or ModNone.
func (id *Identifier) Modifier() Modifier { return id.mod }

// Alias returns the alias of an `@collection.name:alias.field` path.
func (id *Identifier) Alias() string { return id.alias }

// HasPrefix reports whether the path starts with the given segments.
func (id *Identifier) HasPrefix(segs ...string) bool {
	if len(segs) > len(id.path) {
		return false
	}
	for i, s := range segs {
		if id.path[i] != s {
			return false
		}
	}
	return true
}

// Pos returns the position of the identifier.
func (id *Identifier) Pos() int { return id.pos }

// String returns the identifier as written.
func (id *Identifier) String() string { return id.name }

func (id *Identifier) isOperand() {}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isWord(c byte) bool   { return isLetter(c) || isDigit(c) || c == '_' }

func isWordString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWord(s[i]) {
			return false
		}
	}
	return true
}

// newIdentifier validates the structure of an identifier. offset positions
// returned in errors are relative to the start of name.
func newIdentifier(name string, pos int) (*Identifier, *Error) {
	fail := func(off int, msg string) (*Identifier, *Error) {
		return nil, &Error{Pos: pos + off, Msg: msg}
	}
	// The grammar: an optional @, # or _ first, then word characters, dots
	// and colons, ending with a word character.
	if name == "" {
		return fail(0, "empty identifier")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isWord(c) || c == '.' || c == ':' || (i == 0 && (c == '@' || c == '#')) {
			continue
		}
		return fail(i, "invalid character "+quoteRune(c)+" in identifier "+strconvQuote(name))
	}
	if !isWord(name[len(name)-1]) {
		return fail(len(name)-1, "identifier "+strconvQuote(name)+" must end with a letter, digit or _")
	}
	id := &Identifier{name: name, pos: pos}
	off := 0
	segs := strings.Split(name, ".")
	for i, seg := range segs {
		segOff := off
		off += len(seg) + 1
		last := i == len(segs)-1
		body := seg
		if i == 0 && (strings.HasPrefix(seg, "@") || strings.HasPrefix(seg, "#")) {
			body = seg[1:]
		}
		parts := strings.Split(body, ":")
		if parts[0] == "" {
			return fail(segOff, "empty path segment in identifier "+strconvQuote(name))
		}
		switch {
		case len(parts) == 1:
		case len(parts) > 2:
			return fail(segOff, "too many ':' in identifier "+strconvQuote(name))
		case i == 1 && segs[0] == "@collection" && !last:
			if !isWordString(parts[1]) {
				return fail(segOff, "invalid collection alias in "+strconvQuote(name))
			}
			id.alias = parts[1]
			seg = strings.TrimSuffix(seg, ":"+parts[1])
		case last:
			m, ok := parseModifier(parts[1])
			if !ok {
				return fail(segOff+len(seg)-len(parts[1])-1, "unknown modifier "+strconvQuote(":"+parts[1])+" in "+strconvQuote(name))
			}
			id.mod = m
			seg = strings.TrimSuffix(seg, ":"+parts[1])
		default:
			return fail(segOff, "a modifier is allowed only on the last segment of "+strconvQuote(name))
		}
		id.path = append(id.path, seg)
	}
	if head := id.path[0]; strings.HasPrefix(head, "@") {
		switch {
		case head == "@collection" && len(id.path) < 3:
			return fail(0, "expected @collection.<name>[:alias].<field> in "+strconvQuote(name))
		case head == "@request" && len(id.path) < 2:
			return fail(0, "expected @request.<field> in "+strconvQuote(name))
		case head != "@collection" && head != "@request":
			return fail(0, "unknown identifier "+strconvQuote(name))
		}
	}
	return id, nil
}
