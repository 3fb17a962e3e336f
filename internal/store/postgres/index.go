package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// index is a parsed collection index. Collections carry indexes as SQL text
// in PocketBase's (SQLite's) style:
//
//	CREATE UNIQUE INDEX `idx_email` ON `users` (`email` COLLATE NOCASE) WHERE `email` != ''
//
// The text is never executed. It is parsed by the same small strict grammar
// as the SQLite engine's (this file's parser is a copy of
// internal/store/sqlite/index.go, kept in step with it) and re-emitted for
// PostgreSQL (see sql) with validated names and escaped literals:
//
//	CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (col [COLLATE c] [ASC|DESC], ...)
//	    [WHERE cond {AND|OR cond}]
//	cond = col op literal | col IS [NOT] NULL
//	op = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	literal = 'string' | number | NULL | TRUE | FALSE
//
// SQLite's collations become expressions: NOCASE lower(col) (text columns
// are COLLATE "C", where lower() folds ASCII only, as NOCASE does), RTRIM
// rtrim(col, ' '), BINARY the column itself. A json column, which has no
// btree operators, is indexed and compared as its text.
type index struct {
	name   string
	unique bool
	table  string
	cols   []indexColumn
	where  []string // SQL fragments, already safe, joined with spaces
}

type indexColumn struct {
	name    string
	kind    kind
	collate string // "", NOCASE, BINARY or RTRIM
	desc    bool
	asc     bool
}

// expr returns the indexed expression of c.
func (c indexColumn) expr() string {
	col := quote(c.name)
	if c.kind == kindJSON {
		col = "(" + col + "::text)"
	}
	switch c.collate {
	case "NOCASE":
		if c.kind == kindText || c.kind == kindID || c.kind == kindJSON {
			return "lower(" + col + ")"
		}
	case "RTRIM":
		if c.kind == kindText || c.kind == kindID || c.kind == kindJSON {
			return "rtrim(" + col + ", ' ')"
		}
	}
	return col
}

// sql returns the CREATE INDEX statement for the index on table.
func (ix *index) sql(table string) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if ix.unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	b.WriteString(quote(ix.name))
	b.WriteString(" ON ")
	b.WriteString(quote(table))
	b.WriteString(" (")
	for i, c := range ix.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		e := c.expr()
		if strings.HasSuffix(e, ")") {
			e = "(" + e + ")" // an expression must be parenthesized
		}
		b.WriteString(e)
		if c.desc {
			b.WriteString(" DESC")
		} else if c.asc {
			b.WriteString(" ASC")
		}
	}
	b.WriteString(")")
	if len(ix.where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(ix.where, " "))
	}
	return b.String()
}

// parseIndexes parses a collection's index definitions against its table.
// tableNames are the names the definitions may use for the table (the
// collection's name, and its previous name during a rename). Problems are
// reported as Invalid with Data {"indexes": {"<i>": problem}}.
func parseIndexes(defs []string, t *table, tableNames ...string) ([]*index, error) {
	out := make([]*index, 0, len(defs))
	names := make(map[string]int, len(defs))
	for i, def := range defs {
		ix, err := parseIndex(def, t, tableNames)
		if err == nil {
			if j, dup := names[strings.ToLower(ix.name)]; dup {
				err = fmt.Errorf("index name %s is already used by index %d", quoteMessage(ix.name), j)
			}
		}
		if err != nil {
			return nil, &apperr.Error{
				Code:    apperr.Invalid,
				Message: "Invalid index definition.",
				Data: map[string]any{"indexes": map[string]any{
					strconv.Itoa(i): apperr.Field{Code: "validation_invalid_index_expression", Message: capitalize(err.Error()) + "."},
				}},
			}
		}
		names[strings.ToLower(ix.name)] = i
		out = append(out, ix)
	}
	return out, nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// maxIndexLen bounds the definitions the parser reads.
const maxIndexLen = 4096

// parseIndex parses one index definition. Column names must name columns of
// t (matched case-insensitively, emitted in the field's spelling).
func parseIndex(def string, t *table, tableNames []string) (*index, error) {
	if len(def) > maxIndexLen {
		return nil, fmt.Errorf("index definition is too long")
	}
	toks, err := lexIndex(def)
	if err != nil {
		return nil, err
	}
	p := &indexParser{toks: toks, t: t}
	ix, err := p.parse()
	if err != nil {
		return nil, err
	}
	okTable := false
	for _, n := range tableNames {
		if strings.EqualFold(ix.table, n) {
			okTable = true
		}
	}
	if !okTable {
		return nil, fmt.Errorf("index %s is on table %s, not on this collection", quoteMessage(ix.name), quoteMessage(ix.table))
	}
	return ix, nil
}

type tokKind int

const (
	tokEOF    tokKind = iota
	tokWord           // bare word: keyword or identifier
	tokIdent          // quoted identifier
	tokString         // 'literal' (text holds the unescaped value)
	tokNumber
	tokPunct // ( ) , ;
	tokOp    // comparison operator
)

type token struct {
	kind tokKind
	text string
}

func lexIndex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '`' || c == '"' || c == '[':
			end := byte(c)
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(s[i+1:], end)
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted name")
			}
			name := s[i+1 : i+1+j]
			if !validIdent(name) {
				return nil, fmt.Errorf("invalid name %s", quoteMessage(name))
			}
			toks = append(toks, token{tokIdent, name})
			i += j + 2
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string literal")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			lit := b.String()
			if strings.IndexByte(lit, 0) >= 0 || !utf8.ValidString(lit) {
				return nil, fmt.Errorf("invalid characters in a string literal")
			}
			toks = append(toks, token{tokString, lit})
			i = j + 1
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || 'a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z' || '0' <= s[j] && s[j] <= '9') {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j]})
			i = j
		case '0' <= c && c <= '9' || c == '-' || c == '.':
			j := i
			if c == '-' {
				j++
			}
			for j < len(s) && ('0' <= s[j] && s[j] <= '9' || s[j] == '.') {
				j++
			}
			num := s[i:j]
			if _, err := strconv.ParseFloat(num, 64); err != nil || strings.Count(num, ".") > 1 {
				return nil, fmt.Errorf("invalid number %s", quoteMessage(num))
			}
			toks = append(toks, token{tokNumber, num})
			i = j
		case c == '(' || c == ')' || c == ',' || c == ';':
			toks = append(toks, token{tokPunct, string(c)})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) {
				two := s[i : i+2]
				switch two {
				case "==", "!=", "<>", "<=", ">=":
					op = two
				}
			}
			if op == "!" {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			toks = append(toks, token{tokOp, op})
			i += len(op)
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return append(toks, token{kind: tokEOF}), nil
}

type indexParser struct {
	toks []token
	pos  int
	t    *table
}

func (p *indexParser) peek() token { return p.toks[p.pos] }

func (p *indexParser) next() token {
	tok := p.toks[p.pos]
	if tok.kind != tokEOF {
		p.pos++
	}
	return tok
}

// keyword consumes the bare word kw (case-insensitive) if it is next.
func (p *indexParser) keyword(kw string) bool {
	if tok := p.peek(); tok.kind == tokWord && strings.EqualFold(tok.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *indexParser) expectKeyword(kw string) error {
	if !p.keyword(kw) {
		return fmt.Errorf("expected %s, found %s", kw, describe(p.peek()))
	}
	return nil
}

func (p *indexParser) punct(s string) bool {
	if tok := p.peek(); tok.kind == tokPunct && tok.text == s {
		p.pos++
		return true
	}
	return false
}

func describe(tok token) string {
	switch tok.kind {
	case tokEOF:
		return "the end"
	case tokString:
		return "a string"
	}
	return quoteMessage(tok.text)
}

// name consumes an identifier, bare or quoted.
func (p *indexParser) name(what string) (string, error) {
	tok := p.next()
	if (tok.kind == tokWord || tok.kind == tokIdent) && validIdent(tok.text) {
		return tok.text, nil
	}
	return "", fmt.Errorf("expected %s name, found %s", what, describe(tok))
}

// columnName consumes a column name and resolves it against the table.
func (p *indexParser) columnName() (string, error) {
	c, err := p.column()
	if err != nil {
		return "", err
	}
	return c.name, nil
}

// column consumes a column name and returns the table's column.
func (p *indexParser) column() (*column, error) {
	n, err := p.name("column")
	if err != nil {
		return nil, err
	}
	for i := range p.t.cols {
		if strings.EqualFold(p.t.cols[i].name, n) {
			return &p.t.cols[i], nil
		}
	}
	return nil, fmt.Errorf("unknown column %s", quoteMessage(n))
}

func (p *indexParser) parse() (*index, error) {
	ix := &index{}
	if err := p.expectKeyword("CREATE"); err != nil {
		return nil, err
	}
	ix.unique = p.keyword("UNIQUE")
	if err := p.expectKeyword("INDEX"); err != nil {
		return nil, err
	}
	if p.keyword("IF") {
		if err := p.expectKeyword("NOT"); err != nil {
			return nil, err
		}
		if err := p.expectKeyword("EXISTS"); err != nil {
			return nil, err
		}
	}
	var err error
	if ix.name, err = p.name("index"); err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.ToLower(ix.name), "sqlite_") {
		return nil, fmt.Errorf("index names starting with sqlite_ are reserved")
	}
	if err := p.expectKeyword("ON"); err != nil {
		return nil, err
	}
	if ix.table, err = p.name("table"); err != nil {
		return nil, err
	}
	if !p.punct("(") {
		return nil, fmt.Errorf("expected ( after the table name, found %s", describe(p.peek()))
	}
	for {
		var col indexColumn
		c, err := p.column()
		if err != nil {
			return nil, err
		}
		col.name, col.kind = c.name, c.kind
		if p.keyword("COLLATE") {
			tok := p.next()
			if tok.kind != tokWord && tok.kind != tokIdent {
				return nil, fmt.Errorf("expected a collation, found %s", describe(tok))
			}
			switch c := strings.ToUpper(tok.text); c {
			case "NOCASE", "BINARY", "RTRIM":
				col.collate = c
			default:
				return nil, fmt.Errorf("unsupported collation %s", quoteMessage(tok.text))
			}
		}
		if p.keyword("DESC") {
			col.desc = true
		} else if p.keyword("ASC") {
			col.asc = true
		}
		ix.cols = append(ix.cols, col)
		if p.punct(")") {
			break
		}
		if !p.punct(",") {
			return nil, fmt.Errorf("expected , or ) in the column list, found %s", describe(p.peek()))
		}
	}
	if p.keyword("WHERE") {
		if ix.where, err = p.where(); err != nil {
			return nil, err
		}
	}
	p.punct(";")
	if tok := p.peek(); tok.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %s after the index definition", describe(tok))
	}
	return ix, nil
}

// where parses the partial-index condition into safe SQL fragments. SQLite
// compares a literal with a column after converting it to the column's
// affinity; PostgreSQL does not, so literals are converted here: numbers
// compared with text become strings, 0 and 1 compared with a bool become
// FALSE and TRUE, and a json column is compared as its text.
func (p *indexParser) where() ([]string, error) {
	var out []string
	for {
		c, err := p.column()
		if err != nil {
			return nil, err
		}
		col := quote(c.name)
		if c.kind == kindJSON {
			col = "(" + col + "::text)"
		}
		out = append(out, col)
		if p.keyword("IS") {
			out = append(out, "IS")
			if p.keyword("NOT") {
				out = append(out, "NOT")
			}
			if err := p.expectKeyword("NULL"); err != nil {
				return nil, err
			}
			out = append(out, "NULL")
		} else {
			op := p.next()
			if op.kind != tokOp {
				return nil, fmt.Errorf("expected a comparison after %s, found %s", quoteMessage(c.name), describe(op))
			}
			sqlOp := op.text
			if sqlOp == "==" {
				sqlOp = "="
			}
			out = append(out, sqlOp)
			lit, err := p.literal(c.kind)
			if err != nil {
				return nil, err
			}
			out = append(out, lit)
		}
		switch {
		case p.keyword("AND"):
			out = append(out, "AND")
		case p.keyword("OR"):
			out = append(out, "OR")
		default:
			return out, nil
		}
	}
}

// literal consumes a literal and returns it as safe SQL text of a type
// comparable with a column of kind k.
func (p *indexParser) literal(k kind) (string, error) {
	tok := p.next()
	switch tok.kind {
	case tokString:
		return sqlString(tok.text), nil
	case tokNumber:
		switch k {
		case kindText, kindID, kindJSON, kindMulti:
			return sqlString(tok.text), nil
		case kindBool:
			switch tok.text {
			case "0":
				return "FALSE", nil
			case "1":
				return "TRUE", nil
			}
			return "", fmt.Errorf("expected a boolean value, found %s", quoteMessage(tok.text))
		}
		return tok.text, nil
	case tokWord:
		switch w := strings.ToUpper(tok.text); w {
		case "NULL", "TRUE", "FALSE":
			return w, nil
		}
	}
	return "", fmt.Errorf("expected a literal value, found %s", describe(tok))
}

// sqlString returns s as an escape string literal (E'…'), which reads the
// same whatever standard_conforming_strings says. The lexer has refused NUL
// bytes and invalid UTF-8.
func sqlString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
