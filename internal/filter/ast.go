package filter

import (
	"strconv"
	"strings"
)

// Expr is a node of a parsed filter: a [*Comparison] or a [*Logical].
//
// Nodes are immutable once parsed and safe to share between goroutines; a
// parsed filter may be cached and evaluated or compiled concurrently.
type Expr interface {
	// Pos is the byte offset of the node in the source it was parsed from.
	Pos() int
	// String is the canonical source form; parsing it yields an equal AST.
	String() string
	isExpr()
}

// Operand is one side of a comparison or an argument of a function call:
// [*Identifier], [*Literal], [*Macro], [*Placeholder] or [*Call].
type Operand interface {
	// Pos is the byte offset of the operand in the source.
	Pos() int
	// String is the canonical source form of the operand.
	String() string
	isOperand()
}

// LogicOp joins the items of a [Logical].
type LogicOp uint8

// The two logical operators. && binds tighter than ||.
const (
	And LogicOp = iota + 1
	Or
)

// String returns "&&" or "||".
func (o LogicOp) String() string {
	if o == Or {
		return "||"
	}
	return "&&"
}

// Logical is two or more expressions joined by the same operator. Nested
// groups with the same operator are flattened when parsed, so the items of an
// And are never And nodes themselves.
type Logical struct {
	op    LogicOp
	items []Expr
}

// Op returns the operator joining the items.
func (l *Logical) Op() LogicOp { return l.op }

// Len returns the number of items (at least two).
func (l *Logical) Len() int { return len(l.items) }

// At returns the i-th item.
func (l *Logical) At(i int) Expr { return l.items[i] }

// Pos returns the position of the first item.
func (l *Logical) Pos() int { return l.items[0].Pos() }

func (l *Logical) isExpr() {}

// String returns the items joined by the operator; an Or inside an And is
// parenthesised.
func (l *Logical) String() string {
	var b strings.Builder
	for i, it := range l.items {
		if i > 0 {
			b.WriteString(" " + l.op.String() + " ")
		}
		if sub, ok := it.(*Logical); ok && sub.op == Or && l.op == And {
			b.WriteString("(" + sub.String() + ")")
			continue
		}
		b.WriteString(it.String())
	}
	return b.String()
}

// JoinAll combines expressions with op, flattening nested items with the same
// operator. It returns nil for no expressions and the expression itself for
// one. The service uses it to AND a collection rule with a user filter so that
// both share the same relation joins, as in a PocketBase-compatible server.
func JoinAll(op LogicOp, exprs ...Expr) Expr {
	var items []Expr
	for _, e := range exprs {
		if e == nil {
			continue
		}
		if l, ok := e.(*Logical); ok && l.op == op {
			items = append(items, l.items...)
			continue
		}
		items = append(items, e)
	}
	switch len(items) {
	case 0:
		return nil
	case 1:
		return items[0]
	}
	return &Logical{op: op, items: items}
}

// Comparison is `left op right`.
type Comparison struct {
	left, right Operand
	op          Op
	pos         int
}

// Left returns the left operand.
func (c *Comparison) Left() Operand { return c.left }

// Right returns the right operand.
func (c *Comparison) Right() Operand { return c.right }

// Op returns the comparison operator.
func (c *Comparison) Op() Op { return c.op }

// Pos returns the position of the left operand.
func (c *Comparison) Pos() int { return c.pos }

func (c *Comparison) isExpr() {}

// String returns "left op right".
func (c *Comparison) String() string {
	return c.left.String() + " " + c.op.String() + " " + c.right.String()
}

// Op is a comparison operator. Each base operator has an "any" variant
// (prefixed with ?) that matches when at least one item of a multi-valued
// operand matches; the plain operator requires all items to match.
type Op uint8

// Comparison operators.
const (
	OpEq         Op = iota + 1 // =
	OpNeq                      // !=
	OpGt                       // >
	OpGte                      // >=
	OpLt                       // <
	OpLte                      // <=
	OpLike                     // ~
	OpNotLike                  // !~
	OpAnyEq                    // ?=
	OpAnyNeq                   // ?!=
	OpAnyGt                    // ?>
	OpAnyGte                   // ?>=
	OpAnyLt                    // ?<
	OpAnyLte                   // ?<=
	OpAnyLike                  // ?~
	OpAnyNotLike               // ?!~
)

var opText = [...]string{
	OpEq: "=", OpNeq: "!=", OpGt: ">", OpGte: ">=", OpLt: "<", OpLte: "<=", OpLike: "~", OpNotLike: "!~",
	OpAnyEq: "?=", OpAnyNeq: "?!=", OpAnyGt: "?>", OpAnyGte: "?>=", OpAnyLt: "?<", OpAnyLte: "?<=",
	OpAnyLike: "?~", OpAnyNotLike: "?!~",
}

// String returns the operator as written in a filter.
func (o Op) String() string {
	if int(o) < len(opText) && opText[o] != "" {
		return opText[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Any reports whether o is a ?-variant.
func (o Op) Any() bool { return o >= OpAnyEq && o <= OpAnyNotLike }

// Base returns the plain operator of a ?-variant, and o itself otherwise.
func (o Op) Base() Op {
	if o.Any() {
		return o - (OpAnyEq - OpEq)
	}
	return o
}

func parseOp(s string) (Op, bool) {
	for i, t := range opText {
		if t != "" && t == s {
			return Op(i), true
		}
	}
	return 0, false
}

// LiteralKind tells what a [Literal] holds.
type LiteralKind uint8

// Literal kinds.
const (
	LiteralNull   LiteralKind = iota + 1 // null
	LiteralBool                          // true, false
	LiteralNumber                        // 12, -3.5
	LiteralText                          // 'abc', "abc"
)

// Literal is a constant written in the filter. The words null, true and false
// (in any letter case) are always literals in Basalt, even if a collection has
// a field with that name.
type Literal struct {
	kind LiteralKind
	num  float64
	text string
	pos  int
}

// Kind returns what the literal holds.
func (l *Literal) Kind() LiteralKind { return l.kind }

// Number returns the value of a number literal, and 1 or 0 for true or false.
func (l *Literal) Number() float64 { return l.num }

// Text returns the value of a text literal.
func (l *Literal) Text() string { return l.text }

// Pos returns the position of the literal.
func (l *Literal) Pos() int { return l.pos }

func (l *Literal) isOperand() {}

// String returns the literal in canonical form: null, true, false, the
// shortest decimal form of a number, or quoted text.
func (l *Literal) String() string {
	switch l.kind {
	case LiteralNull:
		return "null"
	case LiteralBool:
		if l.num != 0 {
			return "true"
		}
		return "false"
	case LiteralNumber:
		return formatNumber(l.num)
	}
	return quoteText(l.text)
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// quoteText quotes s so that the lexer reads it back unchanged: the only
// escape the filter language knows is a backslash before the closing quote
// character.
func quoteText(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	return q + strings.ReplaceAll(s, q, `\`+q) + q
}

// Macro is one of the @-macros (@now, @todayStart, @year, ...); see [Macro].
type Macro struct {
	name string
	pos  int
}

// Name returns the macro name including the @, e.g. "@now".
func (m *Macro) Name() string { return m.name }

// Pos returns the position of the macro.
func (m *Macro) Pos() int { return m.pos }

// String returns the macro name.
func (m *Macro) String() string { return m.name }

func (m *Macro) isOperand() {}

// Placeholder is a `{:name}` parameter. Placeholders stay in the AST, so one
// parsed filter serves every set of parameters; [Env.Params] supplies their
// values when the filter is evaluated or compiled.
type Placeholder struct {
	name string
	pos  int
}

// Name returns the parameter name without braces and colon.
func (p *Placeholder) Name() string { return p.name }

// Pos returns the position of the placeholder.
func (p *Placeholder) Pos() int { return p.pos }

// String returns "{:name}".
func (p *Placeholder) String() string { return "{:" + p.name + "}" }

func (p *Placeholder) isOperand() {}

// Call is a function call such as geoDistance(lonA, latA, lonB, latB) or
// strftime('%Y', created).
type Call struct {
	name string
	args []Operand
	pos  int
}

// Name returns the function name.
func (c *Call) Name() string { return c.name }

// NumArgs returns the number of arguments.
func (c *Call) NumArgs() int { return len(c.args) }

// Arg returns the i-th argument.
func (c *Call) Arg(i int) Operand { return c.args[i] }

// Pos returns the position of the function name.
func (c *Call) Pos() int { return c.pos }

// String returns "name(arg, ...)".
func (c *Call) String() string {
	var b strings.Builder
	b.WriteString(c.name + "(")
	for i, a := range c.args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteString(")")
	return b.String()
}

func (c *Call) isOperand() {}

// Equal reports whether two expressions have the same structure and values,
// ignoring source positions.
func Equal(a, b Expr) bool {
	switch x := a.(type) {
	case *Logical:
		y, ok := b.(*Logical)
		if !ok || x.op != y.op || len(x.items) != len(y.items) {
			return false
		}
		for i := range x.items {
			if !Equal(x.items[i], y.items[i]) {
				return false
			}
		}
		return true
	case *Comparison:
		y, ok := b.(*Comparison)
		return ok && x.op == y.op && equalOperand(x.left, y.left) && equalOperand(x.right, y.right)
	}
	return a == nil && b == nil
}

func equalOperand(a, b Operand) bool {
	switch x := a.(type) {
	case *Identifier:
		y, ok := b.(*Identifier)
		return ok && x.name == y.name
	case *Literal:
		y, ok := b.(*Literal)
		return ok && x.kind == y.kind && x.num == y.num && x.text == y.text
	case *Macro:
		y, ok := b.(*Macro)
		return ok && x.name == y.name
	case *Placeholder:
		y, ok := b.(*Placeholder)
		return ok && x.name == y.name
	case *Call:
		y, ok := b.(*Call)
		if !ok || x.name != y.name || len(x.args) != len(y.args) {
			return false
		}
		for i := range x.args {
			if !equalOperand(x.args[i], y.args[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// Walk calls fn for every comparison in e, left to right, and stops early if fn
// returns false.
func Walk(e Expr, fn func(*Comparison) bool) bool {
	switch x := e.(type) {
	case *Logical:
		for _, it := range x.items {
			if !Walk(it, fn) {
				return false
			}
		}
	case *Comparison:
		return fn(x)
	}
	return true
}
