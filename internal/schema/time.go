package schema

import (
	"strings"
	"time"
)

// DateLayout is the wire and storage layout of every date value.
const DateLayout = "2006-01-02 15:04:05.000Z"

// FormatTime formats t in UTC with DateLayout.
func FormatTime(t time.Time) string {
	return t.UTC().Format(DateLayout)
}

var parseLayouts = []string{
	DateLayout,
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// ParseTime parses s in any of the accepted date layouts. A value without a
// zone is taken as UTC.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range parseLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
