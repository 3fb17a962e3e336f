package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIntegrityFindsCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		"PRAGMA page_size=4096",
		"CREATE TABLE parent (id INTEGER PRIMARY KEY)",
		"CREATE TABLE t (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id), body TEXT)",
		"CREATE INDEX t_body ON t (body)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO t (body) SELECT printf('row %d %s', i, hex(randomblob(40))) FROM n",
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()

	problems, err := integrity(t.Context(), path, true)
	if err != nil || len(problems) != 0 {
		t.Fatalf("sound file: problems %q, err %v; want none", problems, err)
	}

	// A dangling foreign key (foreign keys are off on this connection).
	db, _ = sql.Open("sqlite", path)
	if _, err := db.Exec("UPDATE t SET parent = 42 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	problems, err = integrity(t.Context(), path, true)
	if err != nil || len(problems) != 1 || !strings.HasPrefix(problems[0], "foreign_key_check") {
		t.Fatalf("dangling reference: problems %q, err %v; want one foreign_key_check problem", problems, err)
	}

	// Overwrite a page in the middle of the file (the index or the table).
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	page := st.Size() / 4096 / 2
	garbage := []byte(strings.Repeat("\xff\x00\x13", 4096/3))
	if _, err := f.WriteAt(garbage, page*4096+100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	problems, err = integrity(t.Context(), path, true)
	if err == nil && len(problems) == 0 {
		t.Fatal("overwritten page: no problem found")
	}
	t.Logf("overwritten page: problems %q, err %v", problems, err)
}
