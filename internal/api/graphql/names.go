package graphql

import (
	"strconv"
	"strings"
)

// namer hands out GraphQL names that are valid and unique within one
// namespace (the schema's types, or one type's fields). Basalt names are
// already [A-Za-z_][A-Za-z0-9_]*, but GraphQL reserves a leading "__" and
// generated names (postsList, createPosts, …) may clash with collection or
// field names; a clash gets a numeric suffix, decided by the order names are
// requested, which the builder keeps deterministic.
type namer struct {
	used map[string]bool
}

func newNamer(reserved ...string) *namer {
	n := &namer{used: map[string]bool{}}
	for _, r := range reserved {
		n.used[r] = true
	}
	return n
}

// name returns want made valid and unique.
func (n *namer) name(want string) string {
	base := validName(want)
	name := base
	for i := 2; n.used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	n.used[name] = true
	return name
}

// validName maps s onto the GraphQL name grammar /[_A-Za-z][_0-9A-Za-z]*/
// without the reserved "__" prefix: other characters become "_", a leading
// digit or "__" gets an "x" in front.
func validName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out[0] >= '0' && out[0] <= '9' || strings.HasPrefix(out, "__") {
		out = "x" + out
	}
	return out
}

// typeName returns the GraphQL type name wanted for a collection: its name
// with leading underscores dropped and the first letter upper-cased
// ("posts" → "Posts", "_superusers" → "Superusers").
func typeName(collection string) string {
	s := strings.TrimLeft(collection, "_")
	if s == "" {
		return "X"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lowerFirst returns s with its first letter lower-cased.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
