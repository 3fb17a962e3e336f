package settings

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// cronMacros are the accepted shorthand schedules.
var cronMacros = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// cronFields are the bounds of the five fields: minute, hour, day of month,
// month and day of week (0 = Sunday).
var cronFields = [5]struct {
	name   string
	lo, hi int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 6}}

// checkCron reports whether expr is a schedule the job runner accepts:
// a macro, or five space-separated fields made of comma-separated items
// "*", "*/step", "n", "n-m" or "n-m/step".
func checkCron(expr string) error {
	expr = strings.TrimSpace(expr)
	if cronMacros[expr] {
		return nil
	}
	fields := strings.Fields(expr)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("invalid cron expression %q: expected %d fields, got %d", expr, len(cronFields), len(fields))
	}
	for i, f := range fields {
		b := cronFields[i]
		for item := range strings.SplitSeq(f, ",") {
			if err := checkCronItem(item, b.lo, b.hi); err != nil {
				return fmt.Errorf("invalid cron %s %q: %w", b.name, item, err)
			}
		}
	}
	return nil
}

func checkCronItem(item string, lo, hi int) error {
	rng, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 || n > hi-lo+1 {
			return errors.New("invalid step")
		}
	}
	if rng == "*" {
		return nil
	}
	from, to, isRange := strings.Cut(rng, "-")
	a, err := cronNumber(from, lo, hi)
	if err != nil {
		return err
	}
	if !isRange {
		if hasStep {
			return errors.New("a step needs * or a range")
		}
		return nil
	}
	b, err := cronNumber(to, lo, hi)
	if err != nil {
		return err
	}
	if a > b {
		return errors.New("range start after its end")
	}
	return nil
}

func cronNumber(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' {
		return 0, errors.New("not a number")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("out of range %d-%d", lo, hi)
	}
	return n, nil
}
