package backup

import (
	"strings"
	"testing"
)

// entryPath never lets a name through that leaves the destination.
func FuzzEntryPath(f *testing.F) {
	for _, s := range []string{"data.db", "storage/a/b.txt", "../x", "storage/../../x", "/abs", `a\b`, "a//b", "./a", "dir/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, _, err := entryPath(name)
		if err != nil {
			return
		}
		if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || p == ".." || strings.HasPrefix(p, "../") ||
			strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "\x00") {
			t.Fatalf("entryPath(%q) = %q: unsafe", name, p)
		}
	})
}
