package sqlfilter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Options tune a compilation.
type Options struct {
	// Table is how the enclosing query names the filtered table; "" means
	// the quoted collection name.
	Table string
	// Env gives the time for @-macros and the values of {:name}
	// placeholders.
	Env filter.Env
}

// Query is a compiled filter and sort.
type Query struct {
	// Where is a condition for the filtered table ("" without a filter). It
	// needs no extra joins in the enclosing query: relation paths are
	// correlated subqueries.
	Where string
	// OrderBy is the list after ORDER BY ("" without a sort).
	OrderBy string
	// Args are the bound parameters of Where and OrderBy, in placeholder
	// order.
	Args []any
}

// Compile compiles a filter (nil for none) and sort fields for src's
// collection. Unknown fields and other schema mismatches are *Error values;
// the caller reports them as an invalid request.
func Compile(d Dialect, src *Source, opts Options, where filter.Expr, sort []filter.SortField) (*Query, error) {
	if src.Collection == nil {
		return nil, errorf("missing collection")
	}
	c := &compiler{d: d, src: src, env: opts.Env, plans: map[string]*plan{}}
	if c.env.Now.IsZero() {
		c.env.Now = time.Now()
	}
	c.table = opts.Table
	if c.table == "" {
		c.table = d.Quote(src.Collection.Name)
	}
	q := &Query{}
	if where != nil {
		js := c.newJoins()
		cond, err := c.expr(where, js)
		if err != nil {
			return nil, err
		}
		q.Where = js.wrap(cond)
	}
	var order []string
	for _, f := range sort {
		s, err := c.sortField(f)
		if err != nil {
			return nil, err
		}
		order = append(order, s)
	}
	q.OrderBy = strings.Join(order, ", ")
	c.finish(q, c.args)
	return q, nil
}

type compiler struct {
	d      Dialect
	src    *Source
	env    filter.Env
	table  string
	args   []any
	plans  map[string]*plan
	nAlias int
}

// arg binds v and returns a marker for it; finish turns the markers into the
// dialect's placeholders, numbered in order of use, and drops values that
// ended up unused.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "\x00" + strconv.Itoa(len(c.args)-1) + "\x00"
}

func (c *compiler) finish(q *Query, pending []any) {
	number := map[int]int{}
	rewrite := func(sql string) string {
		var b strings.Builder
		for {
			i := strings.IndexByte(sql, 0)
			if i < 0 {
				b.WriteString(sql)
				return b.String()
			}
			j := strings.IndexByte(sql[i+1:], 0) + i + 1
			k, _ := strconv.Atoi(sql[i+1 : j])
			n, ok := number[k]
			if !ok {
				q.Args = append(q.Args, pending[k])
				n = len(q.Args)
				number[k] = n
			}
			b.WriteString(sql[:i] + c.d.Placeholder(n))
			sql = sql[j+1:]
		}
	}
	q.Where = rewrite(q.Where)
	q.OrderBy = rewrite(q.OrderBy)
}

func (c *compiler) alias() string {
	c.nAlias++
	return c.d.Quote("__j" + strconv.Itoa(c.nAlias))
}

// joins is a set of LEFT JOINs keyed by join name, rendered inside
// `EXISTS (SELECT 1 FROM (SELECT 1) AS base <joins> WHERE ...)`.
type joins struct {
	c       *compiler
	aliases map[string]string
	clauses []string
}

func (c *compiler) newJoins() *joins { return &joins{c: c, aliases: map[string]string{}} }

// add registers a join under key once and returns its alias.
func (js *joins) add(key string, clause func(alias string) string) string {
	if a, ok := js.aliases[key]; ok {
		return a
	}
	a := js.c.alias()
	js.aliases[key] = a
	js.clauses = append(js.clauses, clause(a))
	return a
}

func (js *joins) from() string {
	return "(SELECT 1) AS " + js.c.alias() + " " + strings.Join(js.clauses, " ")
}

// wrap makes cond a condition on the filtered table: with joins, it must hold
// for some combination of joined rows.
func (js *joins) wrap(cond string) string {
	if len(js.clauses) == 0 {
		return cond
	}
	return "EXISTS (SELECT 1 FROM " + js.from() + " WHERE " + cond + ")"
}

func (c *compiler) expr(e filter.Expr, js *joins) (string, error) {
	switch x := e.(type) {
	case *filter.Logical:
		op := " AND "
		if x.Op() == filter.Or {
			op = " OR "
		}
		parts := make([]string, x.Len())
		for i := range x.Len() {
			s, err := c.expr(x.At(i), js)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "(" + strings.Join(parts, op) + ")", nil
	case *filter.Comparison:
		return c.comparison(x, js)
	}
	return "", errorf("unsupported expression %T", e)
}

// opnd is a compiled operand.
type opnd struct {
	sql      string
	plan     *plan // identifiers with joins
	multi    bool
	class    filter.Class
	param    bool
	likeText string
	aff      filter.Affinity
	strict   bool
}

func (c *compiler) comparison(cmp *filter.Comparison, js *joins) (string, error) {
	l, err := c.operand(cmp.Left(), js)
	if err != nil {
		return "", err
	}
	r, err := c.operand(cmp.Right(), js)
	if err != nil {
		return "", err
	}
	op := cmp.Op().Base()
	cond := c.compare(op, l, l.sql, r, r.sql)
	if cmp.Op().Any() || (!l.multi && !r.multi) {
		return cond, nil
	}
	// Plain operator on a multi value: besides the correlated match above,
	// no item (pair) may compare false, whatever the other joins hold.
	// The two sides are joined independently: every item of one side is
	// paired with every item of the other.
	fresh, freshRight := c.newJoins(), c.newJoins()
	ls, rs := l.sql, r.sql
	if l.multi {
		ls = c.render(l.plan, fresh)
	}
	if r.multi {
		rs = c.render(r.plan, freshRight)
	}
	fresh.clauses = append(fresh.clauses, freshRight.clauses...)
	all := "NOT EXISTS (SELECT 1 FROM " + fresh.from() + " WHERE NOT " + c.compare(op, l, ls, r, rs) + ")"
	return "(" + cond + " AND " + all + ")", nil
}

// compare renders `l op r` with the semantics of the in-memory evaluator.
func (c *compiler) compare(op filter.Op, l *opnd, ls string, r *opnd, rs string) string {
	switch op {
	case filter.OpEq, filter.OpNeq:
		return c.equality(op == filter.OpEq, l, ls, r, rs)
	case filter.OpLike, filter.OpNotLike:
		not := op == filter.OpNotLike
		switch {
		case r.param:
			return "(" + c.d.Like(ls, c.arg(filter.LikePattern(r.likeText)), not) + ")"
		case r.sql == "NULL":
			return "(" + c.d.Like(ls, "NULL", not) + ")"
		}
		return "(" + c.d.Like(ls, "('%' || "+rs+" || '%')", not) + ")"
	}
	return "(" + ls + " " + op.String() + " " + rs + ")"
}

func (c *compiler) equality(eq bool, l *opnd, ls string, r *opnd, rs string) string {
	isOp, isNullOp, join, equal := "IS", "IS NULL", "OR", "="
	if !eq {
		isOp, isNullOp, join, equal = "IS NOT", "IS NOT NULL", "AND", "IS NOT"
	}
	if l.strict || r.strict {
		return "(" + ls + " " + isOp + " " + rs + ")"
	}
	lc, rc := l.class, r.class
	if l.multi {
		lc = filter.ClassDynamic
	}
	if r.multi {
		rc = filter.ClassDynamic
	}
	switch {
	case lc == filter.ClassEmpty && rc == filter.ClassEmpty:
		if eq {
			return "(1=1)"
		}
		return "(1=0)"
	case lc == filter.ClassKnown || rc == filter.ClassKnown:
		if lc == filter.ClassEmpty {
			ls = "''"
		}
		if rc == filter.ClassEmpty {
			rs = "''"
		}
		return "(" + ls + " " + equal + " " + rs + ")"
	case lc == filter.ClassEmpty:
		return "(" + rs + " " + equal + " '' " + join + " " + rs + " " + isNullOp + ")"
	case rc == filter.ClassEmpty:
		return "(" + ls + " " + equal + " '' " + join + " " + ls + " " + isNullOp + ")"
	}
	return "(COALESCE(" + ls + ", '') " + equal + " COALESCE(" + rs + ", ''))"
}

func (c *compiler) literal(l *filter.Literal) *opnd {
	switch l.Kind() {
	case filter.LiteralNull:
		return &opnd{sql: "NULL", class: filter.ClassEmpty}
	case filter.LiteralBool:
		if l.Number() != 0 {
			return &opnd{sql: "1", class: filter.ClassKnown}
		}
		return &opnd{sql: "0", class: filter.ClassKnown}
	case filter.LiteralNumber:
		return &opnd{sql: c.arg(l.Number()), class: filter.ClassKnown, param: true, likeText: strconv.FormatFloat(l.Number(), 'f', -1, 64)}
	}
	o := &opnd{sql: c.arg(l.Text()), class: filter.ClassKnown, param: true, likeText: l.Text()}
	if l.Text() == "" {
		o.class = filter.ClassEmpty
	}
	return o
}

// constant compiles a value known before the query runs.
func (c *compiler) constant(s filter.Scalar) *opnd {
	switch {
	case s.IsNull():
		return &opnd{sql: "NULL", class: filter.ClassEmpty}
	case s.Kind() == filter.KindText && s.Text() == "":
		return &opnd{sql: c.arg(""), class: filter.ClassEmpty, param: true}
	}
	text := filter.SQLText(s)
	if s.Kind() == filter.KindReal {
		text = strconv.FormatFloat(s.Real(), 'f', -1, 64)
	}
	return &opnd{sql: c.arg(s.Any()), class: filter.ClassKnown, param: true, likeText: text}
}

func (c *compiler) planFor(id *filter.Identifier) (*plan, error) {
	if p, ok := c.plans[id.Name()]; ok {
		return p, nil
	}
	p, err := planOf(c.src, id)
	if err != nil {
		return nil, err
	}
	c.plans[id.Name()] = p
	return p, nil
}

func (c *compiler) operand(o filter.Operand, js *joins) (*opnd, error) {
	switch x := o.(type) {
	case *filter.Literal:
		return c.literal(x), nil
	case *filter.Placeholder:
		v, ok := c.env.Params[x.Name()]
		if !ok {
			return nil, errorf("no value for placeholder {:%s}", x.Name())
		}
		return c.literal(filter.PlaceholderLiteral(v)), nil
	case *filter.Macro:
		v, _ := filter.MacroValue(x.Name(), c.env.Now)
		return c.constant(filter.ScalarOf(v)), nil
	case *filter.Identifier:
		p, err := c.planFor(x)
		if err != nil {
			return nil, err
		}
		if p.isConst() {
			return c.constant(p.constant), nil
		}
		return &opnd{sql: c.render(p, js), plan: p, multi: p.multi(), aff: p.affinity(), strict: p.strict()}, nil
	case *filter.Call:
		return c.call(x, js)
	}
	return nil, errorf("unsupported operand %T", o)
}

// render registers the joins of p in js and returns the SQL of its value.
func (c *compiler) render(p *plan, js *joins) string {
	q := c.d.Quote
	prev := c.table
	var value string
	for _, s := range p.steps {
		switch s.kind {
		case stepRel:
			from, col := prev, q(s.field.Name)
			if !s.multi {
				prev = js.add(s.key, func(a string) string {
					return "LEFT JOIN " + q(s.coll.Name) + " AS " + a + " ON " + a + `."id" = ` + from + "." + col
				})
				continue
			}
			je := js.add(s.key+"#je", func(a string) string {
				return "LEFT JOIN " + c.d.JSONEach(from+"."+col) + " AS " + a
			})
			prev = js.add(s.key, func(a string) string {
				return "LEFT JOIN " + q(s.coll.Name) + " AS " + a + " ON " + a + `."id" = ` + je + `."value"`
			})
		case stepBack:
			from, col := prev, q(s.field.Name)
			prev = js.add(s.key, func(a string) string {
				on := a + "." + col + " = " + from + `."id"`
				if s.field.IsMulti() {
					on = from + `."id" IN (SELECT "value" FROM ` + c.d.JSONEach(a+"."+col) + ")"
				}
				return "LEFT JOIN " + q(s.coll.Name) + " AS " + a + " ON " + on
			})
		case stepEach:
			from, col := prev, q(s.field.Name)
			je := js.add(s.key+"#je", func(a string) string {
				return "LEFT JOIN " + c.d.JSONEach(from+"."+col) + " AS " + a
			})
			value = je + `."value"`
		case stepCollection:
			prev = js.add(s.key, func(a string) string {
				return "LEFT JOIN " + q(s.coll.Name) + " AS " + a + " ON 1=1"
			})
		case stepAuth:
			prev = js.add(s.key, func(a string) string {
				return "LEFT JOIN " + q(s.coll.Name) + " AS " + a + " ON " + a + `."id" = ` + c.arg(s.ids[0])
			})
		case stepBodyRel:
			prev = js.add(s.key, func(a string) string {
				ph := make([]string, len(s.ids))
				for i, id := range s.ids {
					ph[i] = c.arg(id)
				}
				return "LEFT JOIN " + q(s.coll.Name) + " AS " + a + " ON " + a + `."id" IN (` + strings.Join(ph, ", ") + ")"
			})
		case stepBodyEach:
			je := js.add(s.key+"#je", func(a string) string {
				raw, _ := json.Marshal(s.items)
				return "LEFT JOIN " + c.d.JSONEach(c.arg(string(raw))) + " AS " + a
			})
			value = je + `."value"`
		}
	}
	switch p.kind {
	case valColumn:
		value = prev + "." + q(p.field.Name)
	case valJSON:
		value = c.d.JSONExtract(prev+"."+q(p.field.Name), c.arg(p.jsonPath))
	case valLength:
		value = c.d.JSONArrayLength(prev + "." + q(p.field.Name))
	case valOne:
		value = "(" + prev + "." + q(p.field.Name) + " <> '')"
	}
	if p.lower {
		value = "LOWER(" + value + ")"
	}
	return value
}

func (c *compiler) call(x *filter.Call, js *joins) (*opnd, error) {
	args := make([]string, x.NumArgs())
	for i := range x.NumArgs() {
		a, err := c.operand(x.Arg(i), js)
		if err != nil {
			return nil, err
		}
		if a.multi {
			return nil, errorf("argument %d of %s() must be a single value, not %s", i+1, x.Name(), x.Arg(i))
		}
		args[i] = a.sql
	}
	switch x.Name() {
	case "geoDistance":
		rad := func(s string) string { return "radians(" + s + ")" }
		lonA, latA, lonB, latB := rad(args[0]), rad(args[1]), rad(args[2]), rad(args[3])
		sql := "(6371 * acos(cos(" + latA + ") * cos(" + latB + ") * cos(" + lonB + " - " + lonA + ") + sin(" + latA + ") * sin(" + latB + ")))"
		return &opnd{sql: sql, strict: true}, nil
	case "strftime":
		return &opnd{sql: c.d.Strftime(args)}, nil
	}
	return nil, errorf("unknown function %q", x.Name())
}

func (c *compiler) sortField(f filter.SortField) (string, error) {
	dir := " ASC"
	if f.Desc {
		dir = " DESC"
	}
	switch f.Special {
	case filter.SortRandom:
		return c.d.Random(), nil
	case filter.SortRowID:
		return c.d.RowID(c.table) + dir, nil
	}
	p, err := c.planFor(f.Field)
	if err != nil {
		return "", err
	}
	if p.isConst() || p.multi() {
		return "", errorf("cannot sort by %q", f.Field.Name())
	}
	js := c.newJoins()
	value := c.render(p, js)
	if len(js.clauses) > 0 {
		value = "(SELECT " + value + " FROM " + js.from() + ")"
	}
	return value + dir, nil
}

var _ = fmt.Sprintf
var _ = schema.TypeText
