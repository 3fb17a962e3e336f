package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// function describes a filter function: check validates a call when it is
// parsed, eval computes it in memory.
type function struct {
	check func(c *Call) *Error
	eval  func(ev *evaluator, c *Call) (Value, error)
}

var functions map[string]function

func init() {
	// Assigned here because eval refers back to the evaluator.
	functions = map[string]function{
		"geoDistance": {check: checkGeoDistance, eval: evalGeoDistance},
		"strftime":    {check: checkStrftime, eval: evalStrftime},
	}
}

func (ev *evaluator) call(c *Call) (Value, error) {
	return functions[c.name].eval(ev, c)
}

// singleArgs resolves the arguments of a call; each must be single-valued.
func (ev *evaluator) singleArgs(c *Call) ([]Scalar, error) {
	out := make([]Scalar, len(c.args))
	for i, a := range c.args {
		s, err := ev.operand(a)
		if err != nil {
			return nil, err
		}
		if s.multi() {
			return nil, fmt.Errorf("filter: argument %d of %s() must be a single value, not %s", i+1, c.name, a)
		}
		out[i] = items(s)[0].Scalar
	}
	return out, nil
}

func checkGeoDistance(c *Call) *Error {
	if len(c.args) != 4 {
		return &Error{Pos: c.pos, Msg: "geoDistance() expects 4 arguments (lonA, latA, lonB, latB), got " + strconv.Itoa(len(c.args))}
	}
	for _, a := range c.args {
		if l, ok := a.(*Literal); ok && l.kind == LiteralText {
			return &Error{Pos: a.Pos(), Msg: "geoDistance() arguments must be numbers or fields"}
		}
	}
	return nil
}

// evalGeoDistance is the haversine distance in km, computed as the SQL
//
//	6371 * acos(cos(radians(latA)) * cos(radians(latB)) *
//	  cos(radians(lonB) - radians(lonA)) + sin(radians(latA)) * sin(radians(latB)))
//
// where a non-numeric argument and an acos() argument outside [-1, 1] give
// NULL. The result compares strictly (IS / IS NOT).
func evalGeoDistance(ev *evaluator, c *Call) (Value, error) {
	args, err := ev.singleArgs(c)
	if err != nil {
		return Value{}, err
	}
	var rad [4]float64
	for i, a := range args {
		n := applyNumeric(a)
		if !n.isNumber() {
			return Value{Items: []Item{{}}, Strict: true}, nil
		}
		f := n.f
		if n.kind == KindInt {
			f = float64(n.i)
		}
		rad[i] = f * (math.Pi / 180.0)
	}
	lonA, latA, lonB, latB := rad[0], rad[1], rad[2], rad[3]
	x := math.Cos(latA)*math.Cos(latB)*math.Cos(lonB-lonA) + math.Sin(latA)*math.Sin(latB)
	if x < -1 || x > 1 || math.IsNaN(x) {
		return Value{Items: []Item{{}}, Strict: true}, nil
	}
	return Value{Items: []Item{{Scalar: Real(6371 * math.Acos(x))}}, Strict: true}, nil
}

// strftime supports a subset of SQLite's strftime(format, time-value,
// modifier, ...), checked when the filter is parsed so that the in-memory
// result and SQLite's agree:
//
//   - format: a text literal with %d %f %H %j %m %M %s %S %w %Y %%;
//   - time-value: any operand; text in the forms YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]]
//     with an optional Z or ±HH:MM suffix, or a number (a Julian day number,
//     or Unix seconds with the 'unixepoch' modifier); anything else is NULL;
//   - modifiers: text literals 'start of day|month|year', '±N
//     days|hours|minutes|seconds|months|years' with an integer N,
//     'weekday N', 'unixepoch' (first modifier only) and 'utc'.
const strftimeSpecs = "dfHjmMsSwY%"

func checkStrftime(c *Call) *Error {
	if len(c.args) < 2 {
		return &Error{Pos: c.pos, Msg: "strftime() expects a format, a time value and optional modifiers"}
	}
	format, ok := c.args[0].(*Literal)
	if !ok || format.kind != LiteralText {
		return &Error{Pos: c.args[0].Pos(), Msg: "the strftime() format must be quoted text"}
	}
	f := format.text
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i+1 >= len(f) || !strings.Contains(strftimeSpecs, f[i+1:i+2]) {
			return &Error{Pos: format.pos, Msg: "unsupported strftime() format " + strconv.Quote(f) + "; supported: %d %f %H %j %m %M %s %S %w %Y %%"}
		}
		i++
	}
	for i, a := range c.args[2:] {
		m, ok := a.(*Literal)
		if !ok || m.kind != LiteralText {
			return &Error{Pos: a.Pos(), Msg: "strftime() modifiers must be quoted text"}
		}
		mod, ok := parseTimeModifier(m.text)
		if !ok || (mod.kind == modUnixEpoch && i != 0) {
			return &Error{Pos: a.Pos(), Msg: "unsupported strftime() modifier " + strconv.Quote(m.text)}
		}
	}
	return nil
}

type timeModKind uint8

const (
	modStartDay timeModKind = iota + 1
	modStartMonth
	modStartYear
	modAdd
	modWeekday
	modUnixEpoch
	modUTC
)

type timeModifier struct {
	kind timeModKind
	n    int64
	unit string
}

// parseTimeModifier parses a strftime() modifier; letter case and surrounding
// spaces are ignored, as in SQLite.
func parseTimeModifier(s string) (timeModifier, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "start of day":
		return timeModifier{kind: modStartDay}, true
	case "start of month":
		return timeModifier{kind: modStartMonth}, true
	case "start of year":
		return timeModifier{kind: modStartYear}, true
	case "unixepoch":
		return timeModifier{kind: modUnixEpoch}, true
	case "utc":
		return timeModifier{kind: modUTC}, true
	}
	if rest, ok := strings.CutPrefix(s, "weekday "); ok {
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 0 || n > 6 || strings.TrimSpace(rest) != strconv.Itoa(n) {
			return timeModifier{}, false
		}
		return timeModifier{kind: modWeekday, n: int64(n)}, true
	}
	num, unit, ok := strings.Cut(s, " ")
	if !ok || num == "" {
		return timeModifier{}, false
	}
	digits := strings.TrimLeft(num, "+-")
	if len(num)-len(digits) > 1 || !isDigitString(digits) || len(digits) > 9 {
		return timeModifier{}, false
	}
	n, _ := strconv.ParseInt(num, 10, 64)
	unit = strings.TrimSuffix(strings.TrimSpace(unit), "s")
	switch unit {
	case "day", "hour", "minute", "second", "month", "year":
		return timeModifier{kind: modAdd, n: n, unit: unit}, true
	}
	return timeModifier{}, false
}

func isDigitString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

func evalStrftime(ev *evaluator, c *Call) (Value, error) {
	args, err := ev.singleArgs(c)
	if err != nil {
		return Value{}, err
	}
	null := Single(Null)
	var mods []timeModifier
	for _, a := range c.args[2:] {
		m, _ := parseTimeModifier(a.(*Literal).text)
		mods = append(mods, m)
	}
	var t time.Time
	v := args[1]
	switch {
	case len(mods) > 0 && mods[0].kind == modUnixEpoch:
		n := applyNumeric(v)
		if !n.isNumber() {
			return null, nil
		}
		secs := n.f
		if n.kind == KindInt {
			secs = float64(n.i)
		}
		t = time.UnixMilli(int64(math.Round(secs * 1000))).UTC()
		mods = mods[1:]
	case v.isNumber():
		jd := v.f
		if v.kind == KindInt {
			jd = float64(v.i)
		}
		t = time.UnixMilli(int64(math.Round((jd - 2440587.5) * 86400000))).UTC()
	case v.kind == KindText:
		var ok bool
		if t, ok = parseTimeValue(v.s); !ok {
			return null, nil
		}
	default:
		return null, nil
	}
	for _, m := range mods {
		switch m.kind {
		case modStartDay:
			t = dayStart(t)
		case modStartMonth:
			t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		case modStartYear:
			t = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		case modWeekday:
			d := (int(m.n) - int(t.Weekday()) + 7) % 7
			t = t.AddDate(0, 0, d)
		case modAdd:
			switch m.unit {
			case "day":
				t = t.Add(time.Duration(m.n) * 24 * time.Hour)
			case "hour":
				t = t.Add(time.Duration(m.n) * time.Hour)
			case "minute":
				t = t.Add(time.Duration(m.n) * time.Minute)
			case "second":
				t = t.Add(time.Duration(m.n) * time.Second)
			case "month":
				t = t.AddDate(0, int(m.n), 0)
			case "year":
				t = t.AddDate(int(m.n), 0, 0)
			}
		case modUnixEpoch:
			return null, nil
		}
	}
	if t.Before(minTime) || t.After(maxTime) {
		return null, nil
	}
	return Single(Text(formatStrftime(c.args[0].(*Literal).text, t))), nil
}

func formatStrftime(f string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'f':
			fmt.Fprintf(&b, "%02d.%03d", t.Second(), t.Nanosecond()/1e6)
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case '%':
			b.WriteByte('%')
		}
	}
	return b.String()
}

// parseTimeValue reads YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH:MM], rounding
// to milliseconds as SQLite does.
func parseTimeValue(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	num := func(s string, n int) (int, bool) {
		if len(s) < n || !isDigitString(s[:n]) {
			return 0, false
		}
		v, _ := strconv.Atoi(s[:n])
		return v, true
	}
	y, ok1 := num(s, 4)
	if !ok1 || len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	mo, ok2 := num(s[5:], 2)
	d, ok3 := num(s[8:], 2)
	if !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	rest := s[10:]
	var h, mi int
	var sec float64
	if rest != "" && (rest[0] == ' ' || rest[0] == 'T') {
		rest = strings.TrimLeft(rest[1:], " ")
		var ok bool
		if h, ok = num(rest, 2); !ok || len(rest) < 5 || rest[2] != ':' || h > 24 {
			return time.Time{}, false
		}
		if mi, ok = num(rest[3:], 2); !ok || mi > 59 {
			return time.Time{}, false
		}
		rest = rest[5:]
		if rest != "" && rest[0] == ':' {
			si, ok := num(rest[1:], 2)
			if !ok || si > 59 {
				return time.Time{}, false
			}
			sec = float64(si)
			rest = rest[3:]
			if rest != "" && rest[0] == '.' && len(rest) > 1 && isDigit(rest[1]) {
				j := 1
				for j < len(rest) && isDigit(rest[j]) {
					j++
				}
				frac, _ := strconv.ParseFloat("0"+rest[:j], 64)
				sec += frac
				rest = rest[j:]
			}
		}
	}
	rest = strings.TrimLeft(rest, " ")
	offset := 0
	switch {
	case rest == "":
	case rest == "Z" || rest == "z":
	case (rest[0] == '+' || rest[0] == '-') && len(rest) == 6 && rest[3] == ':':
		oh, ok1 := num(rest[1:], 2)
		om, ok2 := num(rest[4:], 2)
		if !ok1 || !ok2 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*60 + om
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	ms := int64(math.Round(sec * 1000))
	t := time.Date(y, time.Month(mo), d, h, mi, 0, 0, time.UTC).Add(time.Duration(ms)*time.Millisecond - time.Duration(offset)*time.Minute)
	return t, true
}
