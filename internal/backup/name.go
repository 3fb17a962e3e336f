package backup

import (
	"regexp"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// maxNameLen bounds a backup name, as PocketBase does.
const maxNameLen = 150

// nameRe is what a created or uploaded backup may be called: lower case,
// digits, "_", "-" and ".", ending in ".zip" (PocketBase's rule, without
// the directory separators its ".*" would let through).
var nameRe = regexp.MustCompile(`^[a-z0-9_-][a-z0-9_.-]*\.zip$`)

// checkName validates a backup name chosen by a client.
func checkName(name string) error {
	if len(name) > maxNameLen || !nameRe.MatchString(name) {
		return apperr.Fields("Failed to create backup.", map[string]apperr.Field{
			"name": {Code: "validation_match_invalid", Message: "Must be in a valid format."}})
	}
	return nil
}

// validKey reports whether key can name a stored backup: one plain file
// name ending in ".zip" (automatic backups start with "@"). It keeps path
// parameters from reaching outside the backups directory.
func validKey(key string) bool {
	if key == "" || len(key) > 255 || !strings.HasSuffix(key, ".zip") || strings.HasPrefix(key, ".") {
		return false
	}
	return !strings.ContainsAny(key, "/\\\x00")
}
