package sqlfilter

// Values for a strict dialect (see typed.go): what columns of the
// PostgreSQL layout and JSON documents hold, and the conversions of text
// to numbers that PostgreSQL's casts would refuse.

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
)

// sqlNumber parses text the way SQLite applies NUMERIC affinity (filter's
// rules): optional surrounding whitespace, a sign, digits with an optional
// fraction and exponent. Integers that fit in 64 bits stay integers.
func sqlNumber(text string) (filter.Scalar, bool) {
	t := strings.Trim(text, " \t\n\v\f\r")
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	digits, isInt := 0, true
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
		digits++
	}
	if i < len(t) && t[i] == '.' {
		isInt = false
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return filter.Null, false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		isInt = false
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		exp := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return filter.Null, false
		}
	}
	if i != len(t) {
		return filter.Null, false
	}
	if isInt {
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return filter.Int(n), true
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return filter.Null, false
	}
	return filter.Real(f), true
}

// tcolumn describes the value of p (not valEach) read from the column
// expression col of the PostgreSQL layout (see PostgresColumn).
func (c *compiler) tcolumn(p *plan, col string) tval {
	switch p.kind {
	case valJSON:
		return c.tjson(col, p.jsonPath)
	case valLength:
		return tval{num: "CAST(" + c.d.JSONArrayLength(col) + " AS double precision)", style: styleInt}
	case valOne:
		return tval{num: "CAST(CAST((" + col + " <> '') AS integer) AS double precision)", style: styleInt}
	}
	switch f := p.field; {
	case f.Type == schema.TypeNumber:
		return tval{num: col, style: styleColumn}
	case f.Type == schema.TypeBool:
		return tval{num: "CAST(CAST(" + col + " AS integer) AS double precision)", style: styleInt}
	case f.IsMulti():
		// The SQLite store keeps the list as compact JSON text.
		return tval{txt: minifyJSON("CAST(" + col + " AS text)")}
	}
	return tval{txt: col}
}

// minifyJSON removes the whitespace outside strings from JSON text, as
// SQLite's json functions render a document.
func minifyJSON(text string) string {
	return "regexp_replace(" + text + `, '("(\\.|[^"\\])*")|[ \t\n\r]+', '\1', 'g')`
}

// tjson describes json_extract(col, path) of SQLite for the JSON column col
// (path is a planner path: $, .key and [index] steps): NULL for a missing
// value or JSON null, a number for numbers and booleans (1, 0), text for
// strings, and compact JSON text for objects and arrays.
func (c *compiler) tjson(col, path string) tval {
	var segs []string
	var indexes []int // positions of [index] steps in segs
	for i := 1; i < len(path); {
		j := i + 1
		for j < len(path) && path[j] != '.' && path[j] != '[' {
			j++
		}
		if path[i] == '[' {
			indexes = append(indexes, len(segs))
			segs = append(segs, strings.TrimSuffix(path[i+1:j], "]"))
		} else {
			segs = append(segs, path[i+1:j])
		}
		i = j
	}
	extract := func(segs []string) string {
		if len(segs) == 0 {
			return col
		}
		return "(" + c.d.JSONExtract(col, "CAST("+c.arg(segs)+" AS text[])") + ")"
	}
	v := extract(segs)
	if len(indexes) > 0 {
		// #> reads "0" as a key of an object too; json_extract's [0] only
		// indexes arrays.
		guards := make([]string, len(indexes))
		for k, at := range indexes {
			guards[k] = "json_typeof(" + extract(segs[:at]) + ") = 'array'"
		}
		v = "(CASE WHEN " + strings.Join(guards, " AND ") + " THEN " + v + " END)"
	}
	typ := "json_typeof(" + v + ")"
	scalar := "(" + v + " #>> '{}')"
	asNum := safeDouble(scalar)
	return tval{
		num: "(CASE " + typ + " WHEN 'number' THEN " + asNum +
			" WHEN 'boolean' THEN (CASE WHEN " + scalar + " = 'true' THEN CAST(1 AS double precision) ELSE CAST(0 AS double precision) END) END)",
		txt: "(CASE " + typ + " WHEN 'string' THEN " + scalar +
			" WHEN 'object' THEN " + minifyJSON("CAST("+v+" AS text)") + " WHEN 'array' THEN " + minifyJSON("CAST("+v+" AS text)") + " END)",
		ntxt: "(CASE " + typ + " WHEN 'boolean' THEN (CASE WHEN " + scalar + " = 'true' THEN '1' ELSE '0' END)" +
			" WHEN 'number' THEN (CASE WHEN " + scalar + " ~ '^-?[0-9]{1,18}$' THEN CAST(CAST(" + scalar + " AS bigint) AS text) ELSE " +
			numText(tval{num: asNum, style: styleReal}) + " END) END)",
		style: styleReal,
	}
}

// tgeoDistance is geoDistance(lonA, latA, lonB, latB) for a strict dialect:
// the haversine distance in km, NULL for a non-numeric argument or when
// acos() is out of its domain (PostgreSQL would raise an error).
func (c *compiler) tgeoDistance(args []tval) tval {
	rad := make([]string, 4)
	for i, a := range args {
		// cos() of an infinity is an error in PostgreSQL, NaN (NULL) in Go.
		n := c.tnumber(a)
		rad[i] = "radians(CASE WHEN abs(" + n + ") < 'Infinity' THEN " + n + " END)"
	}
	lonA, latA, lonB, latB := rad[0], rad[1], rad[2], rad[3]
	x := "(cos(" + latA + ") * cos(" + latB + ") * cos(" + lonB + " - " + lonA + ") + sin(" + latA + ") * sin(" + latB + "))"
	return tval{num: "(CASE WHEN " + x + " BETWEEN -1 AND 1 THEN 6371 * acos(" + x + ") END)", style: styleReal}
}

// checkText records an error for text a strict dialect cannot take:
// PostgreSQL text (and JSON) must be valid UTF-8 without NUL characters,
// where SQLite takes any bytes. Stored text never holds such values, so no
// filter is refused that could match on PostgreSQL, but a comparison such as
// title < '\xff' would, and rather than guess, Compile reports an *Error.
func (c *compiler) checkText(v any) {
	var bad string
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) || strings.ContainsRune(x, 0) {
			bad = x
		}
	case []string:
		for _, s := range x {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				bad = s
			}
		}
	default:
		return
	}
	if bad != "" && c.err == nil {
		c.err = errorf("text %q is not valid UTF-8 or contains a NUL character", bad)
	}
}

// safeDouble converts text that looks like a number (numericPattern, or a
// JSON number) to double precision as Go's ParseFloat and SQLite do: beyond
// the range it is an infinity, below it zero, where PostgreSQL's cast would
// fail. Exponents of five digits or more are settled by their sign alone:
// numeric cannot hold them.
func safeDouble(text string) string {
	n := "CAST(" + text + " AS numeric)"
	neg := "(CASE WHEN btrim(" + text + `, E' \t\n\v\f\r') LIKE '-%' THEN -1 ELSE 1 END)`
	return "(CASE WHEN " + text + " ~ '[eE][+-]?0*[1-9][0-9]{4,}' THEN (CASE WHEN " + text + " ~ '[1-9][^eE]*[eE]' AND " + text + " ~ '[eE][+]?[0-9]' THEN " + neg + " * CAST('Infinity' AS double precision) ELSE " + neg + " * CAST(0 AS double precision) END)" +
		" WHEN abs(" + n + ") >= 1.7976931348623158e308 THEN " + neg + " * CAST('Infinity' AS double precision)" +
		" WHEN abs(" + n + ") < 2.4703282292062328e-324 THEN " + neg + " * CAST(0 AS double precision)" +
		" ELSE CAST(" + n + " AS double precision) END)"
}
