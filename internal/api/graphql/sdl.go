package graphql

import (
	"sort"
	"strings"

	gql "github.com/graphql-go/graphql"
)

// printSDL renders the types of s (built-in scalars and introspection types
// left out) in the schema definition language, sorted by name, for golden
// tests and documentation.
func printSDL(s *gql.Schema) string {
	var names []string
	for name := range s.TypeMap() {
		if strings.HasPrefix(name, "__") {
			continue
		}
		switch name {
		case "String", "Int", "Float", "Boolean", "ID":
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		switch t := s.TypeMap()[name].(type) {
		case *gql.Scalar:
			b.WriteString("scalar " + name + "\n\n")
		case *gql.Object:
			b.WriteString("type " + name + " {\n")
			fields := t.Fields()
			for _, fn := range sortedKeys(fields) {
				f := fields[fn]
				b.WriteString("  " + fn)
				if len(f.Args) > 0 {
					args := make([]string, len(f.Args))
					for i, a := range f.Args {
						args[i] = a.Name() + ": " + a.Type.String()
					}
					sort.Strings(args)
					b.WriteString("(" + strings.Join(args, ", ") + ")")
				}
				b.WriteString(": " + f.Type.String() + "\n")
			}
			b.WriteString("}\n\n")
		case *gql.InputObject:
			b.WriteString("input " + name + " {\n")
			fields := t.Fields()
			for _, fn := range sortedKeys(fields) {
				b.WriteString("  " + fn + ": " + fields[fn].Type.String() + "\n")
			}
			b.WriteString("}\n\n")
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
