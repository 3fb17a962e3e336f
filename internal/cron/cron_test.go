package cron

import (
	"testing"
	"time"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04 Mon", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	for _, e := range []string{"* * * * *", "0 0 * * *", "*/5 * * * *", "0 9-17/2 * * 1-5", "0,30 * 1,15 1-12 0",
		"@hourly", " @daily ", "@yearly", "@annually", "@monthly", "@weekly", "@midnight", "59 23 31 12 6", "*/60 * * * *"} {
		if _, err := Parse(e); err != nil {
			t.Errorf("Parse(%q) = %v, want nil", e, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	for _, e := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *",
		"* * * 13 *", "* * * 0 *", "* * * * 7", "*/0 * * * *", "*/61 * * * *", "5/2 * * * *", "10-5 * * * *", "a * * * *",
		"-1 * * * *", "+1 * * * *", "@every", "@every 1m", "1- * * * *", "-5 * * * *", ",1 * * * *", "1,,2 * * * *",
		"*/ * * * *", "1-2-3 * * * *", "00000001 * * * *", "* * * * MON"} {
		if _, err := Parse(e); err == nil {
			t.Errorf("Parse(%q) = nil error, want one", e)
		}
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, at string
		want     bool
	}{
		{"* * * * *", "2026-11-23 12:07 Mon", true},
		{"@daily", "2026-11-23 00:00 Mon", true},
		{"@daily", "2026-11-23 00:01 Mon", false},
		{"@hourly", "2026-11-23 07:00 Mon", true},
		{"@hourly", "2026-11-23 07:30 Mon", false},
		{"@weekly", "2026-11-22 00:00 Sun", true},
		{"@weekly", "2026-11-23 00:00 Mon", false},
		{"@monthly", "2026-12-01 00:00 Tue", true},
		{"@yearly", "2027-01-01 00:00 Fri", true},
		{"@yearly", "2027-02-01 00:00 Mon", false},
		{"0 */6 * * 1-5", "2026-11-23 18:00 Mon", true},
		{"0 */6 * * 1-5", "2026-11-22 18:00 Sun", false},
		{"0 */6 * * 1-5", "2026-11-23 19:00 Mon", false},
		{"5,10-12 3 * * *", "2026-11-23 03:11 Mon", true},
		{"5,10-12 3 * * *", "2026-11-23 03:13 Mon", false},
		{"0 0 1 * 0", "2026-11-22 00:00 Sun", true}, // day of month OR day of week
		{"0 0 1 * 0", "2026-12-01 00:00 Tue", true},
		{"0 0 1 * 0", "2026-12-02 00:00 Wed", false},
		{"0 0 * * 0", "2026-12-01 00:00 Tue", false},
		{"30 2 15 6 *", "2026-06-15 02:30 Mon", true},
		{"0 9-17/2 * * *", "2026-06-15 11:00 Mon", true},
		{"0 9-17/2 * * *", "2026-06-15 12:00 Mon", false},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		if got := s.Matches(at(t, tt.at)); got != tt.want {
			t.Errorf("%q at %s = %v, want %v", tt.expr, tt.at, got, tt.want)
		}
	}
}

func TestNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ expr, from, want string }{
		{"* * * * *", "2026-11-23 12:07 Mon", "2026-11-23 12:08 Mon"},
		{"@hourly", "2026-11-23 12:00 Mon", "2026-11-23 13:00 Mon"},
		{"@daily", "2026-11-23 12:07 Mon", "2026-11-24 00:00 Tue"},
		{"@weekly", "2026-11-23 12:07 Mon", "2026-11-29 00:00 Sun"},
		{"@yearly", "2026-11-23 12:07 Mon", "2027-01-01 00:00 Fri"},
		{"0 0 29 2 *", "2026-11-23 12:07 Mon", "2028-02-29 00:00 Tue"},
		{"*/15 3 * * *", "2026-11-23 03:50 Mon", "2026-11-24 03:00 Tue"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		if got, want := s.Next(at(t, tt.from)), at(t, tt.want); !got.Equal(want) {
			t.Errorf("%q Next(%s) = %s, want %s", tt.expr, tt.from, got, want)
		}
	}
	never, _ := Parse("0 0 31 2 *")
	if got := never.Next(at(t, "2026-11-23 12:07 Mon")); !got.IsZero() {
		t.Errorf("Feb 31: Next = %s, want zero", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"* * * * *", "@daily", "0 */6 * * 1-5", "5,10-12 3 * * *", "61 * * * *", "*/0 * * * *", "1-2/3 4 5 6 7", "0 0 31 2 *"} {
		f.Add(s)
	}
	start := time.Date(2026, 11, 23, 12, 7, 30, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		next := s.Next(start)
		if next.IsZero() {
			return
		}
		if !next.After(start) || !s.Matches(next) || next.Second() != 0 {
			t.Fatalf("%q: Next(%s) = %s: not a later due minute", expr, start, next)
		}
		again, err := Parse(s.String())
		if err != nil || *again != *s {
			t.Fatalf("%q: String %q does not parse back to the same schedule (%v)", expr, s.String(), err)
		}
	})
}
