package filter

import (
	"strconv"
)

// Limits on a single filter. They bound the work of parsing, evaluating and
// compiling any input; the first two match a PocketBase-compatible server.
const (
	MaxLength      = 3500 // bytes of source
	MaxComparisons = 200  // comparisons (`a op b`) per filter
	MaxDepth       = 50   // nesting of parentheses
	MaxCallDepth   = 2    // nesting of function calls
	MaxSortFields  = 8    // fields in a sort expression
)

// Error is a syntax error or a violated limit, with the byte offset in the
// source where it was found.
type Error struct {
	Pos int    // byte offset in the source
	Msg string // human-readable, lower-case message
}

// Error returns the message and position.
func (e *Error) Error() string {
	return "invalid filter: " + e.Msg + " (at offset " + strconv.Itoa(e.Pos) + ")"
}

func strconvQuote(s string) string { return strconv.Quote(s) }

func quoteRune(c byte) string {
	if c < 0x80 {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}
