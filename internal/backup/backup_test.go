package backup_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/backup"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// env is a data directory with a real SQLite store and one stored file.
type env struct {
	dir   string
	store *sqlite.Store
	svc   *backup.Service
	now   time.Time
}

func newEnv(t *testing.T, opts ...func(*backup.Options)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "data.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := os.MkdirAll(filepath.Join(dir, "storage", "col1", "rec1"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "storage", "col1", "rec1", "a.txt"), []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, store: st, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	o := backup.Options{
		Dir:       dir,
		Databases: []backup.Database{{Name: "data.db", DB: st}},
		Check:     sqlite.CheckFile,
		AppName:   func() string { return "My App!" },
		Now:       func() time.Time { return e.now },
	}
	for _, f := range opts {
		f(&o)
	}
	e.svc = backup.New(o)
	return e
}

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func zipEntries(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(b)
	}
	return out
}

func TestCreateListOpenDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key, err := e.svc.Create(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "pb_backup_my_app_20261123120000.zip"; key != want {
		t.Fatalf("default key = %q, want %q", key, want)
	}
	if _, err := e.svc.Create(ctx, "named-1.zip"); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("List = %+v, want 2 backups", list)
	}
	f, info, err := e.svc.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if info.Size == 0 {
		t.Fatalf("size = 0")
	}
	entries := zipEntries(t, filepath.Join(e.dir, "backups", key))
	if entries["storage/col1/rec1/a.txt"] != "hello" {
		t.Errorf("stored file missing from the zip: %v", keys(entries))
	}
	if !strings.HasPrefix(entries["data.db"], "SQLite format 3\x00") {
		t.Errorf("data.db missing from the zip: %v", keys(entries))
	}
	if err := e.svc.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.Delete(ctx, key), apperr.NotFound)
	_, _, err = e.svc.Open(ctx, key)
	wantCode(t, err, apperr.NotFound)
	for _, k := range []string{"../data.db", "..", "a/b.zip", ".tmp.zip", "x.txt"} {
		_, _, err := e.svc.Open(ctx, k)
		wantCode(t, err, apperr.NotFound)
		wantCode(t, e.svc.Delete(ctx, k), apperr.NotFound)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCreateRejects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, name := range []string{"Upper.zip", "a.tar", "../x.zip", "a/b.zip", ".zip", "@auto.zip", strings.Repeat("a", 150) + ".zip"} {
		_, err := e.svc.Create(ctx, name)
		wantCode(t, err, apperr.Invalid)
	}
	if _, err := e.svc.Create(ctx, "dup.zip"); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Create(ctx, "dup.zip")
	wantCode(t, err, apperr.Invalid)
}

func TestPostgresUnsupported(t *testing.T) {
	svc := backup.New(backup.Options{Dir: t.TempDir(), Unsupported: "Backups of a PostgreSQL database are made with PostgreSQL's tools."})
	_, err := svc.Create(context.Background(), "")
	wantCode(t, err, apperr.Invalid)
	_, err = svc.List(context.Background())
	wantCode(t, err, apperr.Invalid)
}

// zipOf builds a zip from name → content pairs.
func zipOf(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e[0], Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e[1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUploadRejectsHostileZips(t *testing.T) {
	e := newEnv(t, func(o *backup.Options) { o.MaxUnpacked = 4 << 20; o.MaxSize = 1 << 20 })
	ctx := context.Background()
	good, err := e.svc.Create(ctx, "good.zip")
	if err != nil {
		t.Fatal(err)
	}
	dbBytes := zipEntries(t, filepath.Join(e.dir, "backups", good))["data.db"]
	cases := map[string][]byte{
		"not a zip":       []byte("definitely not a zip file"),
		"traversal":       zipOf(t, [2]string{"data.db", dbBytes}, [2]string{"../evil.txt", "x"}),
		"nested traverse": zipOf(t, [2]string{"data.db", dbBytes}, [2]string{"storage/../../evil.txt", "x"}),
		"absolute":        zipOf(t, [2]string{"data.db", dbBytes}, [2]string{"/tmp/evil.txt", "x"}),
		"backslash":       zipOf(t, [2]string{"data.db", dbBytes}, [2]string{`storage\..\..\evil.txt`, "x"}),
		"no database":     zipOf(t, [2]string{"storage/a.txt", "x"}),
		"corrupt db":      zipOf(t, [2]string{"data.db", "SQLite format 3\x00" + strings.Repeat("garbage!", 1000)}),
		"bomb":            zipOf(t, [2]string{"data.db", dbBytes}, [2]string{"storage/big", strings.Repeat("0", 8<<20)}),
		"too big":         bytes.Repeat([]byte("x"), 2<<20),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			err := e.svc.Upload(ctx, "up.zip", bytes.NewReader(body))
			wantCode(t, err, apperr.Invalid)
			list, _ := e.svc.List(ctx)
			if len(list) != 1 {
				t.Fatalf("backups after a rejected upload = %+v, want only good.zip", list)
			}
			if _, err := os.Stat(filepath.Join(e.dir, "evil.txt")); err == nil {
				t.Fatal("a traversal entry was written")
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(e.dir), "evil.txt")); err == nil {
				t.Fatal("a traversal entry was written")
			}
			left, _ := os.ReadDir(filepath.Join(e.dir, "backups"))
			if len(left) != 1 {
				t.Fatalf("backups dir holds %d entries, want 1 (temporary files left behind)", len(left))
			}
		})
	}
	if err := e.svc.Upload(ctx, "Bad Name.zip", bytes.NewReader(nil)); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("bad name: %v", err)
	}
	// A valid backup uploads.
	if err := e.svc.Upload(ctx, "copy.zip", bytes.NewReader(zipOf(t, [2]string{"data.db", dbBytes}))); err != nil {
		t.Fatalf("valid upload: %v", err)
	}
}

func TestBusy(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	e := newEnv(t)
	slow := slowSnapshotter{inner: e.store, entered: entered, release: release}
	svc := backup.New(backup.Options{Dir: e.dir, Databases: []backup.Database{{Name: "data.db", DB: slow}}, Check: sqlite.CheckFile})
	done := make(chan error, 1)
	go func() { _, err := svc.Create(context.Background(), "one.zip"); done <- err }()
	<-entered
	_, err := svc.Create(context.Background(), "two.zip")
	wantCode(t, err, apperr.Invalid)
	wantCode(t, svc.Restore(context.Background(), "one.zip"), apperr.Invalid)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type slowSnapshotter struct {
	inner            backup.Snapshotter
	entered, release chan struct{}
}

func (s slowSnapshotter) Snapshot(ctx context.Context, path string) error {
	close(s.entered)
	<-s.release
	return s.inner.Snapshot(ctx, path)
}

func count(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM notes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRestoreStageAndApply(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data.db")
	st, err := sqlite.Open(ctx, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE notes (v TEXT)`)
	exec(`INSERT INTO notes VALUES ('kept')`)
	os.MkdirAll(filepath.Join(dir, "storage", "c"), 0o750)
	os.WriteFile(filepath.Join(dir, "storage", "c", "old.txt"), []byte("old"), 0o640)
	restarted := 0
	svc := backup.New(backup.Options{Dir: dir, Databases: []backup.Database{{Name: "data.db", DB: st}},
		Check: sqlite.CheckFile, Restart: func() { restarted++ }})
	if _, err := svc.Create(ctx, "snap.zip"); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO notes VALUES ('after')`)
	os.WriteFile(filepath.Join(dir, "storage", "c", "new.txt"), []byte("new"), 0o640)

	wantCode(t, svc.Restore(ctx, "missing.zip"), apperr.NotFound)
	if err := svc.Restore(ctx, "snap.zip"); err != nil {
		t.Fatal(err)
	}
	if restarted != 1 {
		t.Fatalf("Restart called %d times, want 1", restarted)
	}
	// Until applied, the live data is untouched.
	if n := count(t, dbPath); n != 2 {
		t.Fatalf("rows before apply = %d, want 2", n)
	}
	raw.Close()
	st.Close()
	// Leftovers of an unpacking cut short by a crash are cleared.
	if err := os.MkdirAll(filepath.Join(dir, ".restore-tmp-123", "storage"), 0o750); err != nil {
		t.Fatal(err)
	}
	applied, err := backup.Apply(dir)
	if err != nil || !applied {
		t.Fatalf("Apply = %v, %v; want true, nil", applied, err)
	}
	if n := count(t, dbPath); n != 1 {
		t.Fatalf("rows after restore = %d, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "storage", "c", "new.txt")); err == nil {
		t.Error("a file stored after the backup survived the restore")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "storage", "c", "old.txt")); string(b) != "old" {
		t.Errorf("old.txt = %q, want old", b)
	}
	if _, err := os.Stat(filepath.Join(dir, ".restore-tmp-123")); err == nil {
		t.Error("a partial unpacking survived Apply")
	}
	if applied, err := backup.Apply(dir); applied || err != nil {
		t.Fatalf("second Apply = %v, %v; want false, nil", applied, err)
	}
	st2, err := sqlite.Open(ctx, dbPath, nil)
	if err != nil {
		t.Fatalf("reopening the restored database: %v", err)
	}
	st2.Close()
}

func TestScheduledBackupsAndRetention(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	sch := backup.Schedule{Cron: "*/15 * * * *", MaxKeep: 2}
	for i := range 5 {
		now := base.Add(time.Duration(i) * 15 * time.Minute)
		if err := e.svc.Tick(ctx, now, sch); err != nil {
			t.Fatal(err)
		}
		// Files are ordered by modification time.
		p := filepath.Join(e.dir, "backups", backup.AutoPrefix+"my_app_"+now.Format("20060102150405")+".zip")
		if err := os.Chtimes(p, now, now); err != nil {
			t.Fatal(err)
		}
		// Not due: nothing happens.
		if err := e.svc.Tick(ctx, now.Add(time.Minute), sch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Create(ctx, "manual.zip"); err != nil {
		t.Fatal(err)
	}
	list, _ := e.svc.List(ctx)
	var got []string
	for _, b := range list {
		got = append(got, b.Key)
	}
	want := []string{"manual.zip", "@auto_pb_backup_my_app_20261123110000.zip", "@auto_pb_backup_my_app_20261123104500.zip"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("backups = %v, want %v", got, want)
	}
	if err := e.svc.Tick(ctx, base, backup.Schedule{Cron: "nonsense"}); err == nil {
		t.Fatal("bad cron: want an error")
	}
}

// A hostile zip placed in the backups folder behind the API's back is
// refused at restore time: nothing is staged and no restart happens.
func TestRestoreRejectsHostileStoredZip(t *testing.T) {
	restarted := false
	e := newEnv(t, func(o *backup.Options) { o.Restart = func() { restarted = true } })
	ctx := context.Background()
	good, err := e.svc.Create(ctx, "good.zip")
	if err != nil {
		t.Fatal(err)
	}
	dbBytes := zipEntries(t, filepath.Join(e.dir, "backups", good))["data.db"]
	for name, body := range map[string][]byte{
		"slip.zip":  zipOf(t, [2]string{"data.db", dbBytes}, [2]string{"storage/../../../evil.txt", "x"}),
		"junk.zip":  []byte("junk"),
		"nodb.zip":  zipOf(t, [2]string{"auxiliary.db", dbBytes}),
		"empty.zip": zipOf(t),
	} {
		if err := os.WriteFile(filepath.Join(e.dir, "backups", name), body, 0o640); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.Restore(ctx, name), apperr.Invalid)
		if restarted {
			t.Fatalf("%s: Restart called for a rejected backup", name)
		}
		entries, _ := os.ReadDir(e.dir)
		for _, en := range entries {
			if strings.HasPrefix(en.Name(), ".restore") {
				t.Fatalf("%s: %s left in the data directory", name, en.Name())
			}
		}
		if applied, err := backup.Apply(e.dir); applied || err != nil {
			t.Fatalf("%s: Apply = %v, %v; want nothing staged", name, applied, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.dir), "evil.txt")); err == nil {
		t.Fatal("zip slip: evil.txt written outside the data directory")
	}
	// The service is free again after a refused restore.
	if !e.svc.Idle() {
		t.Fatal("service still busy after a refused restore")
	}
}
