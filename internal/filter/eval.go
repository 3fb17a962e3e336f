package filter

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Resolver supplies the values of identifiers (record fields, relation paths,
// @request.* and @collection.* data) to [Eval]. Macros, placeholders,
// literals and functions are handled by the evaluator.
//
// Resolve must return the value a PocketBase-compatible server would read
// with SQL; see [Value] and [Item] for multi values and joins. Typical
// results:
//
//   - a text/email/url/editor/date field or a single select/relation/file:
//     Column(Text(v), AffinityText);
//   - number and bool fields: Column(Real or Int, AffinityNumeric);
//   - a multi select/relation/file without modifier: its JSON array text,
//     Column(Text(`["a","b"]`), AffinityText), so `tags ~ 'a'` searches it;
//   - `field:each`, and paths through multi relations or back-relations: a
//     Multi value with one Item per joined row;
//   - json fields and paths into them: the JSON value as SQLite's
//     json_extract returns it, with Strict set;
//   - `:length`: the item count; `:lower`: the ASCII-lower-cased value with
//     AffinityNone;
//   - @request.* data: Constant(...); `:isset` and `:changed`: Constant(Bool);
//   - a value a comparison may read but never match through (in a client's
//     filter, the email of an auth record that keeps it private): its items
//     Masked.
//
// An unknown field should be reported as an error.
type Resolver interface {
	Resolve(id *Identifier) (Value, error)
}

// ResolverFunc adapts a function to [Resolver].
type ResolverFunc func(id *Identifier) (Value, error)

// Resolve calls f(id).
func (f ResolverFunc) Resolve(id *Identifier) (Value, error) { return f(id) }

// Env is what an evaluation needs besides the Resolver.
type Env struct {
	// Now is the instant macros are computed from (taken in UTC); the zero
	// time means time.Now().
	Now time.Time
	// Params holds the values of {:name} placeholders.
	Params map[string]any
}

// Eval reports whether the record the resolver describes matches e, using the
// current time and no placeholder values. See [Env.Eval].
func Eval(e Expr, r Resolver) (bool, error) { return Env{}.Eval(e, r) }

// maxBindings bounds the join-row combinations an evaluation may track.
const maxBindings = 100_000

// ErrTooComplex is returned when an evaluation would have to track more than
// maxBindings combinations of joined rows.
var ErrTooComplex = errors.New("filter: too many combinations of related records to evaluate")

// Eval reports whether the record the resolver describes matches e.
//
// The semantics are those of the SQL a PocketBase-compatible server runs on
// SQLite, so that the SQL compiler and this evaluator agree:
//
//   - Comparisons are three-valued; a comparison that is NULL does not match.
//     Values convert by SQLite's affinity rules (see [Affinity]) and order as
//     SQLite orders them: NULL, then numbers, then text (bytewise).
//   - = and != treat NULL and ” alike in most cases; see [Class] and the
//     equality rules in the package source.
//   - ~ and !~ are LIKE and NOT LIKE, ASCII case-insensitive; a constant right
//     side becomes a [LikePattern], any other right side b means '%' || b || '%'.
//   - With a multi-valued operand, a ?-operator matches if some item (pair of
//     items, if both sides are multi) compares true. A plain operator matches
//     if some item compares true and no item compares false (items that
//     compare NULL are ignored). An empty multi value is one NULL item.
//   - Items that share a join (see [Item]) are correlated across the whole
//     filter: the filter matches if one choice of row per join makes it true.
//     The "no item compares false" check of a plain operator is not
//     correlated: it looks at every item.
//   - A [Item.Masked] item never makes a comparison true, but counts in the
//     "no item compares false" check. A function of a masked value is masked.
//
// Branches that cannot change the result are skipped, so an error in them
// (an unknown field, say) may go unreported; validate rules when they are
// saved.
func (env Env) Eval(e Expr, r Resolver) (bool, error) {
	ev := env.evaluator()
	ev.r = r
	set, err := ev.expr(e)
	if err != nil {
		return false, err
	}
	return !set.empty(), nil
}

// Part is an operand of [Env.EvalAll]: an expression and the resolver of its
// identifiers.
type Part struct {
	Expr     Expr // nil parts are skipped
	Resolver Resolver
}

// EvalAll reports whether the record matches every part, as [Env.Eval] does
// for the AND of the parts' expressions, except that each part's identifiers
// are resolved by its own Resolver: a trusted rule and a client's filter may
// read the same field differently. Items of the same join are correlated
// across parts, as they are within one expression. Without parts (or only
// nil ones) it reports true.
func (env Env) EvalAll(parts ...Part) (bool, error) {
	ev := env.evaluator()
	acc := bindingSet{all: true}
	for _, p := range parts {
		if p.Expr == nil {
			continue
		}
		ev.r, ev.cache = p.Resolver, map[string]*side{}
		set, err := ev.expr(p.Expr)
		if err != nil {
			return false, err
		}
		if acc, err = joinSets(acc, set); err != nil {
			return false, err
		}
		if acc.empty() {
			return false, nil
		}
	}
	return true, nil
}

func (env Env) evaluator() *evaluator {
	ev := &evaluator{env: env, vars: map[string]int{}, cache: map[string]*side{}}
	if ev.env.Now.IsZero() {
		ev.env.Now = time.Now()
	}
	return ev
}

type evaluator struct {
	env   Env
	r     Resolver
	vars  map[string]int // join name → index in a binding
	cache map[string]*side
}

// A binding assigns rows to some joins: b[i] is the row index of join i, or
// unbound. A bindingSet is the set of bindings under which an expression is
// true; it is empty when the expression is false, and holds the single empty
// binding when it is true whatever rows are chosen.
type binding []int

const unbound = -2

type bindingSet struct {
	all  bool // true under every binding
	list []binding
}

func (s bindingSet) empty() bool { return !s.all && len(s.list) == 0 }

func (ev *evaluator) expr(e Expr) (bindingSet, error) {
	switch x := e.(type) {
	case *Comparison:
		return ev.comparison(x)
	case *Logical:
		if x.op == Or {
			var out bindingSet
			for _, it := range x.items {
				s, err := ev.expr(it)
				if err != nil {
					return bindingSet{}, err
				}
				if s.all {
					return s, nil
				}
				out.list = append(out.list, s.list...)
				if len(out.list) > maxBindings {
					return bindingSet{}, ErrTooComplex
				}
			}
			return out, nil
		}
		acc := bindingSet{all: true}
		for _, it := range x.items {
			s, err := ev.expr(it)
			if err != nil {
				return bindingSet{}, err
			}
			acc, err = joinSets(acc, s)
			if err != nil {
				return bindingSet{}, err
			}
			if acc.empty() {
				return acc, nil
			}
		}
		return acc, nil
	}
	return bindingSet{}, fmt.Errorf("filter: unsupported expression %T", e)
}

// joinSets is the natural join of two binding sets: every pair of compatible
// bindings, merged.
func joinSets(a, b bindingSet) (bindingSet, error) {
	switch {
	case a.all:
		return b, nil
	case b.all:
		return a, nil
	}
	var out bindingSet
	seen := map[string]bool{}
	for _, x := range a.list {
		for _, y := range b.list {
			m, ok := merge(x, y)
			if !ok {
				continue
			}
			k := bindingKey(m)
			if seen[k] {
				continue
			}
			seen[k] = true
			out.list = append(out.list, m)
			if len(out.list) > maxBindings {
				return bindingSet{}, ErrTooComplex
			}
		}
	}
	return out, nil
}

func merge(x, y binding) (binding, bool) {
	n := max(len(x), len(y))
	m := make(binding, n)
	for i := range m {
		xv, yv := unbound, unbound
		if i < len(x) {
			xv = x[i]
		}
		if i < len(y) {
			yv = y[i]
		}
		switch {
		case xv == unbound:
			m[i] = yv
		case yv == unbound || xv == yv:
			m[i] = xv
		default:
			return nil, false
		}
	}
	return m, true
}

func bindingKey(b binding) string {
	var sb strings.Builder
	for _, v := range b {
		sb.WriteString(strconv.Itoa(v))
		sb.WriteByte(',')
	}
	return sb.String()
}

func (ev *evaluator) bindingOf(rows []Row) (binding, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	var b binding
	for _, r := range rows {
		i, ok := ev.vars[r.Join]
		if !ok {
			i = len(ev.vars)
			ev.vars[r.Join] = i
		}
		for len(b) <= i {
			b = append(b, unbound)
		}
		if b[i] != unbound && b[i] != r.Index {
			return nil, fmt.Errorf("filter: item lists join %q twice with different rows", r.Join)
		}
		b[i] = r.Index
	}
	return b, nil
}

var nullItems = []Item{{}}

func items(s *side) []Item {
	if len(s.val.Items) == 0 {
		return nullItems
	}
	if !s.val.Multi {
		return s.val.Items[:1]
	}
	return s.val.Items
}

func (ev *evaluator) comparison(c *Comparison) (bindingSet, error) {
	l, err := ev.operand(c.left)
	if err != nil {
		return bindingSet{}, err
	}
	r, err := ev.operand(c.right)
	if err != nil {
		return bindingSet{}, err
	}
	op := c.op.Base()
	li, ri := items(l), items(r)
	if !c.op.Any() && (l.multi() || r.multi()) {
		// Every pair must be true or NULL, ignoring join correlation.
		for _, a := range li {
			for _, b := range ri {
				if compareItems(op, l, a.Scalar, r, b.Scalar) == triFalse {
					return bindingSet{}, nil
				}
			}
		}
	}
	var out bindingSet
	for _, a := range li {
		for _, b := range ri {
			if a.Masked || b.Masked || compareItems(op, l, a.Scalar, r, b.Scalar) != triTrue {
				continue
			}
			ab, err := ev.bindingOf(a.Rows)
			if err != nil {
				return bindingSet{}, err
			}
			bb, err := ev.bindingOf(b.Rows)
			if err != nil {
				return bindingSet{}, err
			}
			m, ok := merge(ab, bb)
			if !ok {
				continue
			}
			if len(m) == 0 {
				return bindingSet{all: true}, nil
			}
			out.list = append(out.list, m)
			if len(out.list) > maxBindings {
				return bindingSet{}, ErrTooComplex
			}
		}
	}
	return out, nil
}

// operand resolves an operand to a side.
func (ev *evaluator) operand(o Operand) (*side, error) {
	switch x := o.(type) {
	case *Literal:
		return literalSide(x), nil
	case *Placeholder:
		v, ok := ev.env.Params[x.name]
		if !ok {
			return nil, fmt.Errorf("filter: no value for placeholder {:%s}", x.name)
		}
		return literalSide(PlaceholderLiteral(v)), nil
	case *Macro:
		v, _ := MacroValue(x.name, ev.env.Now)
		return constSide(Constant(ScalarOf(v))), nil
	case *Identifier:
		if s, ok := ev.cache[x.name]; ok {
			return s, nil
		}
		v, err := ev.r.Resolve(x)
		if err != nil {
			return nil, err
		}
		s := constSide(v)
		ev.cache[x.name] = s
		return s, nil
	case *Call:
		v, err := ev.call(x)
		if err != nil {
			return nil, err
		}
		masked, err := ev.maskedArgs(x)
		if err != nil {
			return nil, err
		}
		if masked {
			v.Items = slices.Clone(v.Items)
			if len(v.Items) == 0 {
				v.Items = []Item{{}}
			}
			for i := range v.Items {
				v.Items[i].Masked = true
			}
		}
		return &side{val: v}, nil
	}
	return nil, fmt.Errorf("filter: unsupported operand %T", o)
}

// maskedArgs reports whether an argument of c is masked, which masks its
// result: the SQL compiler guards a comparison with the conditions of every
// field it reads, inside function calls too.
func (ev *evaluator) maskedArgs(c *Call) (bool, error) {
	for _, a := range c.args {
		s, err := ev.operand(a)
		if err != nil {
			return false, err
		}
		for _, it := range s.val.Items {
			if it.Masked {
				return true, nil
			}
		}
	}
	return false, nil
}

// literalSide classifies a literal the way a PocketBase-compatible server
// compiles it: null, true and false are inlined SQL (NULL, 1, 0); numbers and
// text are bound parameters (numbers as floats).
func literalSide(l *Literal) *side {
	switch l.kind {
	case LiteralNull:
		return &side{val: Single(Null), class: ClassEmpty}
	case LiteralBool:
		return &side{val: Single(Int(int64(l.num))), class: ClassKnown}
	case LiteralNumber:
		return &side{val: Single(Real(l.num)), class: ClassKnown, param: true, likeText: formatNumber(l.num)}
	}
	s := &side{val: Single(Text(l.text)), class: ClassKnown, param: true, likeText: l.text}
	if l.text == "" {
		s.class = ClassEmpty
	}
	return s
}

// constSide classifies a resolved value. A constant NULL behaves like the
// null literal; other constants are parameters.
func constSide(v Value) *side {
	s := &side{val: v}
	if v.Multi || !v.Const {
		return s
	}
	var sc Scalar
	if len(v.Items) > 0 {
		sc = v.Items[0].Scalar
	}
	switch {
	case sc.IsNull():
		s.class = ClassEmpty
	case sc.kind == KindText && sc.s == "":
		s.class, s.param = ClassEmpty, true
	default:
		s.class, s.param = ClassKnown, true
		s.likeText = paramText(sc)
	}
	return s
}

// paramText is the text of a bound parameter as it goes into a LIKE pattern:
// floats in their shortest decimal form.
func paramText(s Scalar) string {
	if s.kind == KindReal {
		return formatNumber(s.f)
	}
	t, _ := sqlText(s)
	return t
}

// PlaceholderLiteral converts the value of a {:name} placeholder to the
// literal it stands for: nil is null, bools are true/false, numbers are number
// literals, strings are text, and anything else is its JSON text.
func PlaceholderLiteral(v any) *Literal {
	sc := ScalarOf(v)
	if b, ok := v.(bool); ok {
		if b {
			return &Literal{kind: LiteralBool, num: 1}
		}
		return &Literal{kind: LiteralBool}
	}
	switch sc.kind {
	case KindNull:
		return &Literal{kind: LiteralNull}
	case KindInt:
		return &Literal{kind: LiteralNumber, num: float64(sc.i)}
	case KindReal:
		return &Literal{kind: LiteralNumber, num: sc.f}
	}
	return &Literal{kind: LiteralText, text: sc.s}
}
