package backup

import (
	"testing"
	"time"
)

func TestCron(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04 Mon", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		expr, at string
		want     bool
	}{
		{"* * * * *", "2026-11-23 12:07 Mon", true},
		{"@daily", "2026-11-23 00:00 Mon", true},
		{"@daily", "2026-11-23 00:01 Mon", false},
		{"@hourly", "2026-11-23 07:00 Mon", true},
		{"@weekly", "2026-11-22 00:00 Sun", true},
		{"@weekly", "2026-11-23 00:00 Mon", false},
		{"0 */6 * * 1-5", "2026-11-23 18:00 Mon", true},
		{"0 */6 * * 1-5", "2026-11-22 18:00 Sun", false},
		{"0 */6 * * 1-5", "2026-11-23 19:00 Mon", false},
		{"5,10-12 3 * * *", "2026-11-23 03:11 Mon", true},
		{"5,10-12 3 * * *", "2026-11-23 03:13 Mon", false},
		{"0 0 1 * 0", "2026-11-22 00:00 Sun", true}, // day of month OR day of week
		{"0 0 1 * 7", "2026-11-22 00:00 Sun", true},
		{"30 2 15 6 *", "2026-06-15 02:30 Mon", true},
	}
	for _, tt := range tests {
		c, err := parseCron(tt.expr)
		if err != nil {
			t.Fatalf("parseCron(%q): %v", tt.expr, err)
		}
		if got := c.matches(at(tt.at)); got != tt.want {
			t.Errorf("%q at %s = %v, want %v", tt.expr, tt.at, got, tt.want)
		}
	}
	for _, bad := range []string{"", "* * * *", "61 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *"} {
		if _, err := parseCron(bad); err == nil {
			t.Errorf("parseCron(%q): want an error", bad)
		}
	}
}
