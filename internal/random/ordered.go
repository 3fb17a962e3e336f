package random

import (
	"strconv"
	"time"
)

// orderedTimeWidth is how many characters of an ordered id hold its time:
// Unix milliseconds in base 36, zero-padded, enough for years beyond 5000.
const orderedTimeWidth = 9

// Ordered returns an n-character [a-z0-9] id (n > 9) that sorts after the
// ids of earlier milliseconds: the time t in Unix milliseconds in base 36
// (9 characters), then n-9 random characters. Rows keyed by such ids land
// at the end of their index instead of on a random page of it, so a
// transaction writing many rows dirties a few index pages, not one each.
// Only the random part tells ids of one millisecond apart: choose n for
// the rate of ids per millisecond (15 leaves 36^6 ≈ 2·10^9).
func Ordered(t time.Time, n int) string {
	if n <= orderedTimeWidth {
		panic("random: an ordered id needs more than 9 characters")
	}
	ms := strconv.FormatInt(max(t.UnixMilli(), 0), 36)
	b := make([]byte, 0, n)
	for range orderedTimeWidth - len(ms) {
		b = append(b, '0')
	}
	b = append(b, ms...)
	return string(b) + String(LowerAlnum, n-len(b))
}
