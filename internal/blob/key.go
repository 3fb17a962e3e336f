package blob

import (
	"fmt"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// Key limits. They keep keys portable across file systems (255 bytes per
// name) and object stores (1024 bytes per key on S3).
const (
	MaxKeyLen     = 1024
	MaxSegmentLen = 255
)

// ValidateKey reports whether key is a safe object key: one or more segments
// separated by single "/", each made only of ASCII letters, digits, '.', '_'
// and '-', none empty or starting with '.' (so no ".", "..", hidden names or
// absolute paths), at most MaxSegmentLen bytes per segment and MaxKeyLen in
// all. It returns an invalid *apperr.Error, or nil.
//
// Forbidding a leading '.' also keeps adapters' temporary files (which start
// with '.') out of reach of any key.
func ValidateKey(key string) error {
	if err := checkKey(key); err != nil {
		return apperr.Wrap(apperr.Invalid, "Invalid storage key.", err)
	}
	return nil
}

// ValidatePrefix is ValidateKey for DeletePrefix: the same rules, with one
// trailing "/" allowed. It returns the prefix without that slash.
func ValidatePrefix(prefix string) (string, error) {
	p := strings.TrimSuffix(prefix, "/")
	if err := ValidateKey(p); err != nil {
		return "", err
	}
	return p, nil
}

func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key")
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("key longer than %d bytes", MaxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("key %.64q: %w", key, err)
		}
	}
	return nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("empty segment")
	case len(seg) > MaxSegmentLen:
		return fmt.Errorf("segment longer than %d bytes", MaxSegmentLen)
	case seg[0] == '.':
		return fmt.Errorf("segment starts with '.'")
	}
	for i := 0; i < len(seg); i++ {
		if !segmentByte(seg[i]) {
			return fmt.Errorf("invalid byte %q", seg[i])
		}
	}
	return nil
}

func segmentByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// ValidSegment reports whether s can be one segment of a key (a file name,
// a record id): the per-segment rules of ValidateKey.
func ValidSegment(s string) bool { return checkSegment(s) == nil }
