package filter

import (
	"strconv"
	"strings"
)

// Parse parses a filter expression into an AST.
//
// The grammar is PocketBase's: comparisons `operand op operand` joined with
// && and || (&& binds tighter, both left-associative), grouped with
// parentheses. An operand is an identifier (field path), a number, quoted
// text, null/true/false, an @-macro, a {:name} placeholder, or a function call.
// `// comment` runs to the end of the line.
//
// Errors are *Error values carrying the byte offset of the problem. Parse
// never panics, and its work is bounded by [MaxLength], [MaxComparisons],
// [MaxDepth] and [MaxCallDepth].
func Parse(src string) (Expr, error) {
	if len(src) > MaxLength {
		return nil, &Error{Pos: MaxLength, Msg: "filter is longer than " + strconv.Itoa(MaxLength) + " characters"}
	}
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, &Error{Pos: p.tok.pos, Msg: "empty filter"}
	}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("&&, || or end of filter")
	}
	return e, nil
}

type parser struct {
	lex         lexer
	tok         token
	comparisons int
}

func (p *parser) advance() *Error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) unexpected(want string) *Error {
	return &Error{Pos: p.tok.pos, Msg: "unexpected " + p.tok.describe() + ", expected " + want}
}

func (p *parser) parseOr(depth int) (Expr, *Error) {
	return p.parseJoined(depth, Or)
}

func (p *parser) parseJoined(depth int, op LogicOp) (Expr, *Error) {
	parseItem := func() (Expr, *Error) {
		if op == Or {
			return p.parseJoined(depth, And)
		}
		return p.parsePrimary(depth)
	}
	first, err := parseItem()
	if err != nil {
		return nil, err
	}
	want := tokAnd
	if op == Or {
		want = tokOr
	}
	items := []Expr{first}
	for p.tok.kind == want {
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := parseItem()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return JoinAll(op, items...), nil
}

func (p *parser) parsePrimary(depth int) (Expr, *Error) {
	if p.tok.kind == tokLParen {
		if depth >= MaxDepth {
			return nil, &Error{Pos: p.tok.pos, Msg: "parentheses nested deeper than " + strconv.Itoa(MaxDepth) + " levels"}
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokRParen {
			return nil, &Error{Pos: p.tok.pos, Msg: "empty parentheses"}
		}
		e, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.unexpected("&&, || or )")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return e, nil
	}
	return p.parseComparison()
}

func (p *parser) parseComparison() (Expr, *Error) {
	pos := p.tok.pos
	left, err := p.parseOperand(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOp {
		return nil, p.unexpected("an operator such as =, !=, >, ~ or ?=")
	}
	op := p.tok.op
	if err := p.advance(); err != nil {
		return nil, err
	}
	right, err := p.parseOperand(0)
	if err != nil {
		return nil, err
	}
	p.comparisons++
	if p.comparisons > MaxComparisons {
		return nil, &Error{Pos: pos, Msg: "more than " + strconv.Itoa(MaxComparisons) + " expressions"}
	}
	return &Comparison{left: left, right: right, op: op, pos: pos}, nil
}

func (p *parser) parseOperand(callDepth int) (Operand, *Error) {
	t := p.tok
	switch t.kind {
	case tokNumber:
		return &Literal{kind: LiteralNumber, num: t.num, pos: t.pos}, p.advance()
	case tokText:
		return &Literal{kind: LiteralText, text: t.text, pos: t.pos}, p.advance()
	case tokPlaceholder:
		return &Placeholder{name: t.text, pos: t.pos}, p.advance()
	case tokIdent:
	default:
		return nil, p.unexpected("a field, number, text or function")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokLParen && p.tok.pos == t.end {
		return p.parseCall(t, callDepth+1)
	}
	switch strings.ToLower(t.text) {
	case "null":
		return &Literal{kind: LiteralNull, pos: t.pos}, nil
	case "true":
		return &Literal{kind: LiteralBool, num: 1, pos: t.pos}, nil
	case "false":
		return &Literal{kind: LiteralBool, num: 0, pos: t.pos}, nil
	}
	if isMacroName(t.text) {
		return &Macro{name: t.text, pos: t.pos}, nil
	}
	id, err := newIdentifier(t.text, t.pos)
	if err != nil {
		return nil, err
	}
	return id, nil
}

func (p *parser) parseCall(name token, depth int) (Operand, *Error) {
	if depth > MaxCallDepth {
		return nil, &Error{Pos: name.pos, Msg: "function calls nested deeper than " + strconv.Itoa(MaxCallDepth) + " levels"}
	}
	fn, ok := functions[name.text]
	if !ok {
		return nil, &Error{Pos: name.pos, Msg: "unknown function " + strconv.Quote(name.text)}
	}
	if err := p.advance(); err != nil { // (
		return nil, err
	}
	c := &Call{name: name.text, pos: name.pos}
	if p.tok.kind != tokRParen {
		for {
			arg, err := p.parseOperand(depth)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, arg)
			if p.tok.kind != tokComma {
				break
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	if p.tok.kind != tokRParen {
		return nil, p.unexpected(", or )")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := fn.check(c); err != nil {
		return nil, err
	}
	return c, nil
}
