package filter

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the storage class of a [Scalar], as in SQLite.
type Kind uint8

// Storage classes. Booleans are integers 0 and 1.
const (
	KindNull Kind = iota
	KindInt
	KindReal
	KindText
)

// Scalar is one SQL value: NULL, a 64-bit integer, a float or text.
type Scalar struct {
	kind Kind
	i    int64
	f    float64
	s    string
}

// Null is the NULL scalar.
var Null = Scalar{}

// Int returns an integer scalar.
func Int(i int64) Scalar { return Scalar{kind: KindInt, i: i} }

// Real returns a floating-point scalar. NaN becomes NULL, as in SQLite.
func Real(f float64) Scalar {
	if math.IsNaN(f) {
		return Null
	}
	return Scalar{kind: KindReal, f: f}
}

// Text returns a text scalar.
func Text(s string) Scalar { return Scalar{kind: KindText, s: s} }

// Bool returns the integer 1 or 0.
func Bool(b bool) Scalar {
	if b {
		return Int(1)
	}
	return Int(0)
}

// Kind returns the storage class.
func (s Scalar) Kind() Kind { return s.kind }

// IsNull reports whether s is NULL.
func (s Scalar) IsNull() bool { return s.kind == KindNull }

// Int returns the value of an integer scalar.
func (s Scalar) Int() int64 { return s.i }

// Real returns the value of a float scalar.
func (s Scalar) Real() float64 { return s.f }

// Text returns the value of a text scalar.
func (s Scalar) Text() string { return s.s }

// Any returns the scalar as nil, int64, float64 or string, e.g. to bind it as
// a SQL parameter.
func (s Scalar) Any() any {
	switch s.kind {
	case KindInt:
		return s.i
	case KindReal:
		return s.f
	case KindText:
		return s.s
	}
	return nil
}

// String returns a debugging form.
func (s Scalar) String() string {
	switch s.kind {
	case KindInt:
		return strconv.FormatInt(s.i, 10)
	case KindReal:
		return sqlRealText(s.f)
	case KindText:
		return strconv.Quote(s.s)
	}
	return "NULL"
}

func (s Scalar) isNumber() bool { return s.kind == KindInt || s.kind == KindReal }

// ScalarOf converts a Go value to a scalar: nil, bools, integers, floats and
// strings map directly; json.Number is parsed; any other value becomes its
// JSON text (or its fmt form if it cannot be encoded).
func ScalarOf(v any) Scalar {
	switch x := v.(type) {
	case nil:
		return Null
	case Scalar:
		return x
	case bool:
		return Bool(x)
	case int:
		return Int(int64(x))
	case int8:
		return Int(int64(x))
	case int16:
		return Int(int64(x))
	case int32:
		return Int(int64(x))
	case int64:
		return Int(x)
	case uint:
		return uintScalar(uint64(x))
	case uint8:
		return Int(int64(x))
	case uint16:
		return Int(int64(x))
	case uint32:
		return Int(int64(x))
	case uint64:
		return uintScalar(x)
	case float32:
		return Real(float64(x))
	case float64:
		return Real(x)
	case string:
		return Text(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return Int(i)
		}
		if f, err := x.Float64(); err == nil {
			return Real(f)
		}
		return Text(x.String())
	case fmt.Stringer:
		return Text(x.String())
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return Text(fmt.Sprint(v))
	}
	return Text(string(raw))
}

func uintScalar(u uint64) Scalar {
	if u > math.MaxInt64 {
		return Real(float64(u))
	}
	return Int(int64(u))
}

// Affinity is the SQLite type affinity of the expression a value came from. It
// decides conversions before a comparison: a value read from a NUMERIC column
// (number and bool fields) turns numeric-looking text on the other side into a
// number; a value read from a TEXT column turns a number on the other side into
// text, but only if that side has no affinity (literals, request data, JSON
// values, function results).
type Affinity uint8

// Affinities.
const (
	AffinityNone Affinity = iota
	AffinityText
	AffinityNumeric
)

// Item is one element of a multi-valued operand.
//
// Rows names the join rows the item was read from, as a PocketBase-compatible
// server joins them: every multi-row join on the path from the record to the
// value (a multi relation, a back-relation, :each, @collection, ...), with the
// index of the row within that join. Items of different operands that share a
// join are correlated: a filter matches only if one choice of row per join
// satisfies it, so `tags.name ?= 'a' && tags.color ?= 'red'` needs one tag that
// is both. A join that yields no rows contributes one NULL row, as a LEFT JOIN
// does; give it the index -1.
//
// A Masked item takes part in the "no item compares false" check of a plain
// operator but never makes a comparison true: the SQL compiler ANDs the
// comparison with a condition on the item's row that does not hold, as it does
// for the email of an auth record whose emailVisibility is off when a client
// filters by it.
type Item struct {
	Scalar
	Rows   []Row
	Masked bool
}

// Row identifies one row of a named join.
type Row struct {
	Join  string // e.g. "tags", "tags.owner.groups", "@collection.users:u"
	Index int    // position within the join; -1 for the NULL row of an empty join
}

// Value is what the [Resolver] returns for an identifier.
//
// A single value has exactly one item. A multi value (Multi) lists the items
// of a multi-row path; a plain operator must hold for all of them and a ?
// operator for at least one. Following LEFT JOIN semantics, an empty path is
// one NULL item, not zero items; an empty Items slice is treated the same way.
type Value struct {
	Items []Item
	Multi bool
	// Affinity of the source expression; see [Affinity].
	Affinity Affinity
	// Const marks values known before the query runs, such as @request data:
	// they are bound as SQL parameters, which matters for = and != (an empty
	// constant compares as "null or ''") and for ~ (a constant is a pattern
	// that is escaped and wrapped in %...%). Ignored for multi values.
	Const bool
	// Strict values compare with IS / IS NOT and no null/'' normalisation, as
	// JSON field values and geoDistance() results do.
	Strict bool
}

// Single returns a single value.
func Single(s Scalar) Value { return Value{Items: []Item{{Scalar: s}}} }

// Multi returns a multi value of items without join rows.
func Multi(items ...Scalar) Value {
	v := Value{Multi: true, Items: make([]Item, len(items))}
	for i, s := range items {
		v.Items[i].Scalar = s
	}
	return v
}

// Column returns a single value read from a column with the given affinity.
func Column(s Scalar, a Affinity) Value {
	v := Single(s)
	v.Affinity = a
	return v
}

// Constant returns a single constant value (request data).
func Constant(s Scalar) Value {
	v := Single(s)
	v.Const = true
	return v
}

// sqlRealText renders a float the way SQLite converts a REAL to TEXT: the
// shortest of 15 or 17 significant digits that round-trips, always with a
// decimal point, exponent form below 1e-4 and from 1e17 on.
func sqlRealText(f float64) string {
	if f == 0 {
		return "0.0"
	}
	if math.IsInf(f, 1) {
		return "Inf"
	}
	if math.IsInf(f, -1) {
		return "-Inf"
	}
	s := strconv.FormatFloat(f, 'e', 14, 64)
	if g, err := strconv.ParseFloat(s, 64); err != nil || g != f {
		s = strconv.FormatFloat(f, 'e', 16, 64)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	if digits == "" {
		digits = "0"
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case exp < -4 || exp >= 17:
		b.WriteString(digits[:1] + ".")
		if len(digits) > 1 {
			b.WriteString(digits[1:])
		} else {
			b.WriteByte('0')
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
	case exp < 0:
		b.WriteString("0." + strings.Repeat("0", -exp-1) + digits)
	default:
		if len(digits) <= exp+1 {
			b.WriteString(digits + strings.Repeat("0", exp+1-len(digits)) + ".0")
		} else {
			b.WriteString(digits[:exp+1] + "." + digits[exp+1:])
		}
	}
	return b.String()
}

// sqlText converts a scalar to text as SQLite does (for LIKE, ||, LOWER and
// text affinity). ok is false for NULL.
func sqlText(s Scalar) (string, bool) {
	switch s.kind {
	case KindInt:
		return strconv.FormatInt(s.i, 10), true
	case KindReal:
		return sqlRealText(s.f), true
	case KindText:
		return s.s, true
	}
	return "", false
}

func isSQLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// sqlNumber parses text the way SQLite applies NUMERIC affinity: optional
// surrounding whitespace, an optional sign, digits with an optional fraction,
// and an optional exponent. Integers that fit in 64 bits stay integers.
func sqlNumber(text string) (Scalar, bool) {
	t := strings.TrimFunc(text, func(r rune) bool { return r < 0x80 && isSQLSpace(byte(r)) })
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	digits, isInt := 0, true
	for i < len(t) && isDigit(t[i]) {
		i++
		digits++
	}
	if i < len(t) && t[i] == '.' {
		isInt = false
		i++
		for i < len(t) && isDigit(t[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return Null, false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		isInt = false
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		exp := 0
		for i < len(t) && isDigit(t[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return Null, false
		}
	}
	if i != len(t) {
		return Null, false
	}
	if isInt {
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return Int(n), true
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return Null, false
	}
	return Real(f), true
}

// applyNumeric is SQLite's NUMERIC affinity: numeric-looking text becomes a
// number; everything else is unchanged.
func applyNumeric(s Scalar) Scalar {
	if s.kind == KindText {
		if n, ok := sqlNumber(s.s); ok {
			return n
		}
	}
	return s
}

// applyText is SQLite's TEXT affinity: numbers become text.
func applyText(s Scalar) Scalar {
	if s.isNumber() {
		t, _ := sqlText(s)
		return Text(t)
	}
	return s
}

// compareScalars orders two non-NULL scalars as SQLite does with the BINARY
// collation: numbers before text, numbers by value, text bytewise.
func compareScalars(a, b Scalar) int {
	an, bn := a.isNumber(), b.isNumber()
	switch {
	case an && bn:
		return compareNumbers(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a.s, b.s)
}

func compareNumbers(a, b Scalar) int {
	if a.kind == KindInt && b.kind == KindInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	if a.kind == KindInt {
		return -compareIntReal(a.i, b.f)
	}
	if b.kind == KindInt {
		return compareIntReal(b.i, a.f)
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

// compareIntReal compares a real with an integer exactly: it returns the
// order of r relative to i.
func compareIntReal(i int64, r float64) int {
	switch {
	case r < -9223372036854775808.0:
		return -1
	case r >= 9223372036854775808.0:
		return 1
	}
	t := math.Trunc(r)
	ti := int64(t)
	switch {
	case ti < i:
		return -1
	case ti > i:
		return 1
	case r < t:
		return -1
	case r > t:
		return 1
	}
	return 0
}

// SQLText returns s converted to text the way SQLite converts it (for LIKE,
// ||, LOWER and TEXT affinity): integers in decimal, floats as SQLite renders
// a REAL (10.0 is "10.0"), and "" for NULL.
func SQLText(s Scalar) string {
	t, _ := sqlText(s)
	return t
}
