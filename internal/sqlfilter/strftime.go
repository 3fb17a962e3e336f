package sqlfilter

import (
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/filter"
)

// strftime for a strict dialect (PostgreSQL): SQLite's strftime(format,
// time-value, modifier...) for the subset the filter language accepts (see
// filter's checkStrftime), spelled out with PostgreSQL's timestamp
// arithmetic. The format and the modifiers are literals, known when the
// filter is compiled, so each becomes its own SQL; only the time value is
// read when the query runs. Timestamps are `timestamp without time zone`
// holding UTC, so no session time zone takes part.

// timeMod is a parsed strftime() modifier.
type timeMod struct {
	kind string // "start of day|month|year", "weekday", "unixepoch", "utc", "add"
	n    int64
	unit string // add: day, hour, minute, second, month, year
}

// parseTimeMod parses a modifier the way the filter package does; ok is
// false for one it rejects.
func parseTimeMod(s string) (timeMod, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "start of day", "start of month", "start of year", "unixepoch", "utc":
		return timeMod{kind: s}, true
	}
	if rest, ok := strings.CutPrefix(s, "weekday "); ok {
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 0 || n > 6 || strings.TrimSpace(rest) != strconv.Itoa(n) {
			return timeMod{}, false
		}
		return timeMod{kind: "weekday", n: int64(n)}, true
	}
	num, unit, ok := strings.Cut(s, " ")
	if !ok || num == "" {
		return timeMod{}, false
	}
	digits := strings.TrimLeft(num, "+-")
	if len(num)-len(digits) > 1 || digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > 9 {
		return timeMod{}, false
	}
	n, _ := strconv.ParseInt(num, 10, 64)
	unit = strings.TrimSuffix(strings.TrimSpace(unit), "s")
	switch unit {
	case "day", "hour", "minute", "second", "month", "year":
		return timeMod{kind: "add", n: n, unit: unit}, true
	}
	return timeMod{}, false
}

// timePattern is filter's parseTimeValue as a regular expression:
// YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH:MM]; the value is trimmed first.
const timePattern = `'^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T] *([0-9]{2}):([0-9]{2})(?::([0-9]{2})(\.[0-9]+)?)? *)?([Zz]|[+-][0-9]{2}:[0-9]{2})?$'`

// Bounds that keep timestamp arithmetic inside PostgreSQL's range (4713 BC
// to 294276 AD): a step that would leave it yields NULL instead of an error.
// Results outside years 0000-9999 are NULL anyway, as in SQLite.
const (
	epochMin = "-200000000000" // seconds, about 4400 BC
	epochMax = "9000000000000" // seconds, about 287000 AD
	epoch    = "TIMESTAMP '1970-01-01 00:00:00'"
)

// roundHalfAway rounds a double precision expression half away from zero,
// as Go's math.Round (PostgreSQL's round(double precision) rounds half to
// even).
func roundHalfAway(x string) string {
	return "(sign(" + x + ") * floor(abs(" + x + ") + 0.5))"
}

// millis is epoch plus ms milliseconds, NULL when out of range.
func millis(ms string) string {
	return "(CASE WHEN " + ms + " BETWEEN " + epochMin + "000 AND " + epochMax + "000 THEN " + epoch + " + " + ms + " * INTERVAL '1 millisecond' END)"
}

// tstrftime compiles strftime(format, value, modifiers...) for a strict
// dialect; value is the compiled time value.
func (c *compiler) tstrftime(x *filter.Call, value tval) tval {
	format := x.Arg(0).(*filter.Literal).Text()
	var mods []timeMod
	for i := 2; i < x.NumArgs(); i++ {
		m, _ := parseTimeMod(x.Arg(i).(*filter.Literal).Text())
		mods = append(mods, m)
	}
	var from []string // FROM items, each defining t from the previous one
	prev := ""
	step := func(expr func(t string) string) {
		a := c.alias()
		t := ""
		if prev != "" {
			t = prev + ".t"
		}
		item := "(SELECT " + expr(t) + " AS t OFFSET 0) AS " + a
		if prev != "" {
			item = "LATERAL " + item
		}
		from = append(from, item)
		prev = a
	}
	switch {
	case len(mods) > 0 && mods[0].kind == "unixepoch":
		n := c.tnumber(value)
		step(func(string) string { return millis(roundHalfAway("(" + n + " * 1000)")) })
		mods = mods[1:]
	default:
		var julian, parsed string
		if value.num != "" {
			julian = millis(roundHalfAway("((" + value.num + " - 2440587.5) * 86400000)"))
		}
		if value.txt != "" {
			// The pattern validates; the fields are then cut out by
			// position. (regexp_match with capture groups costs
			// milliseconds per call in PostgreSQL.) OFFSET 0 keeps each
			// subquery evaluated once per row instead of inlined into
			// every reference.
			m, p := c.alias(), c.alias()
			from = append(from,
				"(SELECT btrim("+value.txt+`, E' \t\n\r\v\f') AS s OFFSET 0) AS `+m,
				"LATERAL (SELECT "+m+".s ~ "+timePattern+" AS ok, substr("+m+".s, 1, 4) AS y, substr("+m+".s, 6, 2) AS mo, substr("+m+".s, 9, 2) AS d, "+
					"x.hh, x.mi, (CASE WHEN substr(x.r, 6, 1) = ':' THEN substr(x.r, 7, 2) END) AS ss, (CASE WHEN substr(x.r, 6, 1) = ':' THEN substring(substr(x.r, 9) FROM '^\\.[0-9]+') END) AS frac, "+
					"(CASE WHEN "+m+".s ~ '[+-][0-9]{2}:[0-9]{2}$' THEN right("+m+".s, 6) END) AS tz "+
					"FROM (SELECT r, (CASE WHEN r IS NOT NULL THEN substr(r, 1, 2) END) AS hh, (CASE WHEN r IS NOT NULL THEN substr(r, 4, 2) END) AS mi "+
					"FROM (SELECT (CASE WHEN substr("+m+".s, 11, 1) IN (' ', 'T') THEN ltrim(substr("+m+".s, 12), ' ') END) AS r) AS x0) AS x OFFSET 0) AS "+p)
			f := func(name string) string { return p + "." + name }
			i := func(name string) string { return "CAST(" + f(name) + " AS integer)" }
			z := func(name string) string { return "COALESCE(" + i(name) + ", 0)" }
			tz := f("tz")
			offset := "(CASE WHEN " + tz + " IS NULL THEN 0 ELSE (CASE WHEN left(" + tz + ", 1) = '-' THEN -1 ELSE 1 END) * (CAST(substr(" + tz + ", 2, 2) AS integer) * 60 + CAST(substr(" + tz + ", 5, 2) AS integer)) END)"
			valid := i("mo") + " BETWEEN 1 AND 12 AND " + i("d") + " BETWEEN 1 AND 31 AND " + z("hh") + " <= 24 AND " + z("mi") + " <= 59 AND " + z("ss") + " <= 59 AND (" + tz + " IS NULL OR CAST(substr(" + tz + ", 5, 2) AS integer) <= 59)"
			secs := "(CAST(" + z("ss") + " AS double precision) + COALESCE(CAST('0' || " + f("frac") + " AS double precision), 0))"
			// CASE, unlike AND, guarantees the casts only see validated text.
			parsed = "(CASE WHEN " + f("ok") + " THEN (CASE WHEN " + valid + " THEN TIMESTAMP '2000-01-01 00:00:00' + ((" + i("y") + " - 2000) * 12 + " + i("mo") + " - 1) * INTERVAL '1 month' + (" + i("d") + " - 1) * INTERVAL '1 day' + " +
				z("hh") + " * INTERVAL '1 hour' + " + z("mi") + " * INTERVAL '1 minute' + floor(" + secs + " * 1000 + 0.5) * INTERVAL '1 millisecond' - " + offset + " * INTERVAL '1 minute' END) END)"
			// The parsing subqueries come first in FROM: the time value
			// step follows them laterally.
			prev = p
		}
		t0 := "CAST(NULL AS timestamp)"
		switch {
		case julian != "" && parsed != "":
			t0 = "(CASE WHEN " + value.num + " IS NOT NULL THEN " + julian + " ELSE " + parsed + " END)"
		case julian != "":
			t0 = julian
		case parsed != "":
			t0 = parsed
		}
		step(func(string) string { return t0 })
	}
	for _, m := range mods {
		step(func(t string) string { return timeModSQL(m, t) })
	}
	t := prev + ".t"
	inRange := "(" + t + " BETWEEN TIMESTAMP '0001-01-01 00:00:00 BC' AND TIMESTAMP '9999-12-31 23:59:59.999')"
	var parts []string
	lit := ""
	flush := func() {
		if lit != "" {
			parts = append(parts, "CAST("+c.arg(lit)+" AS text)")
			lit = ""
		}
	}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			lit += format[i : i+1]
			continue
		}
		i++
		var part string
		switch format[i] {
		case 'd':
			part = "to_char(" + t + ", 'DD')"
		case 'f':
			part = "to_char(" + t + ", 'SS.MS')"
		case 'H':
			part = "to_char(" + t + ", 'HH24')"
		case 'j':
			part = "to_char(" + t + ", 'DDD')"
		case 'm':
			part = "to_char(" + t + ", 'MM')"
		case 'M':
			part = "to_char(" + t + ", 'MI')"
		case 's':
			part = "CAST(CAST(floor(extract(epoch FROM " + t + ")) AS bigint) AS text)"
		case 'S':
			part = "to_char(" + t + ", 'SS')"
		case 'w':
			part = "CAST(CAST(extract(dow FROM " + t + ") AS integer) AS text)"
		case 'Y':
			// PostgreSQL's 1 BC is year 0000 of SQLite and Go.
			part = "(CASE WHEN " + t + " < TIMESTAMP '0001-01-01 00:00:00' THEN '0000' ELSE to_char(" + t + ", 'YYYY') END)"
		case '%':
			lit += "%"
			continue
		default:
			continue
		}
		flush()
		parts = append(parts, part)
	}
	flush()
	out := "''"
	if len(parts) > 0 {
		out = strings.Join(parts, " || ")
	}
	return tval{txt: "(SELECT CASE WHEN " + inRange + " THEN " + out + " END FROM " + strings.Join(from, ", ") + ")"}
}

// timeModSQL applies modifier m to the timestamp expression t.
func timeModSQL(m timeMod, t string) string {
	guard := func(secs float64, then string) string {
		// secs: the number of seconds the step moves t at most.
		return "(CASE WHEN extract(epoch FROM " + t + ") + " + strconv.FormatFloat(secs, 'f', -1, 64) + " BETWEEN " + epochMin + " AND " + epochMax + " THEN " + then + " END)"
	}
	n := strconv.FormatInt(m.n, 10)
	switch m.kind {
	case "start of day":
		return "date_trunc('day', " + t + ")"
	case "start of month":
		return "date_trunc('month', " + t + ")"
	case "start of year":
		return "date_trunc('year', " + t + ")"
	case "weekday":
		return "(" + t + " + ((" + n + " - CAST(extract(dow FROM " + t + ") AS integer) + 7) % 7) * INTERVAL '1 day')"
	case "utc":
		return t
	case "add":
		var secs float64
		switch m.unit {
		case "day":
			secs = 86400
		case "hour":
			secs = 3600
		case "minute":
			secs = 60
		case "second":
			secs = 1
		case "month", "year":
			months := m.n
			if m.unit == "year" {
				months *= 12
			}
			if months > 4_000_000 || months < -4_000_000 {
				return "CAST(NULL AS timestamp)"
			}
			// Go's AddDate and SQLite normalize an overflowing day (Jan 31
			// + 1 month is Mar 2 or 3); PostgreSQL's interval arithmetic
			// would clamp it to the month's last day, so add the months to
			// the first of the month and the days and time back after.
			ms := strconv.FormatInt(months, 10)
			return guard(float64(months)*31*86400, "(date_trunc('month', "+t+") + "+ms+" * INTERVAL '1 month' + ("+t+" - date_trunc('month', "+t+")))")
		}
		return guard(float64(m.n)*secs, "("+t+" + "+n+" * INTERVAL '1 "+m.unit+"')")
	}
	// unixepoch after the first modifier.
	return "CAST(NULL AS timestamp)"
}
