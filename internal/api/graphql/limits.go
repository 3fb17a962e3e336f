package graphql

import (
	"fmt"
	"strconv"
	"time"

	gql "github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
)

// Limits protect the server from expensive queries. They are checked on
// the parsed query before it is validated or run; zero disables a limit.
type Limits struct {
	// MaxQuerySize bounds the query text in bytes.
	MaxQuerySize int
	// MaxDepth bounds how deeply selections nest (fragments expanded).
	MaxDepth int
	// MaxComplexity bounds a query's cost: each field costs 1, and what is
	// selected inside a list is multiplied by its length: perPage (default
	// 30) for a page's items, ListFactor for relations holding several
	// records.
	MaxComplexity int
	// MaxAliases bounds the aliases written in the document.
	MaxAliases int
	// MaxRootFields bounds the fields selected at the root of the operation.
	MaxRootFields int
	// Timeout bounds the execution of one query or mutation (0: none).
	Timeout time.Duration
	// Introspection allows __schema and __type queries.
	Introspection bool
}

// Defaults of Limits.
const (
	DefaultMaxQuerySize  = 32 << 10
	DefaultMaxDepth      = 12
	DefaultMaxComplexity = 20000
	DefaultMaxAliases    = 30
	DefaultMaxRootFields = 20
	DefaultTimeout       = 15 * time.Second
)

// ListFactor is the length assumed by the complexity of a relation or
// back-relation holding several records.
const ListFactor = 10

// DefaultLimits returns the default limits, introspection on.
func DefaultLimits() Limits {
	return Limits{
		MaxQuerySize: DefaultMaxQuerySize, MaxDepth: DefaultMaxDepth, MaxComplexity: DefaultMaxComplexity,
		MaxAliases: DefaultMaxAliases, MaxRootFields: DefaultMaxRootFields, Timeout: DefaultTimeout,
		Introspection: true,
	}
}

// Introspection queries list types, their fields and the fields' arguments:
// three levels of lists. Deeper nesting of introspection lists only
// multiplies the work (fields { type { fields { type { fields … ).
const maxIntrospectionLists = 3

func tooLarge(format string, args ...any) error {
	return apperr.New(apperr.TooLarge, fmt.Sprintf(format, args...))
}

// check applies l to the operation named opName of doc (the only one when
// opName is ""), with vars for variables that set perPage.
func (l Limits) check(doc *ast.Document, s *gql.Schema, opName string, vars map[string]any) error {
	aliases := 0
	var op *ast.OperationDefinition
	frags := map[string]*ast.FragmentDefinition{}
	for _, def := range doc.Definitions {
		switch d := def.(type) {
		case *ast.OperationDefinition:
			if op == nil && (opName == "" || d.Name != nil && d.Name.Value == opName) {
				op = d
			}
			aliases += countAliases(d.SelectionSet, 0)
		case *ast.FragmentDefinition:
			if d.Name != nil {
				frags[d.Name.Value] = d
			}
			aliases += countAliases(d.SelectionSet, 0)
		}
	}
	// graphql-go's validator recurses forever on a fragment cycle (a stack
	// overflow ends the process): cycles are refused before it runs.
	if name := fragmentCycle(frags); name != "" {
		return apperr.New(apperr.Invalid, "Cannot spread fragment \""+name+"\" within itself (a fragment cycle).")
	}
	if l.MaxAliases > 0 && aliases > l.MaxAliases {
		return tooLarge("The query has %d aliases; at most %d are allowed.", aliases, l.MaxAliases)
	}
	if op == nil {
		return nil // the validator reports a missing or unknown operation
	}
	w := &walker{s: s, frags: frags, vars: vars, memo: map[string]cost{}, busy: map[string]bool{},
		introspection: l.Introspection}
	var root *gql.Object
	switch op.Operation {
	case ast.OperationTypeMutation:
		root = s.MutationType()
	case ast.OperationTypeSubscription:
		root = s.SubscriptionType()
	default:
		root = s.QueryType()
	}
	if l.MaxRootFields > 0 {
		if n := w.rootFields(op.SelectionSet, 0); n > l.MaxRootFields {
			return tooLarge("The query selects %d root fields; at most %d are allowed.", n, l.MaxRootFields)
		}
	}
	c := w.set(root, op.SelectionSet, record.DefaultPerPage, 0)
	if w.err != nil {
		return w.err
	}
	if l.MaxDepth > 0 && c.depth > l.MaxDepth {
		return tooLarge("The query is %d levels deep; at most %d are allowed.", c.depth, l.MaxDepth)
	}
	if l.MaxComplexity > 0 && c.cost > l.MaxComplexity {
		return tooLarge("The query's complexity is %d; at most %d is allowed.", c.cost, l.MaxComplexity)
	}
	return nil
}

// maxWalk bounds recursion over the document; a deeper document is refused
// whatever the limits say.
const maxWalk = 100

func countAliases(set *ast.SelectionSet, depth int) int {
	if set == nil || depth > maxWalk {
		return 0
	}
	n := 0
	for _, sel := range set.Selections {
		switch x := sel.(type) {
		case *ast.Field:
			if x.Alias != nil {
				n++
			}
			n += countAliases(x.SelectionSet, depth+1)
		case *ast.InlineFragment:
			n += countAliases(x.SelectionSet, depth+1)
		}
	}
	return n
}

// cost is the complexity and depth of a selection.
type cost struct {
	cost, depth int
	// lists is the deepest nesting of introspection lists.
	lists int
}

type walker struct {
	s             *gql.Schema
	frags         map[string]*ast.FragmentDefinition
	vars          map[string]any
	memo          map[string]cost
	busy          map[string]bool
	introspection bool
	err           error
}

// capCost keeps sums from overflowing: anything past it is refused anyway.
const capCost = 1 << 40

func add(a, b int) int {
	if a+b > capCost {
		return capCost
	}
	return a + b
}

func mul(a, b int) int {
	if b != 0 && a > capCost/b {
		return capCost
	}
	return a * b
}

func (w *walker) rootFields(set *ast.SelectionSet, depth int) int {
	if set == nil || depth > maxWalk {
		return 0
	}
	n := 0
	for _, sel := range set.Selections {
		switch x := sel.(type) {
		case *ast.Field:
			n++
		case *ast.InlineFragment:
			n += w.rootFields(x.SelectionSet, depth+1)
		case *ast.FragmentSpread:
			if x.Name != nil && !w.busy[x.Name.Value] {
				if f := w.frags[x.Name.Value]; f != nil {
					w.busy[x.Name.Value] = true
					n += w.rootFields(f.SelectionSet, depth+1)
					delete(w.busy, x.Name.Value)
				}
			}
		}
	}
	return n
}

// set returns the cost of a selection set on parent; perPage is the page
// size of the list whose items field this set may select.
func (w *walker) set(parent gql.Type, set *ast.SelectionSet, perPage, depth int) cost {
	var out cost
	if set == nil || w.err != nil {
		return out
	}
	if depth > maxWalk {
		w.err = tooLarge("The query nests too deeply.")
		return out
	}
	for _, sel := range set.Selections {
		var c cost
		switch x := sel.(type) {
		case *ast.Field:
			c = w.field(parent, x, perPage, depth)
		case *ast.InlineFragment:
			t := parent
			if x.TypeCondition != nil && x.TypeCondition.Name != nil {
				if named := w.s.Type(x.TypeCondition.Name.Value); named != nil {
					t = named
				}
			}
			c = w.set(t, x.SelectionSet, perPage, depth)
		case *ast.FragmentSpread:
			c = w.spread(parent, x, perPage, depth)
		}
		out.cost = add(out.cost, c.cost)
		out.depth = max(out.depth, c.depth)
		out.lists = max(out.lists, c.lists)
	}
	return out
}

func (w *walker) spread(parent gql.Type, x *ast.FragmentSpread, perPage, depth int) cost {
	if x.Name == nil {
		return cost{}
	}
	name := x.Name.Value
	f := w.frags[name]
	if f == nil || w.busy[name] {
		return cost{} // unknown fragments and cycles are the validator's
	}
	t := parent
	if f.TypeCondition != nil && f.TypeCondition.Name != nil {
		if named := w.s.Type(f.TypeCondition.Name.Value); named != nil {
			t = named
		}
	}
	key := name + "\x00" + strconv.Itoa(perPage)
	if c, ok := w.memo[key]; ok {
		return c
	}
	w.busy[name] = true
	c := w.set(t, f.SelectionSet, perPage, depth)
	delete(w.busy, name)
	w.memo[key] = c
	return c
}

func (w *walker) field(parent gql.Type, x *ast.Field, perPage, depth int) cost {
	if x.Name == nil {
		return cost{}
	}
	name := x.Name.Value
	if name == "__typename" {
		return cost{cost: 1, depth: 1}
	}
	var def *gql.FieldDefinition
	switch name {
	case "__schema", "__type":
		if !w.introspection {
			w.err = apperr.New(apperr.Forbidden, "Introspection is disabled on this server.")
			return cost{}
		}
		def = gql.SchemaMetaFieldDef
		if name == "__type" {
			def = gql.TypeMetaFieldDef
		}
	default:
		if obj, ok := parent.(*gql.Object); ok {
			def = obj.Fields()[name]
		}
	}
	if def == nil {
		// The validator reports unknown fields; their selections still
		// count, so that it never sees a document past the limits.
		child := w.set(nil, x.SelectionSet, record.DefaultPerPage, depth+1)
		return cost{cost: add(1, child.cost), depth: child.depth + 1}
	}
	introspective := len(namedType(def.Type)) > 2 && namedType(def.Type)[:2] == "__"
	isList := isListType(def.Type)
	childPerPage := record.DefaultPerPage
	if a := argument(x, "perPage"); a != nil {
		childPerPage = w.intValue(a, record.DefaultPerPage)
		childPerPage = min(max(childPerPage, 1), record.MaxPerPage)
	}
	child := w.set(w.s.Type(namedType(def.Type)), x.SelectionSet, childPerPage, depth+1)
	c := cost{depth: child.depth + 1, lists: child.lists}
	mult := 1
	switch {
	case introspective:
		if isList {
			c.lists++
		}
		if c.lists > maxIntrospectionLists && w.err == nil {
			w.err = tooLarge("Introspection lists can nest at most %d levels.", maxIntrospectionLists)
		}
		c.depth = 0 // introspection is bounded by the schema, not by data
	case isList && name == "items":
		mult = perPage
	case isList:
		mult = ListFactor
	}
	c.cost = add(1, mul(child.cost, mult))
	return c
}

func isListType(t gql.Type) bool {
	if nn, ok := t.(*gql.NonNull); ok {
		t = nn.OfType
	}
	_, ok := t.(*gql.List)
	return ok
}

func argument(f *ast.Field, name string) ast.Value {
	for _, a := range f.Arguments {
		if a.Name != nil && a.Name.Value == name {
			return a.Value
		}
	}
	return nil
}

// intValue reads an Int argument written literally or as a variable.
func (w *walker) intValue(v ast.Value, def int) int {
	switch x := v.(type) {
	case *ast.IntValue:
		if n, err := strconv.Atoi(x.Value); err == nil {
			return n
		}
	case *ast.Variable:
		if x.Name != nil {
			switch n := w.vars[x.Name.Value].(type) {
			case float64:
				if n >= 0 && n <= record.MaxPerPage {
					return int(n)
				}
				return record.MaxPerPage
			case int:
				return n
			}
		}
	}
	return def
}

// fragmentCycle returns the name of a fragment that spreads itself,
// directly or through others, or "".
func fragmentCycle(frags map[string]*ast.FragmentDefinition) string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var visit func(name string) string
	visit = func(name string) string {
		switch state[name] {
		case active:
			return name
		case done:
			return ""
		}
		f := frags[name]
		if f == nil {
			return ""
		}
		state[name] = active
		for _, s := range spreads(f.SelectionSet, nil, 0) {
			if c := visit(s); c != "" {
				return c
			}
		}
		state[name] = done
		return ""
	}
	for _, name := range sortedKeys(frags) {
		if c := visit(name); c != "" {
			return c
		}
	}
	return ""
}

// spreads appends the names of the fragments spread in set to out.
func spreads(set *ast.SelectionSet, out []string, depth int) []string {
	if set == nil || depth > maxWalk {
		return out
	}
	for _, sel := range set.Selections {
		switch x := sel.(type) {
		case *ast.Field:
			out = spreads(x.SelectionSet, out, depth+1)
		case *ast.InlineFragment:
			out = spreads(x.SelectionSet, out, depth+1)
		case *ast.FragmentSpread:
			if x.Name != nil {
				out = append(out, x.Name.Value)
			}
		}
	}
	return out
}
