package sqlfilter

import (
	"strings"

	"github.com/basalt-dev/basalt/internal/filter"
)

// Strict typing.
//
// The filter language has SQLite's semantics (the in-memory evaluator models
// them): values are dynamically typed, a column's affinity converts the
// other side of a comparison, numbers sort before text, text compares
// bytewise, NULL makes a comparison NULL. A strictly typed engine
// (PostgreSQL) has none of this, so for a strict Dialect the compiler gives
// every operand a static description (a tval) and spells each rule out in
// SQL. Most operands have one static type (a number column, a text
// parameter), and the SQL stays a plain comparison; only values read from
// JSON documents are dynamic: they carry a number part and a text part, at
// most one of them non-NULL at run time.

// tval is an operand of a strict dialect. num is a double precision
// expression that holds the value when it is a number, txt a text expression
// that holds it when it is text; "" means the value is never of that type
// (both "" is the constant NULL). At run time at most one of them is
// non-NULL, and both NULL is SQL NULL.
type tval struct {
	num, txt string
	// style says how SQLite renders the number as text.
	style numStyle
	// ntxt, when set, is a text expression of SQLite's text of the number
	// (JSON numbers keep the spelling of the document).
	ntxt string
	// cst is the value when it is known before the query runs.
	cst *filter.Scalar
}

// numStyle is the SQLite storage class of a number, which decides its text.
type numStyle uint8

const (
	styleReal   numStyle = iota // REAL: 10.0
	styleInt                    // INTEGER: 10
	styleColumn                 // a NUMERIC column: integral values are INTEGERs
)

// strictDialect is implemented by dialects of strictly typed engines.
type strictDialect interface {
	Dialect
	// Strict is a marker: the engine needs explicit types (see tval).
	Strict()
}

const (
	sqlNullBool = "CAST(NULL AS boolean)"
	collateC    = ` COLLATE "C"`
	// numericPattern matches the text that SQLite's NUMERIC affinity turns
	// into a number (filter's sqlNumber).
	numericPattern = `'^[ \t\n\v\f\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\v\f\r]*$'`
)

func (t tval) isNullConst() bool { return t.num == "" && t.txt == "" }

// notNull reports whether t is a constant other than NULL.
func (t tval) notNull() bool { return t.cst != nil && !t.cst.IsNull() }

// isNull is a condition that holds when t is NULL.
func (t tval) isNull() string {
	switch {
	case t.isNullConst():
		return "TRUE"
	case t.notNull():
		return "FALSE"
	case t.txt == "":
		return "(" + t.num + " IS NULL)"
	case t.num == "":
		return "(" + t.txt + " IS NULL)"
	}
	return "(" + t.num + " IS NULL AND " + t.txt + " IS NULL)"
}

// tconst describes a value known before the query runs, bound as a
// parameter.
func (c *compiler) tconst(s filter.Scalar) tval {
	t := tval{cst: &s}
	switch s.Kind() {
	case filter.KindInt:
		t.num, t.style = "CAST("+c.arg(float64(s.Int()))+" AS double precision)", styleInt
		t.ntxt = "CAST(" + c.arg(filter.SQLText(s)) + " AS text)"
	case filter.KindReal:
		t.num, t.style = "CAST("+c.arg(s.Real())+" AS double precision)", styleReal
		t.ntxt = "CAST(" + c.arg(filter.SQLText(s)) + " AS text)"
	case filter.KindText:
		t.txt = "CAST(" + c.arg(s.Text()) + " AS text)"
	}
	return t
}

// tinline describes the inlined constants of literals: NULL, 1 (true), 0
// (false).
func tinline(sql string) tval {
	switch sql {
	case "1", "0":
		s := filter.Int(int64(sql[0] - '0'))
		return tval{num: "CAST(" + sql + " AS double precision)", style: styleInt, ntxt: "'" + sql + "'", cst: &s}
	}
	s := filter.Null
	return tval{cst: &s}
}

// numText is a text expression of SQLite's text of the number part of t.
func numText(t tval) string {
	if t.ntxt != "" {
		return t.ntxt
	}
	n := t.num
	intText := "CAST(CAST(" + n + " AS bigint) AS text)"
	// PostgreSQL prints the shortest exact form ("10", "1e-05", "10.5");
	// SQLite prints REALs with a decimal point ("10.0", "1.0e-05").
	realText := "replace(regexp_replace(CAST(" + n + ` AS text), '^(-?[0-9]+)(e.*)?$', '\1.0\2'), 'Infinity', 'Inf')`
	switch t.style {
	case styleInt:
		return intText
	case styleColumn:
		return "(CASE WHEN " + n + " = trunc(" + n + ") AND abs(" + n + ") < 9223372036854775808 THEN " + intText + " ELSE " + realText + " END)"
	}
	return realText
}

// textOf is a text expression of t converted to text as SQLite does (LIKE,
// ||, LOWER), "" for the constant NULL.
func (c *compiler) textOf(t tval) string {
	switch {
	case t.cst != nil && !t.cst.IsNull() && t.txt == "":
		return "CAST(" + c.arg(filter.SQLText(*t.cst)) + " AS text)"
	case t.num == "":
		return t.txt
	case t.txt == "":
		return numText(t)
	}
	return "COALESCE(" + t.txt + ", " + numText(t) + ")"
}

// textValue is t converted by TEXT affinity: numbers become text.
func (c *compiler) textValue(t tval) tval {
	if t.num == "" {
		return t
	}
	if t.cst != nil {
		s := filter.Text(filter.SQLText(*t.cst))
		return c.tconst(s)
	}
	return tval{txt: c.textOf(t)}
}

// numericValue is t converted by NUMERIC affinity: text that looks like a
// number becomes that number.
func (c *compiler) numericValue(t tval) tval {
	if t.txt == "" {
		return t
	}
	if t.cst != nil {
		if n, ok := sqlNumber(t.cst.Text()); ok {
			return c.tconst(n)
		}
		return t
	}
	isNum := "(" + t.txt + " ~ " + numericPattern + ")"
	conv := "CASE WHEN " + isNum + " THEN " + safeDouble(t.txt) + " END"
	num := "(" + conv + ")"
	if t.num != "" {
		num = "COALESCE(" + t.num + ", " + conv + ")"
	}
	// The number's text is never needed: affinity applies to one comparison.
	return tval{num: num, txt: "(CASE WHEN NOT " + isNum + " THEN " + t.txt + " END)", style: styleReal}
}

// tAffinities applies SQLite's comparison affinity rules to a and b.
func (c *compiler) tAffinities(a tval, aa filter.Affinity, b tval, ba filter.Affinity) (tval, tval) {
	switch {
	case aa == filter.AffinityNumeric && ba != filter.AffinityNumeric:
		b = c.numericValue(b)
	case ba == filter.AffinityNumeric && aa != filter.AffinityNumeric:
		a = c.numericValue(a)
	case aa == filter.AffinityText && ba == filter.AffinityNone:
		b = c.textValue(b)
	case ba == filter.AffinityText && aa == filter.AffinityNone:
		a = c.textValue(a)
	}
	return a, b
}

// orderResult is the truth of `x op y` when x sorts before (order < 0) or
// after y.
func orderResult(op filter.Op, order int) bool {
	switch op {
	case filter.OpEq:
		return order == 0
	case filter.OpNeq:
		return order != 0
	case filter.OpGt:
		return order > 0
	case filter.OpGte:
		return order >= 0
	case filter.OpLt:
		return order < 0
	}
	return order <= 0
}

func sqlBool(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// tcmp is `a op b` (op one of = != < <= > >=) with SQLite's affinities and
// ordering: NULL when either side is NULL, numbers before text, text
// bytewise.
func (c *compiler) tcmp(op filter.Op, a tval, aa filter.Affinity, b tval, ba filter.Affinity) string {
	a, b = c.tAffinities(a, aa, b, ba)
	if a.isNullConst() || b.isNullConst() {
		return sqlNullBool
	}
	sqlOp := " " + op.String() + " "
	if op == filter.OpNeq {
		sqlOp = " <> "
	}
	type when struct{ cond, then string }
	var whens []when
	nn := func(x string) string { return x + " IS NOT NULL" }
	if a.num != "" && b.num != "" {
		whens = append(whens, when{nn(a.num) + " AND " + nn(b.num), "(" + a.num + sqlOp + b.num + ")"})
	}
	if a.txt != "" && b.txt != "" {
		whens = append(whens, when{nn(a.txt) + " AND " + nn(b.txt), "(" + a.txt + collateC + sqlOp + b.txt + ")"})
	}
	if a.num != "" && b.txt != "" {
		whens = append(whens, when{nn(a.num) + " AND " + nn(b.txt), sqlBool(orderResult(op, -1))})
	}
	if a.txt != "" && b.num != "" {
		whens = append(whens, when{nn(a.txt) + " AND " + nn(b.num), sqlBool(orderResult(op, 1))})
	}
	if len(whens) == 1 && (a.num == "" || a.txt == "") && (b.num == "" || b.txt == "") {
		w := whens[0]
		if !strings.HasPrefix(w.then, "(") {
			// Mixed types: a constant truth, NULL if a side is NULL.
			if a.notNull() && b.notNull() {
				return w.then
			}
			return "(CASE WHEN " + w.cond + " THEN " + w.then + " END)"
		}
		return w.then
	}
	var sb strings.Builder
	sb.WriteString("(CASE")
	for _, w := range whens {
		sb.WriteString(" WHEN " + w.cond + " THEN " + w.then)
	}
	sb.WriteString(" END)")
	return sb.String()
}

// tis is `a IS b` (or IS NOT): like = but NULL IS NULL, never NULL.
func (c *compiler) tis(eq bool, a tval, aa filter.Affinity, b tval, ba filter.Affinity) string {
	var is string
	switch {
	case a.isNullConst() && b.isNullConst():
		is = "TRUE"
	case a.isNullConst():
		is = b.isNull()
	case b.isNullConst():
		is = a.isNull()
	case a.notNull() || b.notNull():
		is = "COALESCE(" + c.tcmp(filter.OpEq, a, aa, b, ba) + ", FALSE)"
	default:
		is = "COALESCE(" + c.tcmp(filter.OpEq, a, aa, b, ba) + ", " + a.isNull() + " AND " + b.isNull() + ")"
	}
	if eq {
		return "(" + is + ")"
	}
	return "(NOT " + is + ")"
}

// coalesceEmpty is COALESCE(t, the empty text): NULL becomes empty text.
func (c *compiler) coalesceEmpty(t tval) tval {
	switch {
	case t.isNullConst():
		return c.tconst(filter.Text(""))
	case t.notNull():
		return t
	case t.num == "":
		return tval{txt: "COALESCE(" + t.txt + ", '')"}
	case t.txt == "":
		return tval{num: t.num, style: t.style, ntxt: t.ntxt, txt: "(CASE WHEN " + t.num + " IS NULL THEN '' END)"}
	}
	return tval{num: t.num, style: t.style, ntxt: t.ntxt, txt: "(CASE WHEN " + t.num + " IS NULL THEN COALESCE(" + t.txt + ", '') END)"}
}

// tequality is compiler.equality for a strict dialect.
func (c *compiler) tequality(eq bool, l *opnd, lt tval, r *opnd, rt tval) string {
	la, ra := l.aff, r.aff
	if l.strict || r.strict {
		return c.tis(eq, lt, la, rt, ra)
	}
	lc, rc := l.class, r.class
	if l.multi {
		lc = filter.ClassDynamic
	}
	if r.multi {
		rc = filter.ClassDynamic
	}
	empty := func() tval { return c.tconst(filter.Text("")) }
	switch {
	case lc == filter.ClassEmpty && rc == filter.ClassEmpty:
		return "(" + sqlBool(eq) + ")"
	case lc == filter.ClassKnown || rc == filter.ClassKnown:
		if lc == filter.ClassEmpty {
			lt, la = empty(), filter.AffinityNone
		}
		if rc == filter.ClassEmpty {
			rt, ra = empty(), filter.AffinityNone
		}
		if eq {
			return c.tcmp(filter.OpEq, lt, la, rt, ra)
		}
		return c.tis(false, lt, la, rt, ra)
	case lc == filter.ClassEmpty:
		return c.emptyCheck(eq, rt, ra)
	case rc == filter.ClassEmpty:
		return c.emptyCheck(eq, lt, la)
	}
	a, b := c.coalesceEmpty(lt), c.coalesceEmpty(rt)
	if eq {
		return c.tcmp(filter.OpEq, a, filter.AffinityNone, b, filter.AffinityNone)
	}
	return c.tcmp(filter.OpNeq, a, filter.AffinityNone, b, filter.AffinityNone)
}

// emptyCheck is x = (empty text) OR x IS NULL, or its negation for !=.
func (c *compiler) emptyCheck(eq bool, x tval, xa filter.Affinity) string {
	if x.isNullConst() {
		return "(" + sqlBool(eq) + ")"
	}
	isEmpty := "(" + c.tis(true, x, xa, c.tconst(filter.Text("")), filter.AffinityNone) + " OR " + x.isNull() + ")"
	if eq {
		return isEmpty
	}
	return "(NOT " + isEmpty + ")"
}

// tlike is `l [NOT] LIKE pattern ESCAPE '\'` for a strict dialect.
func (c *compiler) tlike(not bool, lt tval, r *opnd, rt tval) string {
	text := c.textOf(lt)
	if text == "" {
		return sqlNullBool
	}
	switch {
	case r.param:
		pattern := filter.LikePattern(r.likeText)
		if loneEscape(pattern) {
			// SQLite: matches nothing; PostgreSQL would raise an error.
			return "(CASE WHEN " + text + " IS NOT NULL THEN " + sqlBool(not) + " END)"
		}
		return "(" + c.d.Like(text, "CAST("+c.arg(pattern)+" AS text)", not) + ")"
	case rt.isNullConst():
		return sqlNullBool
	}
	// '%' || r || '%' never ends in a lone escape character.
	return "(" + c.d.Like(text, "('%' || "+c.textOf(rt)+" || '%')", not) + ")"
}

// loneEscape reports whether a LIKE pattern ends in an escape character
// that escapes nothing.
func loneEscape(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			if i == len(p)-1 {
				return true
			}
			i++
		}
	}
	return false
}

// tlower is LOWER(t): ASCII case folding of t's text.
func (c *compiler) tlower(t tval) tval {
	text := c.textOf(t)
	if text == "" {
		return t
	}
	return tval{txt: "lower(" + text + collateC + ")"}
}

// tnumber is t converted to a number for a math function (NULL if it is
// not numeric).
func (c *compiler) tnumber(t tval) string {
	n := c.numericValue(t)
	if n.num == "" {
		return "CAST(NULL AS double precision)"
	}
	return n.num
}

// sortKeys are ORDER BY terms that sort t as SQLite does: NULL first, then
// numbers, then text bytewise. wrap puts each term in the join subquery.
func sortKeys(t tval, desc bool, wrap func(string) string) string {
	dir := " ASC NULLS FIRST"
	if desc {
		dir = " DESC NULLS LAST"
	}
	switch {
	case t.isNullConst():
		return wrap("NULL") + dir
	case t.txt == "":
		return wrap(t.num) + dir
	case t.num == "":
		return wrap(t.txt+collateC) + dir
	}
	rank := "(CASE WHEN " + t.num + " IS NOT NULL THEN 1 WHEN " + t.txt + " IS NOT NULL THEN 2 ELSE 0 END)"
	return wrap(rank) + dir + ", " + wrap(t.num) + dir + ", " + wrap(t.txt+collateC) + dir
}
