package postgres

import (
	"context"
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

func TestIndexTranslation(t *testing.T) {
	c := &schema.Collection{Name: "posts", Fields: []*schema.Field{
		{Name: "id", Type: schema.TypeText},
		{Name: "title", Type: schema.TypeText},
		{Name: "Slug", Type: schema.TypeText},
		{Name: "views", Type: schema.TypeNumber},
		{Name: "draft", Type: schema.TypeBool},
		{Name: "meta", Type: schema.TypeJSON},
		{Name: "tags", Type: schema.TypeSelect, MaxSelect: 3, Values: []string{"a"}},
	}}
	tbl, err := tableOf(c)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ def, want string }{
		{"CREATE UNIQUE INDEX `idx_slug` ON `posts` (`slug`)",
			`CREATE UNIQUE INDEX "idx_slug" ON "posts" ("Slug")`},
		{"CREATE INDEX `idx_title` ON `posts` (`title` COLLATE NOCASE DESC, `views` ASC)",
			`CREATE INDEX "idx_title" ON "posts" ((lower("title")) DESC, "views" ASC)`},
		{"CREATE INDEX IF NOT EXISTS idx_t ON posts (title COLLATE RTRIM, title COLLATE BINARY);",
			`CREATE INDEX "idx_t" ON "posts" ((rtrim("title", ' ')), "title")`},
		{"CREATE UNIQUE INDEX `idx_e` ON `posts` (`title`) WHERE `title` != '' AND `views` > 1.5 OR `draft` = 1",
			`CREATE UNIQUE INDEX "idx_e" ON "posts" ("title") WHERE "title" != E'' AND "views" > 1.5 OR "draft" = TRUE`},
		{"CREATE INDEX `idx_q` ON `posts` (`title`) WHERE `title` == 'it''s \\ here' OR `title` = 12 OR `meta` IS NOT NULL",
			`CREATE INDEX "idx_q" ON "posts" ("title") WHERE "title" = E'it\'s \\ here' OR "title" = E'12' OR ("meta"::text) IS NOT NULL`},
		{"CREATE INDEX `idx_m` ON `posts` (`meta`, `tags`)",
			`CREATE INDEX "idx_m" ON "posts" ((("meta"::text)), "tags")`},
	}
	for _, tt := range tests {
		ixs, err := parseIndexes([]string{tt.def}, tbl, "posts")
		if err != nil {
			t.Errorf("%s: %v", tt.def, err)
			continue
		}
		if got := ixs[0].sql("posts"); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.def, got, tt.want)
		}
	}
	for _, def := range []string{
		"CREATE INDEX `idx_b` ON `posts` (`title`) WHERE `draft` = 2",
		"CREATE INDEX `idx_x` ON `posts` (lower(`title`))",
		"CREATE INDEX `a234567890123456789012345678901234567890123456789012345678901234` ON `posts` (`title`)",
	} {
		if _, err := parseIndexes([]string{def}, tbl, "posts"); err == nil {
			t.Errorf("%s: want an error", def)
		}
	}
}

// TestIndexesOnPostgres creates every translated form on a real table, and
// checks that an update that does not touch an index keeps it (same
// object) while a changed one is rebuilt.
func TestIndexesOnPostgres(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := &schema.Collection{ID: "pbc_posts", Name: "posts", Type: schema.TypeBase, Fields: []*schema.Field{
		{ID: "f_id", Name: "id", Type: schema.TypeText},
		{ID: "f_title", Name: "title", Type: schema.TypeText},
		{ID: "f_views", Name: "views", Type: schema.TypeNumber},
		{ID: "f_draft", Name: "draft", Type: schema.TypeBool},
		{ID: "f_meta", Name: "meta", Type: schema.TypeJSON},
		{ID: "f_tags", Name: "tags", Type: schema.TypeSelect, MaxSelect: 3, Values: []string{"a"}},
	}, Indexes: []string{
		"CREATE INDEX `idx_title` ON `posts` (`title` COLLATE NOCASE DESC, `views` ASC)",
		"CREATE INDEX `idx_t` ON posts (title COLLATE RTRIM) WHERE `title` == 'it''s \\ here' OR `title` = 12 OR `meta` IS NOT NULL",
		"CREATE UNIQUE INDEX `idx_e` ON `posts` (`title`) WHERE `title` != '' AND `views` > 1.5 OR `draft` = 1",
		"CREATE INDEX `idx_m` ON `posts` (`meta`, `tags`)",
	}}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	oid := func(name string) uint32 {
		t.Helper()
		var o uint32
		if err := s.pool.QueryRow(ctx, `SELECT $1::regclass::oid`, name).Scan(&o); err != nil {
			t.Fatalf("index %s: %v", name, err)
		}
		return o
	}
	before := map[string]uint32{"idx_title": oid("idx_title"), "idx_m": oid("idx_m")}
	next := c.Clone()
	next.ListRule = schema.Rule("")
	next.Fields = append(next.Fields, &schema.Field{ID: "f_extra", Name: "extra", Type: schema.TypeText})
	next.Indexes = []string{c.Indexes[0], c.Indexes[3], "CREATE INDEX `idx_new` ON `posts` (`extra`)"}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateCollection(ctx, c, next) }); err != nil {
		t.Fatal(err)
	}
	for name, o := range before {
		if got := oid(name); got != o {
			t.Errorf("index %s was rebuilt by an update that kept it", name)
		}
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'posts' AND indexname IN ('idx_t', 'idx_e')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("dropped indexes left: %d, %v", n, err)
	}
	oid("idx_new")
}
