package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/basalt-dev/basalt/internal/apperr"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "storage")
	s, err := New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func put(t *testing.T, s *Store, key, content string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(content)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func read(t *testing.T, s *Store, key string) string {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	if obj.Size != int64(len(b)) {
		t.Errorf("Open(%q).Size = %d, want %d", key, obj.Size, len(b))
	}
	if obj.ModTime.IsZero() {
		t.Errorf("Open(%q).ModTime is zero", key)
	}
	return string(b)
}

// entries lists every path under dir, relative and slash-separated.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

func TestPutOpenRoundTrip(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	put(t, s, "col/rec/a.txt", "hello")
	if got := read(t, s, "col/rec/a.txt"); got != "hello" {
		t.Errorf("content = %q, want %q", got, "hello")
	}
	put(t, s, "col/rec/a.txt", "replaced")
	if got := read(t, s, "col/rec/a.txt"); got != "replaced" {
		t.Errorf("content after overwrite = %q, want %q", got, "replaced")
	}
	put(t, s, "top", "")
	if got := read(t, s, "top"); got != "" {
		t.Errorf("empty object content = %q", got)
	}
	want := []string{"col", "col/rec", "col/rec/a.txt", "top"}
	if got := entries(t, dir); !slices.Equal(got, want) {
		t.Errorf("tree = %v, want %v (no temp files left)", got, want)
	}
}

func TestOpenSeek(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	put(t, s, "k", "0123456789")
	obj, err := s.Open(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if _, err := obj.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj)
	if string(b) != "56789" {
		t.Errorf("after seek = %q, want %q", b, "56789")
	}
}

func TestOpenMissing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	put(t, s, "col/rec/a.txt", "x")
	for _, key := range []string{"nope", "col/rec/b.txt", "col/other/a.txt", "col/rec", "col", "col/rec/a.txt/x"} {
		_, err := s.Open(context.Background(), key)
		if got := apperr.CodeOf(err); got != apperr.NotFound {
			t.Errorf("Open(%q) code = %q (%v), want %q", key, got, err, apperr.NotFound)
		}
	}
}

func TestHostileKeys(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	secret := filepath.Join(filepath.Dir(dir), "secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{
		"../secret", "a/../../secret", "/etc/passwd", "..", ".", "", "a//b", "a/",
		`..\secret`, "a\x00b", ".tmp-x", "col/.tmp-x", "%2e%2e/secret", "caf\u00e9",
	} {
		if err := s.Put(ctx, key, strings.NewReader("x")); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Put(%q) = %v, want invalid", key, err)
		}
		if _, err := s.Open(ctx, key); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Open(%q) = %v, want invalid", key, err)
		}
		if err := s.Delete(ctx, key); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Delete(%q) = %v, want invalid", key, err)
		}
		if err := s.DeletePrefix(ctx, key); key != "a/" && apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("DeletePrefix(%q) = %v, want invalid", key, err)
		}
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "s3cret" {
		t.Errorf("file outside the root changed: %q, %v", b, err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("tree = %v, want empty", got)
	}
}

func TestSymlinkEscape(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		t.Skipf("symlinks unsupported: %v", err)
	}
	if _, err := s.Open(context.Background(), "evil/secret"); err == nil {
		t.Errorf("Open through a symlink leaving the root succeeded")
	}
	if err := s.Put(context.Background(), "evil/planted", strings.NewReader("x")); err == nil {
		t.Errorf("Put through a symlink leaving the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Errorf("file planted outside the root")
	}
}

func TestPutFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	put(t, s, "col/rec/keep.txt", "old")

	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom))
	if err := s.Put(context.Background(), "col/rec/keep.txt", r); !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want %v", err, boom)
	}
	if got := read(t, s, "col/rec/keep.txt"); got != "old" {
		t.Errorf("content after failed overwrite = %q, want %q", got, "old")
	}
	r = io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom))
	if err := s.Put(context.Background(), "new/dir/x.txt", r); !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want %v", err, boom)
	}
	want := []string{"col", "col/rec", "col/rec/keep.txt"}
	if got := entries(t, dir); !slices.Equal(got, want) {
		t.Errorf("tree = %v, want %v", got, want)
	}
}

func TestPutCanceled(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "a/b", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with canceled ctx = %v, want %v", err, context.Canceled)
	}
	// Canceled mid-copy: the reader cancels after its first chunk.
	ctx, cancel = context.WithCancel(context.Background())
	r := &cancelAfterFirst{r: bytes.NewReader(make([]byte, 1<<20)), cancel: cancel}
	if err := s.Put(ctx, "a/b", r); !errors.Is(err, context.Canceled) {
		t.Errorf("Put canceled mid-copy = %v, want %v", err, context.Canceled)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("tree = %v, want empty", got)
	}
}

type cancelAfterFirst struct {
	r      io.Reader
	cancel func()
}

func (c *cancelAfterFirst) Read(p []byte) (int, error) {
	defer c.cancel()
	if len(p) > 1024 {
		p = p[:1024]
	}
	return c.r.Read(p)
}

func TestDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		put    []string
		delete string
		want   []string
	}{
		{"last file removes empty dirs", []string{"c/r/a"}, "c/r/a", nil},
		{"sibling keeps dir", []string{"c/r/a", "c/r/b"}, "c/r/a", []string{"c", "c/r", "c/r/b"}},
		{"other record keeps collection dir", []string{"c/r/a", "c/s/a"}, "c/r/a", []string{"c", "c/s", "c/s/a"}},
		{"missing is fine", []string{"c/r/a"}, "c/r/zzz", []string{"c", "c/r", "c/r/a"}},
		{"missing dir is fine", nil, "x/y/z", nil},
		{"directory is not an object", []string{"c/r/a"}, "c/r", []string{"c", "c/r", "c/r/a"}},
		{"through a file", []string{"c/r/a"}, "c/r/a/b", []string{"c", "c/r", "c/r/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, dir := newStore(t)
			for _, k := range tt.put {
				put(t, s, k, k)
			}
			if err := s.Delete(ctx, tt.delete); err != nil {
				t.Fatalf("Delete(%q): %v", tt.delete, err)
			}
			if got := entries(t, dir); !slices.Equal(got, tt.want) {
				t.Errorf("tree = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeletePrefix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	all := []string{"c/r/a", "c/r/thumbs_a/100x100_a", "c/r2/a", "c/rr/a", "d/r/a"}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"c/r", []string{"c", "c/r2", "c/r2/a", "c/rr", "c/rr/a", "d", "d/r", "d/r/a"}},
		{"c/r/", []string{"c", "c/r2", "c/r2/a", "c/rr", "c/rr/a", "d", "d/r", "d/r/a"}},
		{"c/r/thumbs_a", []string{"c", "c/r", "c/r/a", "c/r2", "c/r2/a", "c/rr", "c/rr/a", "d", "d/r", "d/r/a"}},
		{"d", []string{"c", "c/r", "c/r/a", "c/r/thumbs_a", "c/r/thumbs_a/100x100_a", "c/r2", "c/r2/a", "c/rr", "c/rr/a"}},
		{"d/r", []string{"c", "c/r", "c/r/a", "c/r/thumbs_a", "c/r/thumbs_a/100x100_a", "c/r2", "c/r2/a", "c/rr", "c/rr/a"}},
		{"zzz", []string{"c", "c/r", "c/r/a", "c/r/thumbs_a", "c/r/thumbs_a/100x100_a", "c/r2", "c/r2/a", "c/rr", "c/rr/a", "d", "d/r", "d/r/a"}},
		// A plain object is not a prefix of anything.
		{"c/r/a", []string{"c", "c/r", "c/r/a", "c/r/thumbs_a", "c/r/thumbs_a/100x100_a", "c/r2", "c/r2/a", "c/rr", "c/rr/a", "d", "d/r", "d/r/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			t.Parallel()
			s, dir := newStore(t)
			for _, k := range all {
				put(t, s, k, k)
			}
			if err := s.DeletePrefix(ctx, tt.prefix); err != nil {
				t.Fatalf("DeletePrefix(%q): %v", tt.prefix, err)
			}
			if got := entries(t, dir); !slices.Equal(got, tt.want) {
				t.Errorf("tree = %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestConcurrentPutDelete races uploads into a record directory against
// deletes that empty it: every Put must still succeed and be readable.
func TestConcurrentPutDelete(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 200 {
		key := "c/r/" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		wg.Go(func() {
			if err := s.Put(ctx, key, strings.NewReader(key)); err != nil {
				errs <- err
				return
			}
			if err := s.Delete(ctx, key); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if err := s.DeletePrefix(ctx, "c/other"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
