package file

import (
	"errors"
	"io"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// fieldProblem returns the single field problem in err, failing otherwise.
func fieldProblem(t *testing.T, err error, field string) apperr.Field {
	t.Helper()
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid || len(e.Data) != 1 {
		t.Fatalf("error = %#v, want one invalid field problem", err)
	}
	p, ok := e.Data[field].(apperr.Field)
	if !ok {
		t.Fatalf("error data = %#v, want an apperr.Field under %q", e.Data, field)
	}
	return p
}

func TestValidate(t *testing.T) {
	t.Parallel()
	pngData := pngBytes(t, 1, 1)
	images := []string{"image/png", "image/jpg", "image/svg+xml"}
	tests := []struct {
		name     string
		field    schema.Field
		uploads  []Upload
		wantCode string
		wantMsg  string
	}{
		{"no uploads", schema.Field{}, nil, "", ""},
		{"default size ok", schema.Field{}, []Upload{{Name: "a.bin", Size: schema.DefaultFileSize}}, "", ""},
		{"default size exceeded", schema.Field{}, []Upload{{Name: "big.bin", Size: schema.DefaultFileSize + 1}},
			"validation_file_size_limit", `Failed to upload "big.bin" - the maximum allowed file size is 5242880 bytes.`},
		{"custom size", schema.Field{MaxSize: 10}, []Upload{FromBytes("a.txt", []byte("0123456789"))}, "", ""},
		{"custom size exceeded", schema.Field{MaxSize: 10}, []Upload{FromBytes("a.txt", []byte("0123456789")), FromBytes("b.txt", []byte("0123456789x"))},
			"validation_file_size_limit", `Failed to upload "b.txt" - the maximum allowed file size is 10 bytes.`},
		{"mime ok", schema.Field{MimeTypes: images}, []Upload{FromBytes("a.png", pngData)}, "", ""},
		{"mime alias", schema.Field{MimeTypes: []string{"IMAGE/PNG"}}, []Upload{FromBytes("x", pngData)}, "", ""},
		{"svg by extension", schema.Field{MimeTypes: images}, []Upload{FromBytes("a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))}, "", ""},
		{"wrong mime", schema.Field{MimeTypes: images}, []Upload{FromBytes("a.png", []byte("<html><script>alert(1)</script>"))},
			"validation_invalid_mime_type", `"a.png" mime type must be one of: image/png, image/jpg, image/svg+xml.`},
		{"renamed html as svg", schema.Field{MimeTypes: []string{"image/svg+xml"}}, []Upload{FromBytes("a.svg", []byte("<html><body>hi</body></html>"))},
			"validation_invalid_mime_type", `"a.svg" mime type must be one of: image/svg+xml.`},
		{"no wildcards", schema.Field{MimeTypes: []string{"image/*"}}, []Upload{FromBytes("a.png", pngData)},
			"validation_invalid_mime_type", `"a.png" mime type must be one of: image/*.`},
		{"unreadable", schema.Field{MimeTypes: images}, []Upload{{Name: "a.png", Size: 1, Open: func() (io.ReadCloser, error) { return nil, errors.New("gone") }}},
			"validation_invalid_mime_type", `Failed to upload "a.png" due to unsupported file type.`},
		{"no content", schema.Field{MimeTypes: images}, []Upload{{Name: "a.png", Size: 1}},
			"validation_invalid_mime_type", `Failed to upload "a.png" due to unsupported file type.`},
		{"size checked before mime", schema.Field{MaxSize: 1, MimeTypes: images}, []Upload{FromBytes("a.txt", []byte("text"))},
			"validation_file_size_limit", `Failed to upload "a.txt" - the maximum allowed file size is 1 bytes.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.field.Name, tt.field.Type = "docs", schema.TypeFile
			err := Validate(&tt.field, tt.uploads)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			p := fieldProblem(t, err, "docs")
			if p.Code != tt.wantCode || p.Message != tt.wantMsg {
				t.Errorf("problem = %+v, want {%s %s}", p, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestValidateCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		maxSelect, total int
		wantMsg          string
	}{
		{0, 0, ""}, {0, 1, ""}, {0, 2, "The maximum allowed files is 1"},
		{1, 2, "The maximum allowed files is 1"}, {5, 5, ""}, {5, 6, "The maximum allowed files is 5"},
	}
	for _, tt := range tests {
		f := &schema.Field{Name: "docs", Type: schema.TypeFile, MaxSelect: tt.maxSelect}
		err := ValidateCount(f, tt.total)
		if tt.wantMsg == "" {
			if err != nil {
				t.Errorf("ValidateCount(max %d, %d) = %v", tt.maxSelect, tt.total, err)
			}
			continue
		}
		if p := fieldProblem(t, err, "docs"); p.Code != "validation_too_many_files" || p.Message != tt.wantMsg {
			t.Errorf("ValidateCount(max %d, %d) = %+v, want %q", tt.maxSelect, tt.total, p, tt.wantMsg)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field      schema.Field
		size, body int64
		maxSelect  int
	}{
		{schema.Field{}, schema.DefaultFileSize, schema.DefaultFileSize, 1},
		{schema.Field{MaxSize: 100, MaxSelect: 3}, 100, 300, 3},
		{schema.Field{MaxSize: -1, MaxSelect: -1}, schema.DefaultFileSize, schema.DefaultFileSize, 1},
	}
	for _, tt := range tests {
		if got := MaxSize(&tt.field); got != tt.size {
			t.Errorf("MaxSize(%+v) = %d, want %d", tt.field, got, tt.size)
		}
		if got := MaxSelect(&tt.field); got != tt.maxSelect {
			t.Errorf("MaxSelect(%+v) = %d, want %d", tt.field, got, tt.maxSelect)
		}
		if got := MaxBodySize(&tt.field); got != tt.body {
			t.Errorf("MaxBodySize(%+v) = %d, want %d", tt.field, got, tt.body)
		}
	}
}

func TestFromMultipartRoundTrip(t *testing.T) {
	t.Parallel()
	u := uploadViaMultipart(t, "hello.txt", "hello world")
	if u.Name != "hello.txt" || u.Size != 11 {
		t.Fatalf("Upload = {%q %d}, want {hello.txt 11}", u.Name, u.Size)
	}
	for range 2 { // Open can be called more than once
		r, err := u.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "hello world" {
			t.Errorf("content = %q", b)
		}
	}
}
