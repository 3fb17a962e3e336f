package graphql

import (
	"encoding/json"
	"strconv"

	"github.com/graphql-go/graphql/language/ast"
)

// graphql-go returns objects as maps, which encoding/json writes in key
// order. The spec asks for the order of the query: ordered encodes a
// result following the selections that produced it.

// maxOrderDepth bounds the walk; the limits keep real queries far below.
const maxOrderDepth = 128

// ordered is a result value to encode in the order of its selections.
type ordered struct {
	v     any
	sets  []*ast.SelectionSet
	frags map[string]*ast.FragmentDefinition
	depth int
	// seen remembers the fields of selection sets already walked: the
	// records of a list share theirs.
	seen map[*ast.SelectionSet]orderedFields
}

type orderedFields struct {
	keys []string
	subs map[string][]*ast.SelectionSet
}

// orderedData wraps the data of an execution of op.
func orderedData(data any, doc *ast.Document, op *ast.OperationDefinition) any {
	if data == nil || op == nil {
		return data
	}
	frags := map[string]*ast.FragmentDefinition{}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil {
			frags[f.Name.Value] = f
		}
	}
	return ordered{v: data, sets: []*ast.SelectionSet{op.SelectionSet}, frags: frags, seen: map[*ast.SelectionSet]orderedFields{}}
}

// MarshalJSON writes objects with their keys in selection order, in one
// buffer (a MarshalJSON per level would have encoding/json check and copy
// every nested object again).
func (o ordered) MarshalJSON() ([]byte, error) {
	return o.append(nil)
}

func (o ordered) append(buf []byte) ([]byte, error) {
	switch x := o.v.(type) {
	case map[string]any:
		if o.depth > maxOrderDepth {
			return appendValue(buf, x)
		}
		keys, subs := o.fields()
		buf = append(buf, '{')
		n := 0
		for _, k := range keys {
			v, ok := x[k]
			if !ok {
				continue // skipped by a directive, or not resolved
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf, _ = appendValue(buf, k)
			buf = append(buf, ':')
			var err error
			if buf, err = (ordered{v: v, sets: subs[k], frags: o.frags, depth: o.depth + 1, seen: o.seen}).append(buf); err != nil {
				return nil, err
			}
		}
		// Keys the walk did not predict (none expected) still appear.
		for k, v := range x {
			if _, seen := subs[k]; seen {
				continue
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf, _ = appendValue(buf, k)
			buf = append(buf, ':')
			var err error
			if buf, err = appendValue(buf, v); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case []any:
		buf = append(buf, '[')
		for i, v := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = (ordered{v: v, sets: o.sets, frags: o.frags, depth: o.depth + 1, seen: o.seen}).append(buf); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	return appendValue(buf, o.v)
}

// appendValue appends the JSON of a leaf value.
func appendValue(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// fields returns the response keys of o's selections in order, and for
// each the selection sets below it (a key selected twice merges them).
func (o ordered) fields() ([]string, map[string][]*ast.SelectionSet) {
	if len(o.sets) == 1 && o.seen != nil {
		if f, ok := o.seen[o.sets[0]]; ok {
			return f.keys, f.subs
		}
	}
	keys, subs := o.walkFields()
	if len(o.sets) == 1 && o.seen != nil {
		o.seen[o.sets[0]] = orderedFields{keys, subs}
	}
	return keys, subs
}

func (o ordered) walkFields() ([]string, map[string][]*ast.SelectionSet) {
	var keys []string
	subs := map[string][]*ast.SelectionSet{}
	var walk func(set *ast.SelectionSet, depth int)
	walk = func(set *ast.SelectionSet, depth int) {
		if set == nil || depth > maxOrderDepth {
			return
		}
		for _, sel := range set.Selections {
			switch x := sel.(type) {
			case *ast.Field:
				if x.Name == nil {
					continue
				}
				k := x.Name.Value
				if x.Alias != nil {
					k = x.Alias.Value
				}
				if _, seen := subs[k]; !seen {
					keys = append(keys, k)
					subs[k] = nil
				}
				if x.SelectionSet != nil {
					subs[k] = append(subs[k], x.SelectionSet)
				}
			case *ast.InlineFragment:
				walk(x.SelectionSet, depth+1)
			case *ast.FragmentSpread:
				if x.Name != nil {
					if f := o.frags[x.Name.Value]; f != nil {
						walk(f.SelectionSet, depth+1)
					}
				}
			}
		}
	}
	for _, s := range o.sets {
		walk(s, 0)
	}
	return keys, subs
}
