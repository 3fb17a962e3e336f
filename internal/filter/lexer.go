package filter

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokNumber
	tokText
	tokPlaceholder
	tokOp
	tokAnd
	tokOr
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokenKind
	pos  int    // byte offset of the first character
	end  int    // byte offset after the last character
	text string // identifier name, unquoted text, placeholder name, operator
	num  float64
	op   Op
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of filter"
	case tokText:
		return "text " + quoteText(t.text)
	case tokPlaceholder:
		return "placeholder {:" + t.text + "}"
	case tokNumber:
		return "number " + formatNumber(t.num)
	}
	return strconv.Quote(t.text)
}

// lexer turns filter source into tokens. Whitespace and // comments are
// skipped.
type lexer struct {
	src string
	pos int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isOpChar(c byte) bool {
	return c == '=' || c == '?' || c == '!' || c == '>' || c == '<' || c == '~'
}

func (l *lexer) next() (token, *Error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isSpace(c) {
			l.pos++
			continue
		}
		if c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/' {
			if i := strings.IndexByte(l.src[l.pos:], '\n'); i >= 0 {
				l.pos += i + 1
			} else {
				l.pos = len(l.src)
			}
			continue
		}
		break
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	c := l.src[start]
	tok := token{pos: start}
	switch {
	case isLetter(c) || c == '_' || c == '@' || c == '#':
		l.pos++
		for l.pos < len(l.src) {
			d := l.src[l.pos]
			if !isWord(d) && d != '.' && d != ':' && d != '@' && d != '#' {
				break
			}
			l.pos++
		}
		tok.kind, tok.text = tokIdent, l.src[start:l.pos]
	case isDigit(c) || c == '-':
		l.pos++
		for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		lit := l.src[start:l.pos]
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil || strings.HasSuffix(lit, ".") || lit == "-" {
			return tok, &Error{Pos: start, Msg: "invalid number " + strconv.Quote(lit)}
		}
		tok.kind, tok.num, tok.text = tokNumber, f, lit
	case c == '\'' || c == '"':
		// The only escape is a backslash before the quote character; every
		// other backslash is kept, so LIKE escapes reach the pattern as written.
		var prev byte
		end := -1
		for i := start + 1; i < len(l.src); i++ {
			if l.src[i] == c && prev != '\\' {
				end = i
				break
			}
			prev = l.src[i]
		}
		if end < 0 {
			return tok, &Error{Pos: start, Msg: "unterminated text"}
		}
		l.pos = end + 1
		q := string(c)
		tok.kind, tok.text = tokText, strings.ReplaceAll(l.src[start+1:end], `\`+q, q)
	case c == '{':
		end := strings.IndexByte(l.src[start:], '}')
		if !strings.HasPrefix(l.src[start:], "{:") || end < 0 || !isWordString(l.src[start+2:start+end]) {
			return tok, &Error{Pos: start, Msg: "invalid placeholder, expected {:name}"}
		}
		l.pos = start + end + 1
		tok.kind, tok.text = tokPlaceholder, l.src[start+2:start+end]
	case isOpChar(c):
		for l.pos < len(l.src) && isOpChar(l.src[l.pos]) {
			l.pos++
		}
		tok.text = l.src[start:l.pos]
		op, ok := parseOp(tok.text)
		if !ok {
			return tok, &Error{Pos: start, Msg: "invalid operator " + strconv.Quote(tok.text)}
		}
		tok.kind, tok.op = tokOp, op
	case c == '&' || c == '|':
		for l.pos < len(l.src) && (l.src[l.pos] == '&' || l.src[l.pos] == '|') {
			l.pos++
		}
		tok.text = l.src[start:l.pos]
		switch tok.text {
		case "&&":
			tok.kind = tokAnd
		case "||":
			tok.kind = tokOr
		default:
			return tok, &Error{Pos: start, Msg: "invalid join operator " + strconv.Quote(tok.text) + ", expected && or ||"}
		}
	case c == '(':
		l.pos++
		tok.kind, tok.text = tokLParen, "("
	case c == ')':
		l.pos++
		tok.kind, tok.text = tokRParen, ")"
	case c == ',':
		l.pos++
		tok.kind, tok.text = tokComma, ","
	default:
		r, _ := utf8.DecodeRuneInString(l.src[start:])
		return tok, &Error{Pos: start, Msg: "unexpected character " + strconv.QuoteRune(r)}
	}
	tok.end = l.pos
	return tok, nil
}
