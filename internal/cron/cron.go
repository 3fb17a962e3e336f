// Package cron parses cron schedules and answers when they are due.
//
// A schedule is five space-separated fields (minute 0-59, hour 0-23, day of
// month 1-31, month 1-12, day of week 0-6 with Sunday 0), each a
// comma-separated list of "*", "*/step", "n", "n-m" or "n-m/step", or one of
// the macros @yearly, @annually, @monthly, @weekly, @daily, @midnight and
// @hourly, as PocketBase's scheduler accepts them. When both day fields are
// restricted a day matching either one is due (classic cron).
//
// cron is a leaf package: it imports only the standard library.
package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed cron expression: one bit per allowed value of each
// field.
type Schedule struct {
	expr                          string
	minute, hour, dom, month, dow uint64
	// domAny and dowAny record a "*" day field.
	domAny, dowAny bool
}

// macros are the shorthand schedules and what they stand for.
var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// fields are the names and bounds of the five fields.
var fields = [5]struct {
	name   string
	lo, hi int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 6}}

// Parse parses expr (surrounding spaces ignored). The error says which
// field or item is wrong.
func Parse(expr string) (*Schedule, error) {
	expr = strings.TrimSpace(expr)
	src := expr
	if m, ok := macros[expr]; ok {
		expr = m
	}
	f := strings.Fields(expr)
	if len(f) != len(fields) {
		return nil, fmt.Errorf("invalid cron expression %q: expected %d fields, got %d", src, len(fields), len(f))
	}
	s := &Schedule{expr: src, domAny: f[2] == "*", dowAny: f[4] == "*"}
	dst := [5]*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, field := range f {
		b := fields[i]
		for item := range strings.SplitSeq(field, ",") {
			bits, err := parseItem(item, b.lo, b.hi)
			if err != nil {
				return nil, fmt.Errorf("invalid cron %s %q: %w", b.name, item, err)
			}
			*dst[i] |= bits
		}
	}
	return s, nil
}

// parseItem returns the bits of one list item.
func parseItem(item string, lo, hi int) (uint64, error) {
	rng, stepStr, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := number(stepStr)
		if err != nil || n < 1 || n > hi-lo+1 {
			return 0, errors.New("invalid step")
		}
		step = n
	}
	from, to := lo, hi
	if rng != "*" {
		a, b, isRange := strings.Cut(rng, "-")
		var err error
		if from, err = bounded(a, lo, hi); err != nil {
			return 0, err
		}
		to = from
		if !isRange && hasStep {
			return 0, errors.New("a step needs * or a range")
		}
		if isRange {
			if to, err = bounded(b, lo, hi); err != nil {
				return 0, err
			}
			if from > to {
				return 0, errors.New("range start after its end")
			}
		}
	}
	var bits uint64
	for v := from; v <= to; v += step {
		bits |= 1 << v
	}
	return bits, nil
}

// number parses unsigned decimal digits only (no sign, no spaces).
func number(s string) (int, error) {
	if s == "" || len(s) > 4 {
		return 0, errors.New("not a number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
	}
	return strconv.Atoi(s)
}

func bounded(s string, lo, hi int) (int, error) {
	n, err := number(s)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("out of range %d-%d", lo, hi)
	}
	return n, nil
}

// String returns the expression as given to Parse (trimmed).
func (s *Schedule) String() string { return s.expr }

// Matches reports whether the minute containing t is due, read in t's
// location.
func (s *Schedule) Matches(t time.Time) bool {
	return s.minute&(1<<t.Minute()) != 0 && s.hour&(1<<t.Hour()) != 0 &&
		s.month&(1<<int(t.Month())) != 0 && s.dayMatches(t)
}

// Next returns the first due minute strictly after t (in t's location), or
// the zero time when none comes within five years (a schedule such as
// "0 0 31 2 *" never runs).
func (s *Schedule) Next(t time.Time) time.Time {
	m := t.Truncate(time.Minute).Add(time.Minute)
	end := m.AddDate(5, 0, 0)
	for m.Before(end) {
		switch {
		case s.month&(1<<int(m.Month())) == 0:
			m = time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, m.Location())
		case !s.dayMatches(m):
			m = time.Date(m.Year(), m.Month(), m.Day()+1, 0, 0, 0, 0, m.Location())
		case s.hour&(1<<m.Hour()) == 0:
			m = time.Date(m.Year(), m.Month(), m.Day(), m.Hour()+1, 0, 0, 0, m.Location())
		case s.minute&(1<<m.Minute()) == 0:
			m = m.Add(time.Minute)
		default:
			return m
		}
	}
	return time.Time{}
}

func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	if s.domAny || s.dowAny {
		return dom && dow
	}
	return dom || dow
}
