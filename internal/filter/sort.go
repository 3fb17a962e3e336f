package filter

import (
	"strconv"
	"strings"
)

// Special sort keys.
const (
	SortRandom = "@random" // random order
	SortRowID  = "@rowid"  // insertion order
)

// SortField is one item of a sort expression.
type SortField struct {
	// Field is the identifier to sort by; nil for @random and @rowid.
	Field *Identifier
	// Special is SortRandom or SortRowID, or "" for a field.
	Special string
	// Desc is true for a descending sort (a - prefix).
	Desc bool
}

// String returns the canonical form: the key with a - prefix when
// descending.
func (f SortField) String() string {
	key := f.Special
	if f.Field != nil {
		key = f.Field.Name()
	}
	if f.Desc {
		return "-" + key
	}
	return key
}

// ParseSort parses a comma-separated sort expression such as
// `-created,+title,author.name,@random`: a - prefix sorts descending, a + or
// no prefix ascending. Each key must be a field identifier, @random or
// @rowid; there may be at most [MaxSortFields] keys. Errors are *Error
// values.
func ParseSort(src string) ([]SortField, error) {
	if len(src) > MaxLength {
		return nil, &Error{Pos: MaxLength, Msg: "sort is longer than " + strconv.Itoa(MaxLength) + " characters"}
	}
	var out []SortField
	pos := 0
	for part := range strings.SplitSeq(src, ",") {
		start := pos
		pos += len(part) + 1
		key := strings.TrimSpace(part)
		keyPos := start + strings.Index(part, key)
		if key == "" {
			return nil, &Error{Pos: start, Msg: "empty sort field"}
		}
		if len(out) == MaxSortFields {
			return nil, &Error{Pos: start, Msg: "more than " + strconv.Itoa(MaxSortFields) + " sort fields"}
		}
		f := SortField{}
		switch key[0] {
		case '-':
			f.Desc = true
			key, keyPos = key[1:], keyPos+1
		case '+':
			key, keyPos = key[1:], keyPos+1
		}
		switch {
		case key == SortRandom || key == SortRowID:
			f.Special = key
		case isMacroName(key):
			return nil, &Error{Pos: keyPos, Msg: "cannot sort by " + strconv.Quote(key)}
		default:
			if key == "" || !(isLetter(key[0]) || key[0] == '_' || key[0] == '@') {
				return nil, &Error{Pos: keyPos, Msg: "invalid sort field " + strconv.Quote(key)}
			}
			id, err := newIdentifier(key, keyPos)
			if err != nil {
				return nil, err
			}
			f.Field = id
		}
		out = append(out, f)
	}
	return out, nil
}
