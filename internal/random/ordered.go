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
	return timePrefixed(max(t.UnixMilli(), 0), orderedTimeWidth, n)
}

// recordEpoch is where the time part of record ids starts: 8 base-36
// characters of milliseconds from it last until the year 2109.
var recordEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// recordTimeWidth is how many characters of a record id hold its time.
const recordTimeWidth = 8

// recordTimeSpan is the number of milliseconds recordTimeWidth characters
// count before they wrap around.
const recordTimeSpan = 2821109907456 // 36^8

// RecordID returns a 15-character [a-z0-9] record id, the shape of the
// default id field, that sorts by creation time like Ordered ids: the
// milliseconds since 2020 in 8 base-36 characters, then 7 random characters
// (36^7 ≈ 7.8·10^10 ids per millisecond, about 36 bits). New records then
// land at the end of their table's id index, which makes a group of
// concurrent creates dirty one page of it instead of one page each. After
// the year 2109 the time part wraps around: ids stay valid and unique, only
// their order restarts.
func RecordID(t time.Time) string {
	ms := (t.UnixMilli() - recordEpoch) % recordTimeSpan
	if ms < 0 {
		ms += recordTimeSpan
	}
	return timePrefixed(ms, recordTimeWidth, 15)
}

// timePrefixed returns ms in base 36 zero-padded to width characters,
// followed by random [a-z0-9] characters up to n characters in all.
func timePrefixed(ms int64, width, n int) string {
	b := make([]byte, 0, n)
	digits := strconv.FormatInt(ms, 36)
	for range width - len(digits) {
		b = append(b, '0')
	}
	b = append(b, digits...)
	return string(b) + String(LowerAlnum, n-len(b))
}
