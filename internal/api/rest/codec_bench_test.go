package rest

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"testing"
)

// benchRecord is a record's client JSON as Export builds it.
func benchRecord(i int) map[string]any {
	return map[string]any{
		"collectionId": "pbc_posts", "collectionName": "posts", "id": "a1b2c3d4e5f6g7h",
		"title": "Post number 4711", "body": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod.",
		"views": float64(i), "published": true, "tags": []string{"go", "db"},
		"meta":    json.RawMessage(`{"source":"import","score":0.75}`),
		"created": "2024-05-01 10:00:00.000Z", "updated": "2024-05-02 11:30:00.000Z",
	}
}

// BenchmarkWriteJSON measures encoding a response: one record (a view) and
// a page of 30 (a list), with writeJSON and, for comparison, with
// json.Marshal alone.
func BenchmarkWriteJSON(b *testing.B) {
	items := make([]any, 30)
	for i := range items {
		items[i] = benchRecord(i)
	}
	bodies := map[string]any{
		"view": benchRecord(1),
		"list": map[string]any{"page": 1, "perPage": 30, "totalItems": int64(10000), "totalPages": int64(334), "items": items},
	}
	for _, name := range []string{"view", "list"} {
		v := bodies[name]
		b.Run(name+"/writeJSON", func(b *testing.B) {
			b.ReportAllocs()
			w := httptest.NewRecorder()
			for b.Loop() {
				w.Body.Reset()
				writeJSON(w, 200, v)
			}
		})
		b.Run(name+"/json.Marshal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeBody measures reading a create request's body as JSON and
// as multipart/form-data (text fields only).
func BenchmarkDecodeBody(b *testing.B) {
	jsonBody := []byte(`{"title":"Load test post","body":"Created by the load benchmark, a paragraph of ordinary length.",` +
		`"views":42,"published":true,"tags":["go","db"],"meta":{"source":"api","score":0.5}}`)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for _, kv := range [][2]string{{"title", "Load test post"}, {"body", "Created by the load benchmark."},
		{"views", "42"}, {"published", "true"}, {"tags", "go"}, {"tags", "db"}, {"@jsonPayload", `{"meta":{"source":"api"}}`}} {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			b.Fatal(err)
		}
	}
	mw.Close()
	cases := []struct {
		name, contentType string
		body              []byte
	}{
		{"json", "application/json", jsonBody},
		{"multipart", mw.FormDataContentType(), form.Bytes()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/api/collections/posts/records", bytes.NewReader(c.body))
				r.Header.Set("Content-Type", c.contentType)
				data, _, err := decodeBody(r, 0)
				if err != nil || len(data) == 0 {
					b.Fatal(len(data), err)
				}
				if r.MultipartForm != nil {
					r.MultipartForm.RemoveAll()
				}
			}
		})
	}
}
