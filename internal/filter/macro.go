package filter

import "time"

// DateTimeLayout is the layout of datetime values in filters, records and
// API responses.
const DateTimeLayout = "2006-01-02 15:04:05.000Z"

var macros = map[string]func(now time.Time) any{
	"@now":        func(t time.Time) any { return t.Format(DateTimeLayout) },
	"@yesterday":  func(t time.Time) any { return t.AddDate(0, 0, -1).Format(DateTimeLayout) },
	"@tomorrow":   func(t time.Time) any { return t.AddDate(0, 0, 1).Format(DateTimeLayout) },
	"@todayStart": func(t time.Time) any { return dayStart(t).Format(DateTimeLayout) },
	"@todayEnd":   func(t time.Time) any { return dayEnd(t).Format(DateTimeLayout) },
	"@monthStart": func(t time.Time) any {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Format(DateTimeLayout)
	},
	"@monthEnd": func(t time.Time) any {
		return dayEnd(time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC)).Format(DateTimeLayout)
	},
	"@yearStart": func(t time.Time) any { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Format(DateTimeLayout) },
	"@yearEnd": func(t time.Time) any {
		return dayEnd(time.Date(t.Year(), 12, 31, 0, 0, 0, 0, time.UTC)).Format(DateTimeLayout)
	},
	"@second":  func(t time.Time) any { return t.Second() },
	"@minute":  func(t time.Time) any { return t.Minute() },
	"@hour":    func(t time.Time) any { return t.Hour() },
	"@day":     func(t time.Time) any { return t.Day() },
	"@weekday": func(t time.Time) any { return int(t.Weekday()) },
	"@month":   func(t time.Time) any { return int(t.Month()) },
	"@year":    func(t time.Time) any { return t.Year() },
}

func dayStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func dayEnd(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 23, 59, 59, 999_999_999, time.UTC)
}

func isMacroName(name string) bool {
	_, ok := macros[name]
	return ok
}

// MacroValue returns the value of an @-macro such as "@now" or "@year" at the
// instant now, taken in UTC: datetimes as text in [DateTimeLayout] (e.g.
// @todayEnd is "2024-05-01 23:59:59.999Z"), the others (@second, @minute,
// @hour, @day, @weekday with Sunday = 0, @month, @year) as int. ok is false for
// an unknown name.
func MacroValue(name string, now time.Time) (value any, ok bool) {
	fn, ok := macros[name]
	if !ok {
		return nil, false
	}
	return fn(now.UTC()), true
}
