package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// A snapshot of a large database runs while writers keep committing: every
// write is acknowledged during the copy, and the copy holds one consistent
// state (a prefix of the writes, never a torn one).
func TestSnapshotDoesNotBlockWrites(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE big (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE ticks (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	// About 40 MB, so that the copy takes long enough to overlap writes.
	if _, err := s.write.ExecContext(ctx, `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 10000)
		INSERT INTO big (v) SELECT randomblob(4000) FROM c`); err != nil {
		t.Fatal(err)
	}

	var acked atomic.Int64
	var snapshotting atomic.Bool
	var duringSnapshot atomic.Int64
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if _, err := s.write.ExecContext(ctx, `INSERT INTO ticks (n) VALUES (?)`, i); err != nil {
				writerDone <- err
				return
			}
			acked.Store(i)
			if snapshotting.Load() {
				duringSnapshot.Add(1)
			}
		}
	}()

	// Let some writes land first, so that the copy must hold them.
	for deadline := time.Now().Add(10 * time.Second); acked.Load() < 50 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	dst := filepath.Join(t.TempDir(), "snap.db")
	snapshotting.Store(true)
	before := acked.Load()
	err := s.Snapshot(ctx, dst)
	snapshotting.Store(false)
	after := acked.Load()
	close(stop)
	if werr := <-writerDone; werr != nil {
		t.Fatalf("write during snapshot: %v", werr)
	}
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if got := duringSnapshot.Load(); got < 10 {
		t.Fatalf("writes acknowledged while the snapshot ran = %d, want at least 10 (writes were blocked)", got)
	}

	if err := CheckFile(ctx, dst); err != nil {
		t.Fatalf("CheckFile(snapshot): %v", err)
	}
	db, err := sql.Open("sqlite", dsn(dst, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var bigRows, ticks, maxN int64
	if err := db.QueryRow(`SELECT count(*) FROM big`).Scan(&bigRows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*), coalesce(max(n), 0) FROM ticks`).Scan(&ticks, &maxN); err != nil {
		t.Fatal(err)
	}
	if bigRows != 10000 {
		t.Errorf("big rows in snapshot = %d, want 10000", bigRows)
	}
	// Consistent: the ticks form the prefix 1..maxN, and maxN lies between
	// the writes acknowledged before the copy and those after it.
	if ticks != maxN || maxN < before || maxN > after || maxN == 0 {
		t.Errorf("snapshot ticks = %d (max %d), want a prefix between %d and %d", ticks, maxN, before, after)
	}
	t.Logf("writes acknowledged during the snapshot: %d (snapshot holds %d)", duringSnapshot.Load(), maxN)
}

func TestSnapshotRefusesExistingTarget(t *testing.T) {
	s := openTest(t)
	dst := filepath.Join(t.TempDir(), "snap.db")
	if err := os.WriteFile(dst, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot(context.Background(), dst); err == nil {
		t.Fatal("Snapshot over an existing file: want an error")
	}
	if b, _ := os.ReadFile(dst); string(b) != "keep" {
		t.Fatalf("existing file changed to %q", b)
	}
}

func TestCheckFileRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	if err := os.WriteFile(path, []byte("this is not a database, just text padded out to a page or so..............."), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := CheckFile(ctx, path); err == nil {
		t.Fatal("CheckFile(garbage): want an error")
	}
}
