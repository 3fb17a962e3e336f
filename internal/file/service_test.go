package file

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/blob/local"
)

// newService returns a Service over a local store in a temp dir, and that dir.
func newService(t *testing.T) (*Service, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "storage")
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return New(st, fixedRand), dir
}

func uploadViaMultipart(t *testing.T, name, content string) Upload {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if err := req.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = req.MultipartForm.RemoveAll() })
	return FromMultipart(req.MultipartForm.File["file"][0])
}

// tree lists the files (not directories) under dir, slash-separated.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func TestSave(t *testing.T) {
	t.Parallel()
	s, dir := newService(t)
	ctx := context.Background()
	u := uploadViaMultipart(t, "Hello World.txt", "hello")
	name := s.Name(u.Name)
	if err := s.Save(ctx, "pbc_1", "rec1", name, u); err != nil {
		t.Fatalf("Save: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pbc_1", "rec1", name))
	if err != nil || string(b) != "hello" {
		t.Fatalf("stored = %q, %v", b, err)
	}

	for _, tt := range []struct{ col, rec, name string }{
		{"..", "rec1", "x"}, {"pbc_1", "..", "x"}, {"pbc_1", "rec1", "../../x"}, {"pbc_1", "rec1", "a/b"},
		{"pbc_1", "rec1", ".hidden"}, {"", "rec1", "x"}, {"pbc_1", "", "x"}, {"pbc_1", "rec1", ""},
		{"pbc_1/rec2", "x", "y"}, {"pbc_1", "rec1", strings.Repeat("a", 256)},
	} {
		err := s.Save(ctx, tt.col, tt.rec, tt.name, FromBytes("x", []byte("x")))
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Save(%q, %q, %.20q) = %v, want invalid", tt.col, tt.rec, tt.name, err)
		}
	}
	if got := tree(t, dir); !slices.Equal(got, []string{"pbc_1/rec1/" + name}) {
		t.Errorf("tree = %v", got)
	}

	boom := errors.New("boom")
	err = s.Save(ctx, "pbc_1", "rec1", "y.txt", Upload{Name: "y.txt", Open: func() (io.ReadCloser, error) { return nil, boom }})
	if !errors.Is(err, boom) {
		t.Errorf("Save with failing Open = %v, want %v", err, boom)
	}
	if err := s.Save(ctx, "pbc_1", "rec1", "y.txt", Upload{Name: "y.txt"}); err == nil {
		t.Errorf("Save without content succeeded")
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s, dir := newService(t)
	ctx := context.Background()
	for _, k := range []string{"c/r/a.png", "c/r/b.png", "c/r/thumbs_a.png/100x100_a.png", "c/r/thumbs_a.png/50x50_a.png", "c/r2/a.png", "d/r/a.png"} {
		col, rest, _ := strings.Cut(k, "/")
		rec, name, _ := strings.Cut(rest, "/")
		if strings.Contains(name, "/") {
			if err := s.store.Put(ctx, k, strings.NewReader("t")); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := s.Save(ctx, col, rec, name, FromBytes(name, []byte(name))); err != nil {
			t.Fatal(err)
		}
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel() // cleanup still runs
	if err := s.Delete(canceled, "c", "r", "a.png", "missing.png"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	want := []string{"c/r/b.png", "c/r2/a.png", "d/r/a.png"}
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Delete tree = %v, want %v", got, want)
	}

	err := s.Delete(ctx, "c", "r", "../r2/a.png", "b.png")
	if apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Delete with a traversal name = %v, want invalid", err)
	}
	want = []string{"c/r2/a.png", "d/r/a.png"} // the valid name was still deleted
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Delete tree = %v, want %v", got, want)
	}

	if err := s.DeleteRecord(canceled, "c", "r2"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if err := s.DeleteRecord(ctx, "c", "nope"); err != nil {
		t.Fatalf("DeleteRecord of a record without files: %v", err)
	}
	for _, bad := range [][2]string{{"", "r"}, {"c", ""}, {"..", "r"}, {"c", ".."}, {"c/r", "x"}} {
		if err := s.DeleteRecord(ctx, bad[0], bad[1]); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("DeleteRecord(%q, %q) = %v, want invalid", bad[0], bad[1], err)
		}
	}
	if got := tree(t, dir); !slices.Equal(got, []string{"d/r/a.png"}) {
		t.Errorf("after DeleteRecord tree = %v", got)
	}
	for _, bad := range []string{"", "..", "d/r", "."} {
		if err := s.DeleteCollection(ctx, bad); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("DeleteCollection(%q) = %v, want invalid", bad, err)
		}
	}
	if err := s.DeleteCollection(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("after DeleteCollection tree = %v", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("empty directories left: %v", entries)
	}
}
