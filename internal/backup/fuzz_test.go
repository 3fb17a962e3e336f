package backup

import (
	"strings"
	"testing"
)

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "@daily", "0 */6 * * 1-5", "5,10-12 3 * * *", "61 * * * *", "*/0 * * * *", "1-2/3 4 5 6 7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := parseCron(expr)
		if err == nil && c == nil {
			t.Fatal("nil schedule without an error")
		}
	})
}

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
