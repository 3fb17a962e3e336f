package graphql

import (
	"context"
	"sort"
	"strings"

	gql "github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// operation is what resolvers of one request share: the service, the
// caller and the schema the request runs on. It travels in the context
// graphql-go hands to resolvers (the only way in: the schema is shared by
// every request).
type operation struct {
	records *record.Service
	// base is the caller's request; each root field copies it with the
	// method the equivalent REST call has, so @request.method rules agree.
	base  *record.Request
	built *built
}

type operationKey struct{}

func withOperation(ctx context.Context, op *operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

func operationOf(ctx context.Context) *operation {
	op, _ := ctx.Value(operationKey{}).(*operation)
	return op
}

// request returns the caller's request as the REST call with method would
// see it, with field visibility prepared (record.Service.Visibility).
func (op *operation) request(ctx context.Context, method string) *record.Request {
	r := *op.base
	r.Method, r.Visible, r.Body, r.Existing = method, nil, nil, nil
	op.records.Visibility(ctx, &r)
	return &r
}

// Walking the selection for expand paths is bounded twice: by the limits
// checked before execution and by this depth.
const maxExpandWalk = 64

// expand returns the expand parameter that loads every relation the
// selection of the current field reaches, so the service fetches each level
// of relations in one query per relation field (no query per record).
func (op *operation) expand(info gql.ResolveInfo) string {
	paths := map[string]bool{}
	var walk func(typ string, set *ast.SelectionSet, prefix string, depth int)
	walk = func(typ string, set *ast.SelectionSet, prefix string, depth int) {
		if set == nil || depth > maxExpandWalk {
			return
		}
		for _, sel := range set.Selections {
			switch x := sel.(type) {
			case *ast.Field:
				if x.Name == nil {
					continue
				}
				rel, ok := op.built.rels[typ][x.Name.Value]
				if !ok {
					continue
				}
				p := prefix
				if rel.key != "" {
					if p != "" {
						p += "."
					}
					p += rel.key
					paths[p] = true
				}
				walk(rel.target, x.SelectionSet, p, depth+1)
			case *ast.InlineFragment:
				walk(typ, x.SelectionSet, prefix, depth+1)
			case *ast.FragmentSpread:
				if x.Name == nil {
					continue
				}
				if def, ok := info.Fragments[x.Name.Value].(*ast.FragmentDefinition); ok {
					walk(typ, def.SelectionSet, prefix, depth+1)
				}
			}
		}
	}
	typ := namedType(info.ReturnType)
	for _, f := range info.FieldASTs {
		walk(typ, f.SelectionSet, "", 0)
	}
	// Only leaf paths: "author.org" implies "author".
	var leaves []string
	for p := range paths {
		leaf := true
		for q := range paths {
			if strings.HasPrefix(q, p+".") {
				leaf = false
				break
			}
		}
		if leaf {
			leaves = append(leaves, p)
		}
	}
	sort.Strings(leaves)
	return strings.Join(leaves, ",")
}

// namedType returns the name of t without list and non-null wrappers.
func namedType(t gql.Type) string {
	for {
		switch x := t.(type) {
		case *gql.NonNull:
			t = x.OfType
		case *gql.List:
			t = x.OfType
		case nil:
			return ""
		default:
			return t.Name()
		}
	}
}

func listResolver(collection string) gql.FieldResolveFn {
	return func(p gql.ResolveParams) (any, error) {
		op := operationOf(p.Context)
		opts := record.ListOptions{Expand: op.expand(p.Info)}
		opts.Filter, _ = p.Args["filter"].(string)
		opts.Sort, _ = p.Args["sort"].(string)
		opts.Page, _ = p.Args["page"].(int)
		opts.PerPage, _ = p.Args["perPage"].(int)
		opts.SkipTotal, _ = p.Args["skipTotal"].(bool)
		req := op.request(p.Context, "GET")
		res, err := op.records.List(p.Context, req, collection, opts)
		if err != nil {
			return nil, err
		}
		items := make([]any, len(res.Items))
		for i, it := range res.Items {
			items[i] = record.Export(it, req)
		}
		out := map[string]any{"page": res.Page, "perPage": res.PerPage, "items": items}
		if res.TotalItems >= 0 {
			out["totalItems"], out["totalPages"] = int(res.TotalItems), int(res.TotalPages)
		}
		return out, nil
	}
}

func viewResolver(collection string) gql.FieldResolveFn {
	return func(p gql.ResolveParams) (any, error) {
		op := operationOf(p.Context)
		id, _ := p.Args["id"].(string)
		req := op.request(p.Context, "GET")
		it, err := op.records.View(p.Context, req, collection, id, op.expand(p.Info))
		if err != nil {
			return nil, err
		}
		return record.Export(it, req), nil
	}
}

// input turns the data argument into the service's input, by data field name.
func input(p gql.ResolveParams, names map[string]string) record.Input {
	in := record.Input{Data: map[string]any{}}
	data, _ := p.Args["data"].(map[string]any)
	for k, v := range data {
		if name, ok := names[k]; ok {
			in.Data[name] = v
		}
	}
	return in
}

func createResolver(collection string, names map[string]string) gql.FieldResolveFn {
	return func(p gql.ResolveParams) (any, error) {
		op := operationOf(p.Context)
		req := op.request(p.Context, "POST")
		it, err := op.records.Create(p.Context, req, collection, input(p, names), op.expand(p.Info))
		if err != nil {
			return nil, err
		}
		return record.Export(it, req), nil
	}
}

func updateResolver(collection string, names map[string]string) gql.FieldResolveFn {
	return func(p gql.ResolveParams) (any, error) {
		op := operationOf(p.Context)
		id, _ := p.Args["id"].(string)
		req := op.request(p.Context, "PATCH")
		it, err := op.records.Update(p.Context, req, collection, id, input(p, names), op.expand(p.Info))
		if err != nil {
			return nil, err
		}
		return record.Export(it, req), nil
	}
}

func deleteResolver(collection string) gql.FieldResolveFn {
	return func(p gql.ResolveParams) (any, error) {
		op := operationOf(p.Context)
		id, _ := p.Args["id"].(string)
		if err := op.records.Delete(p.Context, op.request(p.Context, "DELETE"), collection, id); err != nil {
			return nil, err
		}
		return true, nil
	}
}

// eventResolver resolves a subscription root field: the event is the root
// value each execution runs on.
func eventResolver(p gql.ResolveParams) (any, error) {
	return p.Source, nil
}

// dataResolver reads key of an exported record (record.Export), a list
// page or an event. A key the export left out (a field hidden from the
// caller) reads as null.
func dataResolver(key string, f *schema.Field) gql.FieldResolveFn {
	return func(p gql.ResolveParams) (any, error) {
		m, _ := p.Source.(map[string]any)
		v, ok := m[key]
		if !ok {
			return nil, nil
		}
		if f != nil && f.IsMulti() && v == nil {
			return []string{}, nil
		}
		return v, nil
	}
}

// expandResolver reads a relation the service expanded: the related
// records the caller may view.
func expandResolver(key string, many bool) gql.FieldResolveFn {
	return func(p gql.ResolveParams) (any, error) {
		m, _ := p.Source.(map[string]any)
		exp, _ := m["expand"].(map[string]any)
		v := exp[key]
		switch x := v.(type) {
		case []any:
			if many {
				return x, nil
			}
			if len(x) > 0 {
				return x[0], nil
			}
			return nil, nil
		case map[string]any:
			if many {
				return []any{x}, nil
			}
			return x, nil
		}
		if many {
			return []any{}, nil
		}
		return nil, nil
	}
}
