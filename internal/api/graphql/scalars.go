package graphql

import (
	"encoding/json"
	"strconv"

	gql "github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// The custom scalars. They are values, not state: every built schema gets
// its own, since graphql-go keeps types by pointer in each schema's map.
func newJSONScalar() *gql.Scalar {
	return gql.NewScalar(gql.ScalarConfig{
		Name:        "JSON",
		Description: "Any JSON value: the content of a json field.",
		Serialize: func(v any) any {
			if raw, ok := v.(json.RawMessage); ok {
				if raw == nil {
					return nil
				}
				var out any
				if json.Unmarshal(raw, &out) != nil {
					return nil
				}
				return out
			}
			return v
		},
		ParseValue:   func(v any) any { return v },
		ParseLiteral: func(v ast.Value) any { return literalValue(v, 0) },
	})
}

// maxLiteralDepth bounds the nesting of a JSON literal written in a query.
const maxLiteralDepth = 32

// literalValue converts a literal of a query into the Go value JSON would
// decode to (numbers as float64).
func literalValue(v ast.Value, depth int) any {
	if depth > maxLiteralDepth {
		return nil
	}
	switch x := v.(type) {
	case *ast.StringValue:
		return x.Value
	case *ast.BooleanValue:
		return x.Value
	case *ast.IntValue:
		f, _ := strconv.ParseFloat(x.Value, 64)
		return f
	case *ast.FloatValue:
		f, _ := strconv.ParseFloat(x.Value, 64)
		return f
	case *ast.EnumValue:
		return x.Value
	case *ast.ListValue:
		out := make([]any, 0, len(x.Values))
		for _, e := range x.Values {
			out = append(out, literalValue(e, depth+1))
		}
		return out
	case *ast.ObjectValue:
		out := make(map[string]any, len(x.Fields))
		for _, f := range x.Fields {
			if f.Name != nil {
				out[f.Name.Value] = literalValue(f.Value, depth+1)
			}
		}
		return out
	}
	return nil
}

func newDateTimeScalar() *gql.Scalar {
	str := func(v any) any {
		s, ok := v.(string)
		if !ok || s == "" {
			return nil
		}
		return s
	}
	return gql.NewScalar(gql.ScalarConfig{
		Name:        "DateTime",
		Description: `A date and time in UTC, formatted "2006-01-02 15:04:05.000Z" as over REST.`,
		Serialize:   str,
		ParseValue:  str,
		ParseLiteral: func(v ast.Value) any {
			if s, ok := v.(*ast.StringValue); ok {
				return s.Value
			}
			return nil
		},
	})
}
