package logs

import (
	"strconv"
	"time"

	"github.com/basalt-dev/basalt/internal/random"
)

// timeOrderedID is a 15-character id of [a-z0-9], as PocketBase's: the
// Unix time in milliseconds in base 36 (9 characters, zero-padded; enough
// for years beyond 5000), then 6 random characters. Ids written later sort
// later, so the log table's id index grows at its end instead of getting
// each batch's rows scattered over its pages: a batch of a thousand
// request logs dirties a handful of index pages, not a thousand.
func timeOrderedID(t time.Time) string {
	ms := strconv.FormatInt(max(t.UnixMilli(), 0), 36)
	const width = 9
	b := make([]byte, 0, 15)
	for range width - len(ms) {
		b = append(b, '0')
	}
	b = append(b, ms...)
	return string(b) + random.String(random.LowerAlnum, 15-len(b))
}
