package sqlite

import (
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

func postsTable(t testing.TB) *table {
	t.Helper()
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.Fields = append(c.Fields,
		&schema.Field{Name: "title", Type: schema.TypeText},
		&schema.Field{Name: "email", Type: schema.TypeEmail},
		&schema.Field{Name: "rank", Type: schema.TypeNumber},
		&schema.Field{Name: "order", Type: schema.TypeText}, // a keyword as a name
	)
	tbl, err := tableOf(c)
	if err != nil {
		t.Fatalf("tableOf: %v", err)
	}
	return tbl
}

func TestParseIndex(t *testing.T) {
	tbl := postsTable(t)
	tests := []struct {
		def  string
		want string
	}{
		{"CREATE UNIQUE INDEX `idx_title` ON `posts` (`title`)",
			`CREATE UNIQUE INDEX "idx_title" ON "posts" ("title")`},
		{"CREATE INDEX `idx_email_pbc_1` ON `posts` (`email`) WHERE `email` != ''",
			`CREATE INDEX "idx_email_pbc_1" ON "posts" ("email") WHERE "email" != ''`},
		{"create index if not exists idx2 on POSTS (Title collate nocase desc, `rank` ASC)",
			`CREATE INDEX "idx2" ON "posts" ("title" COLLATE NOCASE DESC, "rank" ASC)`},
		{`CREATE INDEX "i" ON "posts" ("order", [rank]);`,
			`CREATE INDEX "i" ON "posts" ("order", "rank")`},
		{"CREATE INDEX i ON posts (rank) WHERE rank >= -1.5 AND title IS NOT NULL OR email = 'it''s'",
			`CREATE INDEX "i" ON "posts" ("rank") WHERE "rank" >= -1.5 AND "title" IS NOT NULL OR "email" = 'it''s'`},
		{"CREATE INDEX i ON posts (rank) WHERE rank <> 0 and title is null and email == true",
			`CREATE INDEX "i" ON "posts" ("rank") WHERE "rank" <> 0 AND "title" IS NULL AND "email" == TRUE`},
		{"\n  CREATE\tINDEX i ON posts (`title`)  \n", `CREATE INDEX "i" ON "posts" ("title")`},
	}
	for _, tt := range tests {
		ix, err := parseIndex(tt.def, tbl, []string{"posts"})
		if err != nil {
			t.Errorf("%q: %v", tt.def, err)
			continue
		}
		if got := ix.sql("posts"); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.def, got, tt.want)
		}
	}
}

func TestParseIndexRefuses(t *testing.T) {
	tbl := postsTable(t)
	tests := []struct {
		def, wantErr string
	}{
		{"CREATE INDEX i ON posts (missing)", "unknown column"},
		{"CREATE INDEX i ON other (title)", "not on this collection"},
		{"CREATE INDEX i ON posts (lower(title))", "unknown column \"lower\""},
		{"CREATE INDEX i ON posts (title", "expected , or )"},
		{"CREATE INDEX i ON posts (title) WHERE title IN (SELECT 1)", "expected a comparison"},
		{"CREATE INDEX i ON posts (title) WHERE title = other", "expected a literal"},
		{"CREATE INDEX i ON posts (title) WHERE 1 = 1", "expected column name"},
		{"CREATE INDEX i ON posts (title) WHERE title = 'x' AND", "expected column name"},
		{"CREATE INDEX i ON posts (title); DROP TABLE posts", "unexpected"},
		{"CREATE INDEX i ON posts (title) -- comment", "invalid number"},
		{"CREATE INDEX i ON posts (title) /* x */", "unexpected character"},
		{"CREATE INDEX `a b` ON posts (title)", "invalid name"},
		{"CREATE INDEX `unterminated ON posts (title)", "unterminated"},
		{"CREATE INDEX i ON posts (title) WHERE title = 'open", "unterminated string"},
		{"CREATE INDEX i ON posts (title) WHERE title = 'a\x00b'", "invalid characters"},
		{"CREATE INDEX sqlite_autoindex_x ON posts (title)", "reserved"},
		{"CREATE INDEX i ON posts (title COLLATE evil)", "unsupported collation"},
		{"CREATE INDEX i ON posts (rowid)", "unknown column"},
		{"CREATE INDEX i ON posts ()", "expected column name"},
		{"CREATE TABLE x (a)", "expected INDEX"},
		{"DROP INDEX i", "expected CREATE"},
		{"", "expected CREATE"},
		{"CREATE INDEX i ON posts (title) WHERE rank = 1.2.3", "invalid number"},
		{"CREATE INDEX i ON posts (title) WHERE rank ! 1", "unexpected character"},
		{strings.Repeat("x", maxIndexLen+1), "too long"},
	}
	for _, tt := range tests {
		_, err := parseIndex(tt.def, tbl, []string{"posts"})
		if err == nil {
			t.Errorf("%q: parsed, want an error containing %q", tt.def, tt.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%q: got %q, want it to contain %q", tt.def, err, tt.wantErr)
		}
	}
}

func TestParseIndexesReportsPosition(t *testing.T) {
	tbl := postsTable(t)
	_, err := parseIndexes([]string{
		"CREATE INDEX a ON posts (title)",
		"CREATE INDEX A ON posts (rank)",
	}, tbl, "posts")
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid {
		t.Fatalf("got %v, want invalid", err)
	}
	problems, _ := e.Data["indexes"].(map[string]any)
	if _, ok := problems["1"]; !ok {
		t.Errorf("data: got %#v, want a problem for index 1", e.Data)
	}
}

// FuzzParseIndex checks that the parser never panics and that what it
// emits is itself accepted and stable.
func FuzzParseIndex(f *testing.F) {
	for _, seed := range []string{
		"CREATE UNIQUE INDEX `idx_title` ON `posts` (`title`)",
		"CREATE INDEX `idx_email` ON `posts` (`email`) WHERE `email` != ''",
		"create index if not exists i on posts (title collate nocase desc, rank asc) where rank > -1 and title is not null",
		"CREATE INDEX i ON posts (title) WHERE title = 'it''s'",
		`CREATE INDEX "i" ON [posts] ("order")`,
	} {
		f.Add(seed)
	}
	tbl := postsTable(f)
	f.Fuzz(func(t *testing.T, def string) {
		ix, err := parseIndex(def, tbl, []string{"posts"})
		if err != nil {
			return
		}
		out := ix.sql("posts")
		again, err := parseIndex(out, tbl, []string{"posts"})
		if err != nil {
			t.Fatalf("emitted SQL %q does not parse: %v", out, err)
		}
		if got := again.sql("posts"); got != out {
			t.Fatalf("not stable:\n%s\n%s", out, got)
		}
	})
}
