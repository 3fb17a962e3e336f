package sqlfilter

import (
	"encoding/json"
	"fmt"
	"slices"
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

// Input is what Compile compiles: trusted conditions, and a client's filter
// and sort, which are held to what the client may read.
type Input struct {
	// Trusted is a condition the server or an admin wrote (collection rules,
	// internal lookups), nil for none. It may read every field.
	Trusted filter.Expr
	// Client is the client's filter, nil for none. Unless the Source allows
	// hidden fields (superusers), it may not read them, and a comparison
	// with the email of an auth record, at the end of any path from the
	// filtered record, only matches records whose emailVisibility is true
	// (PocketBase wraps it as `(comparison AND alias.emailVisibility =
	// TRUE)`).
	Client filter.Expr
	// Sort is the client's sort. Unless the Source allows hidden fields, it
	// may not use them (emails of auth records are sortable).
	Sort []filter.SortField
}

// Compile compiles in for src's collection. Trusted and Client are ANDed into
// one condition whose relation paths share joins, as the rule and the user's
// filter of a PocketBase list request do. Unknown fields, hidden fields the
// client may not read and other schema mismatches are *Error values; the
// caller reports them as an invalid request.
func Compile(d Dialect, src *Source, opts Options, in Input) (*Query, error) {
	if src.Collection == nil {
		return nil, errorf("missing collection")
	}
	c := &compiler{d: d, src: src, env: opts.Env, plans: map[string]*plan{}}
	_, c.strict = d.(strictDialect)
	if c.env.Now.IsZero() {
		c.env.Now = time.Now()
	}
	c.table = opts.Table
	if c.table == "" {
		c.table = d.Quote(src.Collection.Name)
	}
	q := &Query{}
	if in.Trusted != nil || in.Client != nil {
		js := c.newJoins()
		var conds []string
		for _, part := range []struct {
			e      filter.Expr
			client bool
		}{{in.Trusted, false}, {in.Client, true}} {
			if part.e == nil {
				continue
			}
			c.client = part.client
			cond, err := c.expr(part.e, js)
			if err != nil {
				return nil, err
			}
			conds = append(conds, cond)
		}
		cond := conds[0]
		if len(conds) > 1 {
			cond = "(" + strings.Join(conds, " AND ") + ")"
		}
		q.Where = js.wrap(cond)
	}
	c.client = true
	var order []string
	for _, f := range in.Sort {
		s, err := c.sortField(f)
		if err != nil {
			return nil, err
		}
		order = append(order, s)
	}
	q.OrderBy = strings.Join(order, ", ")
	if c.err != nil {
		return nil, c.err
	}
	c.finish(q, c.args)
	return q, nil
}

type compiler struct {
	d      Dialect
	src    *Source
	env    filter.Env
	table  string
	args   []any
	plans  map[string]*plan // by identifier, "\x00"-prefixed for client input
	nAlias int
	client bool // compiling client input (see Input)
	strict bool // the dialect is a strictDialect: operands carry a tval
	// err is the first text a strict dialect cannot take (checkText).
	err error
}

// arg binds v and returns a marker for it; finish turns the markers into the
// dialect's placeholders, numbered in order of use, and drops values that
// ended up unused.
func (c *compiler) arg(v any) string {
	if c.strict {
		c.checkText(v)
	}
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
	// guards are conditions a comparison with the operand must meet as well
	// (the visibility of a private email).
	guards []string
	// tv describes the value for a strict dialect.
	tv tval
}

// leaf is a rendered value: its SQL, and its description for a strict
// dialect.
type leaf struct {
	sql string
	tv  tval
}

func (o *opnd) leaf() leaf { return leaf{sql: o.sql, tv: o.tv} }

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
	cond := c.compare(op, l, l.leaf(), r, r.leaf())
	if !cmp.Op().Any() && (l.multi || r.multi) {
		// Plain operator on a multi value: besides the correlated match
		// above, no item (pair) may compare false, whatever the other joins
		// hold. The two sides are joined independently: every item of one
		// side is paired with every item of the other.
		fresh, freshRight := c.newJoins(), c.newJoins()
		ls, rs := l.leaf(), r.leaf()
		if l.multi {
			ls, _ = c.renderLeaf(l.plan, fresh)
		}
		if r.multi {
			rs, _ = c.renderLeaf(r.plan, freshRight)
		}
		fresh.clauses = append(fresh.clauses, freshRight.clauses...)
		all := "NOT EXISTS (SELECT 1 FROM " + fresh.from() + " WHERE NOT " + c.compare(op, l, ls, r, rs) + ")"
		cond = "(" + cond + " AND " + all + ")"
	}
	// Guards hold for the correlated rows only, as in PocketBase: the "no
	// item compares false" check above looks at every item.
	if guards := mergeGuards(l.guards, r.guards); len(guards) > 0 {
		cond = "(" + cond + " AND " + strings.Join(guards, " AND ") + ")"
	}
	return cond, nil
}

// mergeGuards returns the guards of a and b, each once.
func mergeGuards(a, b []string) []string {
	out := slices.Clone(a)
	for _, g := range b {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// compare renders `l op r` with the semantics of the in-memory evaluator.
func (c *compiler) compare(op filter.Op, l *opnd, lv leaf, r *opnd, rv leaf) string {
	if c.strict {
		switch op {
		case filter.OpEq, filter.OpNeq:
			return c.tequality(op == filter.OpEq, l, lv.tv, r, rv.tv)
		case filter.OpLike, filter.OpNotLike:
			return c.tlike(op == filter.OpNotLike, lv.tv, r, rv.tv)
		}
		return c.tcmp(op, lv.tv, l.aff, rv.tv, r.aff)
	}
	ls, rs := lv.sql, rv.sql
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
	o := c.literalSQL(l)
	if c.strict {
		switch l.Kind() {
		case filter.LiteralNull, filter.LiteralBool:
			o.tv = tinline(o.sql)
		case filter.LiteralNumber:
			o.tv = c.tconst(filter.Real(l.Number()))
		default:
			o.tv = c.tconst(filter.Text(l.Text()))
		}
	}
	return o
}

func (c *compiler) literalSQL(l *filter.Literal) *opnd {
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
	o := c.constantSQL(s)
	if c.strict {
		o.tv = c.tconst(s)
	}
	return o
}

func (c *compiler) constantSQL(s filter.Scalar) *opnd {
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
	key := id.Name()
	if c.client {
		key = "\x00" + key
	}
	if p, ok := c.plans[key]; ok {
		return p, nil
	}
	p, err := planOf(c.src, id, c.client)
	if err != nil {
		return nil, err
	}
	c.plans[key] = p
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
		value, row := c.renderLeaf(p, js)
		o := &opnd{sql: value.sql, tv: value.tv, plan: p, multi: p.multi(), aff: p.affinity(), strict: p.strict()}
		if p.private {
			o.guards = []string{c.visible(p, row)}
		}
		return o, nil
	case *filter.Call:
		return c.call(x, js)
	}
	return nil, errorf("unsupported operand %T", o)
}

// visible is the guard of a private email read from row: the row's
// emailVisibility is true.
func (c *compiler) visible(p *plan, row string) string {
	if p.visibility == nil {
		return "(1=0)"
	}
	return row + "." + c.d.Quote(p.visibility.Name) + " = TRUE"
}

// eachJoin is a LEFT JOIN of the items of the JSON array expr.
func (c *compiler) eachJoin(expr, alias string) string {
	if c.strict {
		// PostgreSQL needs a join condition.
		return "LEFT JOIN " + c.d.JSONEach(expr) + " AS " + alias + " ON TRUE"
	}
	return "LEFT JOIN " + c.d.JSONEach(expr) + " AS " + alias
}

// renderLeaf registers the joins of p in js and returns its value (SQL, or
// for a strict dialect its description) and the alias of the row it is read
// from.
func (c *compiler) renderLeaf(p *plan, js *joins) (leaf, string) {
	q := c.d.Quote
	prev := c.table
	var value string
	var tv tval
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
				return c.eachJoin(from+"."+col, a)
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
				return c.eachJoin(from+"."+col, a)
			})
			value = je + `."value"`
			tv = tval{txt: value}
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
				if c.strict {
					for _, it := range s.items {
						c.checkText(it)
					}
					return c.eachJoin("CAST("+c.arg(string(raw))+" AS jsonb)", a)
				}
				return c.eachJoin(c.arg(string(raw)), a)
			})
			value = je + `."value"`
			tv = tval{txt: value}
		}
	}
	if c.strict {
		if p.kind != valEach {
			tv = c.tcolumn(p, prev+"."+q(p.field.Name))
		}
		if p.lower {
			tv = c.tlower(tv)
		}
		return leaf{tv: tv}, prev
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
	return leaf{sql: value}, prev
}

// call compiles a function call. The guards of its arguments become its own:
// a private email stays private inside a function.
func (c *compiler) call(x *filter.Call, js *joins) (*opnd, error) {
	args := make([]string, x.NumArgs())
	targs := make([]tval, x.NumArgs())
	var guards []string
	for i := range x.NumArgs() {
		a, err := c.operand(x.Arg(i), js)
		if err != nil {
			return nil, err
		}
		if a.multi {
			return nil, errorf("argument %d of %s() must be a single value, not %s", i+1, x.Name(), x.Arg(i))
		}
		args[i], targs[i] = a.sql, a.tv
		guards = mergeGuards(guards, a.guards)
	}
	if c.strict {
		switch x.Name() {
		case "geoDistance":
			return &opnd{tv: c.tgeoDistance(targs), strict: true, guards: guards}, nil
		case "strftime":
			return &opnd{tv: c.tstrftime(x, targs[1]), guards: guards}, nil
		}
		return nil, errorf("unknown function %q", x.Name())
	}
	switch x.Name() {
	case "geoDistance":
		rad := func(s string) string { return "radians(" + s + ")" }
		lonA, latA, lonB, latB := rad(args[0]), rad(args[1]), rad(args[2]), rad(args[3])
		sql := "(6371 * acos(cos(" + latA + ") * cos(" + latB + ") * cos(" + lonB + " - " + lonA + ") + sin(" + latA + ") * sin(" + latB + ")))"
		return &opnd{sql: sql, strict: true, guards: guards}, nil
	case "strftime":
		return &opnd{sql: c.d.Strftime(args), guards: guards}, nil
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
	v, _ := c.renderLeaf(p, js)
	wrap := func(value string) string {
		if len(js.clauses) > 0 {
			return "(SELECT " + value + " FROM " + js.from() + ")"
		}
		return value
	}
	if c.strict {
		return sortKeys(v.tv, f.Desc, wrap), nil
	}
	return wrap(v.sql) + dir, nil
}

var _ = fmt.Sprintf
var _ = schema.TypeText
