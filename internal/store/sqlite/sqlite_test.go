package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/storetest"
)

// openTest opens a store on a fresh database file that is closed when the
// test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestOpenSettings(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	pragma := func(db *sql.DB, name string) string {
		t.Helper()
		var v string
		if err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for _, tt := range []struct {
		db         *sql.DB
		name, want string
	}{
		{s.write, "journal_mode", "wal"},
		{s.write, "synchronous", "1"},
		{s.write, "foreign_keys", "1"},
		{s.write, "temp_store", "2"},
		{s.write, "busy_timeout", "5000"},
		{s.write, "cache_size", "-32000"},
		{s.write, "journal_size_limit", "200000000"},
		{s.write, "query_only", "0"},
		{s.read, "journal_mode", "wal"},
		{s.read, "query_only", "1"},
		{s.read, "foreign_keys", "1"},
	} {
		if got := pragma(tt.db, tt.name); got != tt.want {
			t.Errorf("PRAGMA %s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := s.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer connections: got %d, want 1", got)
	}
	if got := s.read.Stats().MaxOpenConnections; got < 4 {
		t.Errorf("reader connections: got %d, want at least 4", got)
	}
	if _, err := s.read.ExecContext(ctx, `INSERT INTO "_params" ("key", "value") VALUES ('x', 'y')`); err == nil {
		t.Errorf("the read pool accepted a write")
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := Open(context.Background(), path, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q): want an error", path)
		}
	}
}

func TestOpenPathWithSpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x#y%z", "data.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at %s: %v", path, err)
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.ID = "pbc_posts"
	for i := 0; i < 3; i++ {
		s, err := Open(ctx, path, nil)
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		if i == 0 {
			err = s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateCollection(ctx, c); err != nil {
					return err
				}
				r := schema.NewRecord(c)
				r.Data["id"] = "aaaaaaaaaaaaaa1"
				return tx.InsertRecord(ctx, r)
			})
			if err != nil {
				t.Fatalf("writing: %v", err)
			}
		}
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM "_migrations"`).Scan(&n); err != nil || n != len(systemMigrations) {
			t.Errorf("open #%d: %d migrations recorded (%v), want %d", i, n, err, len(systemMigrations))
		}
		if got, err := s.CountRecords(ctx, &store.Query{Collection: c}); err != nil || got != 1 {
			t.Errorf("open #%d: %d records (%v), want 1", i, got, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// TestSchemaGolden pins the SQL of a table with every field type and its
// indexes. Run with -update to rewrite testdata/schema.golden.
func TestSchemaGolden(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeAuth, "members", func() string { return "secret" })
	c.ID = "pbc_members"
	for _, typ := range schema.FieldTypes {
		c.Fields = append(c.Fields, &schema.Field{ID: typ + "1", Name: typ + "_one", Type: typ, MaxSelect: 1})
		if typ == schema.TypeSelect || typ == schema.TypeRelation || typ == schema.TypeFile {
			c.Fields = append(c.Fields, &schema.Field{ID: typ + "2", Name: typ + "_many", Type: typ, MaxSelect: 5})
		}
	}
	c.Indexes = append(schema.AuthIndexes(c.ID, c.Name),
		"CREATE INDEX `idx_multi` ON `members` (`number_one` DESC, `text_one` COLLATE NOCASE)")
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatalf("CreateCollection: %v", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT "sql" FROM sqlite_schema WHERE "tbl_name" = 'members' AND "sql" IS NOT NULL ORDER BY "type" DESC, "name"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			t.Fatal(err)
		}
		b.WriteString(stmt + ";\n")
	}
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("schema differs from %s (run with -update if intended):\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

// TestEmittedIndexSQLRuns checks that every index the parser accepts in
// TestParseIndex is valid SQLite.
func TestEmittedIndexSQLRuns(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	tbl := postsTable(t)
	if _, err := s.write.ExecContext(ctx, tbl.createSQL("posts")); err != nil {
		t.Fatal(err)
	}
	for i, def := range []string{
		"CREATE UNIQUE INDEX `idx_title` ON `posts` (`title`)",
		"CREATE INDEX `idx_email` ON `posts` (`email`) WHERE `email` != ''",
		"create index if not exists idx2 on POSTS (Title collate nocase desc, `rank` ASC)",
		`CREATE INDEX "i3" ON "posts" ("order", [rank]);`,
		"CREATE INDEX i4 ON posts (rank) WHERE rank >= -1.5 AND title IS NOT NULL OR email = 'it''s'",
		"CREATE INDEX i5 ON posts (rank) WHERE rank <> 0 and title is null and email == true",
	} {
		ix, err := parseIndex(def, tbl, []string{"posts"})
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if _, err := s.write.ExecContext(ctx, ix.sql("posts")); err != nil {
			t.Errorf("%d: %s: %v", i, ix.sql("posts"), err)
		}
	}
}

func TestBusyRetry(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	opts := options{busyTimeout: 5 * time.Millisecond, busyRetries: 10, busyBackoffFirst: 5 * time.Millisecond, busyBackoffMax: 50 * time.Millisecond}
	a, err := open(ctx, path, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// b stands for a second process on the same file (a CLI next to serve).
	b, err := open(ctx, path, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// hold makes a take the write lock and keep it until release is closed.
	hold := func(release <-chan struct{}) (locked, done <-chan struct{}) {
		l, d := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(d)
			_ = a.InTx(ctx, func(tx store.Tx) error {
				if err := tx.SetParam(ctx, "a", []byte("1")); err != nil {
					return err
				}
				close(l)
				<-release
				return nil
			})
		}()
		return l, d
	}

	// A short hold is waited out by the retries.
	release := make(chan struct{})
	locked, done := hold(release)
	<-locked
	time.AfterFunc(30*time.Millisecond, func() { close(release) })
	if err := b.InTx(ctx, func(tx store.Tx) error { return tx.SetParam(ctx, "b", []byte("1")) }); err != nil {
		t.Errorf("InTx while another writer holds the lock briefly: %v", err)
	}
	<-done

	// A hold longer than every retry fails as unavailable.
	release = make(chan struct{})
	locked, done = hold(release)
	<-locked
	err = b.InTx(ctx, func(tx store.Tx) error { return tx.SetParam(ctx, "b", []byte("2")) })
	close(release)
	<-done
	if got := apperr.CodeOf(err); got != apperr.Unavailable {
		t.Errorf("InTx while another writer holds the lock: got %q (%v), want unavailable", got, err)
	}
}

func TestFormatError(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	_, err := s.write.ExecContext(ctx, `CREATE TABLE "t" ("id" TEXT PRIMARY KEY, "a" TEXT, "b" TEXT, UNIQUE ("a", "b"))`)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string) error {
		_, err := s.write.ExecContext(ctx, q)
		return formatError(ctx, err)
	}
	if err := exec(`INSERT INTO "t" VALUES ('1', 'x', 'y')`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		err    error
		code   apperr.Code
		fields []string
	}{
		{"primary key", exec(`INSERT INTO "t" VALUES ('1', 'p', 'q')`), apperr.Conflict, []string{"id"}},
		{"composite unique", exec(`INSERT INTO "t" VALUES ('2', 'x', 'y')`), apperr.Conflict, []string{"a", "b"}},
		{"no such table", exec(`SELECT * FROM "missing"`), apperr.NotFound, nil},
		{"table exists", exec(`CREATE TABLE "t" ("x")`), apperr.Conflict, nil},
		{"syntax", exec(`SELEKT 1`), apperr.Internal, nil},
		{"no rows", formatError(ctx, sql.ErrNoRows), apperr.NotFound, nil},
		{"app error passes", formatError(ctx, apperr.New(apperr.Forbidden, "no")), apperr.Forbidden, nil},
		{"canceled", formatError(ctx, context.Canceled), apperr.Unavailable, nil},
	}
	for _, tt := range tests {
		if got := apperr.CodeOf(tt.err); got != tt.code {
			t.Errorf("%s: got %q (%v), want %q", tt.name, got, tt.err, tt.code)
			continue
		}
		e := apperr.As(tt.err)
		if len(e.Data) != len(tt.fields) {
			t.Errorf("%s: data %#v, want fields %v", tt.name, e.Data, tt.fields)
		}
		for _, f := range tt.fields {
			if e.Data[f] != notUnique {
				t.Errorf("%s: data %#v, want %s not unique", tt.name, e.Data, f)
			}
		}
	}
	if err := formatError(ctx, context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("a canceled error lost its cause: %v", err)
	}
}
