package rest_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

func pngFile(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		img.Set(x, 0, color.RGBA{255, 0, 0, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// filesEnv has a public "docs" collection with a single text file field and
// a multi image field.
func filesEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	c := e.createCollection(map[string]any{"name": "docs",
		"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
		"fields": []any{
			map[string]any{"name": "title", "type": "text"},
			map[string]any{"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1024, "mimeTypes": []string{"text/plain"}},
			map[string]any{"name": "pics", "type": "file", "maxSelect": 2, "maxSize": 1 << 20, "mimeTypes": []string{"image/png"}},
		}})
	e.vars["docsId"] = c["id"].(string)
	e.createCollection(map[string]any{"name": "private",
		"listRule": "owner = @request.auth.id", "viewRule": "owner = @request.auth.id", "createRule": "",
		"fields": []any{
			map[string]any{"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1},
			map[string]any{"name": "secret", "type": "file", "maxSelect": 1, "protected": true},
		}})
	return e
}

// fileURL is the download path of a record file.
func fileURL(collection, id, name string) string {
	return "/api/files/" + collection + "/" + id + "/" + name
}

func TestFiles(t *testing.T) {
	t.Parallel()
	e := filesEnv(t)
	hello := []byte("hello, file\n")
	pic := pngFile(t, 4, 4)
	var docName, oldDoc string
	var picNames []string
	e.run(t, []scenario{
		{name: "multipart upload", method: "POST", url: "/api/collections/docs/records", wantStatus: 200,
			body: &multipartBody{
				fields: map[string][]string{"title": {"first"}},
				files: []formFile{{field: "doc", name: "Hello World.txt", contentType: "text/plain", content: hello},
					{field: "pics", name: "a.png", content: pic}, {field: "pics", name: "b.png", content: pic}},
			},
			wantJSON: `{"title":"first","doc":"<nonempty>","pics":"<len:2>"}`,
			after: func(t *testing.T, e *env, res *response) {
				m := res.json(t).(map[string]any)
				e.vars["d1"] = m["id"].(string)
				docName = m["doc"].(string)
				e.vars["doc"] = docName
				if !strings.HasPrefix(docName, "hello_world_") || !strings.HasSuffix(docName, ".txt") {
					t.Errorf("stored name %q, want hello_world_<random>.txt", docName)
				}
				for _, p := range m["pics"].([]any) {
					picNames = append(picNames, p.(string))
				}
				e.vars["pic0"], e.vars["pic1"] = picNames[0], picNames[1]
			}},
		{name: "download by collection name", method: "GET", url: fileURL("docs", "{{d1}}", "{{doc}}"), wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if !bytes.Equal(res.body, hello) {
					t.Errorf("content = %q", res.body)
				}
				if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type = %q", ct)
				}
			}},
		{name: "download by collection id with download=1", method: "GET", url: fileURL("{{docsId}}", "{{d1}}", "{{doc}}") + "?download=1", wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
					t.Errorf("Content-Disposition = %q, want attachment", cd)
				}
				if !bytes.Equal(res.body, hello) {
					t.Errorf("content = %q", res.body)
				}
			}},
		{name: "image content type", method: "GET", url: fileURL("docs", "{{d1}}", "{{pic0}}"), wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if ct := res.header.Get("Content-Type"); ct != "image/png" {
					t.Errorf("Content-Type = %q", ct)
				}
				if cd := res.header.Get("Content-Disposition"); strings.HasPrefix(cd, "attachment") {
					t.Errorf("Content-Disposition = %q, want inline for an image", cd)
				}
			}},
		{name: "thumb 100x100", method: "GET", url: fileURL("docs", "{{d1}}", "{{pic0}}") + "?thumb=100x100", wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if _, _, err := image.Decode(bytes.NewReader(res.body)); err != nil {
					t.Errorf("thumb is not an image: %v", err)
				}
			}},
		{name: "invalid thumb falls back or refuses", method: "GET", url: fileURL("docs", "{{d1}}", "{{pic0}}") + "?thumb=" + q("9999999x'; DROP"), wantStatus: -1,
			after: func(t *testing.T, e *env, res *response) {
				if res.status != 200 && res.status != 400 && res.status != 404 {
					t.Errorf("status %d", res.status)
				}
			}},
		{name: "unknown file name", method: "GET", url: fileURL("docs", "{{d1}}", "nope.txt"), wantStatus: 404},
		{name: "unknown record", method: "GET", url: fileURL("docs", "zzzzzzzzzzzzzzz", "{{doc}}"), wantStatus: 404},
		{name: "unknown collection", method: "GET", url: fileURL("nope", "{{d1}}", "{{doc}}"), wantStatus: 404},
		{name: "file of another record", method: "GET", url: fileURL("users", "{{userId}}", "{{doc}}"), wantStatus: 404},
		{name: "path traversal", method: "GET", url: "/api/files/docs/{{d1}}/..%2F..%2Fdata.db", wantStatus: 404},
		{name: "encoded traversal in record", method: "GET", url: "/api/files/docs/..%2F..%2F/data.db", wantStatus: 404},
		{name: "too large", method: "POST", url: "/api/collections/docs/records", wantStatus: 400,
			body:     &multipartBody{files: []formFile{{field: "doc", name: "big.txt", contentType: "text/plain", content: bytes.Repeat([]byte("x"), 2048)}}},
			wantJSON: `{"data":{"doc":{"code":"<nonempty>"}}}`},
		{name: "wrong mime type", method: "POST", url: "/api/collections/docs/records", wantStatus: 400,
			body:     &multipartBody{files: []formFile{{field: "doc", name: "fake.txt", contentType: "text/plain", content: pic}}},
			wantJSON: `{"data":{"doc":{"code":"<nonempty>"}}}`},
		{name: "too many files", method: "POST", url: "/api/collections/docs/records", wantStatus: 400,
			body: &multipartBody{files: []formFile{{field: "pics", name: "1.png", content: pic}, {field: "pics", name: "2.png", content: pic},
				{field: "pics", name: "3.png", content: pic}}},
			wantJSON: `{"data":{"pics":{"code":"<nonempty>"}}}`},
		{name: "file to a non-file field", method: "POST", url: "/api/collections/docs/records", wantStatus: 400,
			body:     &multipartBody{files: []formFile{{field: "title", name: "x.txt", contentType: "text/plain", content: hello}}},
			wantJSON: `{"data":{"title":"<any>"}}`},
		{name: "refused uploads stored nothing", method: "GET", url: "/api/health", wantStatus: 200,
			after: func(t *testing.T, e *env, _ *response) {
				var stored []string
				for _, f := range e.storedFiles() {
					if !strings.Contains(f, "/thumbs_") {
						stored = append(stored, f)
					}
				}
				if n := len(stored); n != 3 {
					t.Errorf("storage holds %d files, want 3: %v", n, e.storedFiles())
				}
				if n := e.count("docs"); n != 1 {
					t.Errorf("docs has %d records", n)
				}
			}},
		{name: "replace single file", method: "PATCH", url: "/api/collections/docs/records/{{d1}}", wantStatus: 200,
			before: func(t *testing.T, e *env) { oldDoc = docName; e.vars["oldDoc"] = oldDoc },
			body:   &multipartBody{files: []formFile{{field: "doc", name: "second.txt", contentType: "text/plain", content: []byte("two")}}},
			after: func(t *testing.T, e *env, res *response) {
				docName = res.json(t).(map[string]any)["doc"].(string)
				e.vars["doc"] = docName
				if docName == oldDoc || !strings.HasPrefix(docName, "second_") {
					t.Errorf("doc = %q after replace", docName)
				}
			}},
		{name: "replaced file is gone", method: "GET", url: fileURL("docs", "{{d1}}", "{{oldDoc}}"), wantStatus: 404,
			after: func(t *testing.T, e *env, _ *response) {
				for _, f := range e.storedFiles() {
					if strings.HasSuffix(f, oldDoc) {
						t.Errorf("replaced file still stored: %s", f)
					}
				}
			}},
		{name: "new file served", method: "GET", url: fileURL("docs", "{{d1}}", "{{doc}}"), wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if string(res.body) != "two" {
					t.Errorf("content %q", res.body)
				}
			}},
		{name: "remove one of many with pics-", method: "PATCH", url: "/api/collections/docs/records/{{d1}}", wantStatus: 200,
			body: `{"pics-":["{{pic0}}"]}`, wantJSON: `{"pics":["{{pic1}}"]}`},
		{name: "removed pic is gone", method: "GET", url: fileURL("docs", "{{d1}}", "{{pic0}}"), wantStatus: 404},
		{name: "kept pic still served", method: "GET", url: fileURL("docs", "{{d1}}", "{{pic1}}"), wantStatus: 200},
		{name: "append with pics+", method: "PATCH", url: "/api/collections/docs/records/{{d1}}", wantStatus: 200,
			body:     &multipartBody{files: []formFile{{field: "pics+", name: "c.png", content: pic}}},
			wantJSON: `{"pics":"<len:2>"}`},
		{name: "append beyond maxSelect", method: "PATCH", url: "/api/collections/docs/records/{{d1}}", wantStatus: 400,
			body:     &multipartBody{files: []formFile{{field: "pics+", name: "d.png", content: pic}}},
			wantJSON: `{"data":{"pics":"<any>"}}`},
		{name: "clear file field", method: "PATCH", url: "/api/collections/docs/records/{{d1}}", wantStatus: 200,
			body: `{"doc":null}`, wantJSON: `{"doc":""}`},
		{name: "cleared file is gone", method: "GET", url: fileURL("docs", "{{d1}}", "{{doc}}"), wantStatus: 404},
		{name: "upload with @jsonPayload", method: "POST", url: "/api/collections/docs/records", wantStatus: 200,
			body: &multipartBody{fields: map[string][]string{"@jsonPayload": {`{"title":"json+file"}`}},
				files: []formFile{{field: "doc", name: "j.txt", contentType: "text/plain", content: hello}}},
			wantJSON: `{"title":"json+file","doc":"<nonempty>"}`,
			after: func(t *testing.T, e *env, res *response) {
				m := res.json(t).(map[string]any)
				e.vars["d2"], e.vars["d2doc"] = m["id"].(string), m["doc"].(string)
			}},
		{name: "delete record removes its files", method: "DELETE", url: "/api/collections/docs/records/{{d2}}", wantStatus: 204,
			after: func(t *testing.T, e *env, _ *response) {
				if r := e.do("GET", fileURL("docs", e.vars["d2"], e.vars["d2doc"]), "", nil, nil); r.status != 404 {
					t.Errorf("file of a deleted record: %d", r.status)
				}
				for _, f := range e.storedFiles() {
					if strings.Contains(f, e.vars["d2"]) {
						t.Errorf("file of a deleted record still stored: %s", f)
					}
				}
			}},
		{name: "HEAD a file", method: "HEAD", url: fileURL("docs", "{{d1}}", "{{pic1}}"), wantStatus: 200},
	})
}

func TestFilesBatchUpload(t *testing.T) {
	t.Parallel()
	e := filesEnv(t)
	e.enableBatch(5)
	e.run(t, []scenario{
		{name: "multipart batch with files", method: "POST", url: "/api/batch", wantStatus: 200,
			body: &multipartBody{
				fields: map[string][]string{"@jsonPayload": {`{"requests":[{"method":"POST","url":"/api/collections/docs/records","body":{"title":"b1"}}]}`}},
				files:  []formFile{{field: "requests.0.doc", name: "batch.txt", contentType: "text/plain", content: []byte("batched")}},
			},
			wantJSON: `[{"status":200,"body":{"title":"b1","doc":"<nonempty>"}}]`,
			after: func(t *testing.T, e *env, res *response) {
				b := res.json(t).([]any)[0].(map[string]any)["body"].(map[string]any)
				r := e.do("GET", fileURL("docs", b["id"].(string), b["doc"].(string)), "", nil, nil)
				if r.status != 200 || string(r.body) != "batched" {
					t.Errorf("batched file: %d %q", r.status, r.body)
				}
			}},
		{name: "failed batch removes stored files", method: "POST", url: "/api/batch", wantStatus: 400,
			before: func(t *testing.T, e *env) { e.vars["nfiles"] = strings.Join(e.storedFiles(), ",") },
			body: &multipartBody{
				fields: map[string][]string{"@jsonPayload": {`{"requests":[
					{"method":"POST","url":"/api/collections/docs/records","body":{"title":"b2"}},
					{"method":"POST","url":"/api/collections/nope/records","body":{}}]}`}},
				files: []formFile{{field: "requests.0.doc", name: "rolled.txt", contentType: "text/plain", content: []byte("x")}},
			},
			after: func(t *testing.T, e *env, _ *response) {
				if got := strings.Join(e.storedFiles(), ","); got != e.vars["nfiles"] {
					t.Errorf("storage changed by a failed batch:\nbefore %s\nafter  %s", e.vars["nfiles"], got)
				}
			}},
	})
}

func TestFilesProtected(t *testing.T) {
	t.Parallel()
	e := filesEnv(t)
	res := e.do("POST", "/api/collections/private/records", "user", &multipartBody{
		fields: map[string][]string{"owner": {e.vars["userId"]}},
		files:  []formFile{{field: "secret", name: "s.txt", contentType: "text/plain", content: []byte("top secret")}},
	}, nil)
	if res.status != 200 {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	m := res.json(t).(map[string]any)
	e.vars["rec"], e.vars["secret"] = m["id"].(string), m["secret"].(string)
	e.vars["authTok"] = e.tokens["user"]
	url := fileURL("private", "{{rec}}", "{{secret}}")
	refused := func(t *testing.T, e *env, res *response) {
		if res.status != 403 && res.status != 404 {
			t.Errorf("status %d, want 403 or 404", res.status)
		}
		if bytes.Contains(res.body, []byte("top secret")) {
			t.Error("protected content leaked")
		}
	}
	e.run(t, []scenario{
		{name: "file token as guest", method: "POST", url: "/api/files/token", wantStatus: 401},
		{name: "file token for the owner", method: "POST", url: "/api/files/token", auth: "user", wantStatus: 200,
			wantJSON: `{"token":"<nonempty>"}`,
			after: func(t *testing.T, e *env, res *response) {
				tok := res.json(t).(map[string]any)["token"].(string)
				e.vars["fileTok"] = tok
				if c := claims(t, tok); c["type"] != "file" {
					t.Errorf("file token claims = %v", c)
				}
			}},
		{name: "file token for another user", method: "POST", url: "/api/files/token", auth: "user2", wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				e.vars["otherTok"] = res.json(t).(map[string]any)["token"].(string)
			}},
		{name: "guest without token", method: "GET", url: url, wantStatus: -1, after: refused},
		{name: "owner's auth header is not enough", method: "GET", url: url, auth: "user", wantStatus: -1, after: refused},
		{name: "auth token in place of a file token", method: "GET", url: url + "?token={{authTok}}", wantStatus: -1, after: refused},
		{name: "garbage token", method: "GET", url: url + "?token=" + q("' OR 1=1 --"), wantStatus: -1, after: refused},
		{name: "other user's file token fails the view rule", method: "GET", url: url + "?token={{otherTok}}", wantStatus: -1, after: refused},
		{name: "owner's file token", method: "GET", url: url + "?token={{fileTok}}", wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if string(res.body) != "top secret" {
					t.Errorf("content %q", res.body)
				}
			}},
		{name: "file token is not an auth token", method: "GET", url: "/api/collections/users/records/{{userId}}", auth: "raw:{{fileTok}}",
			wantStatus: 404},
	})
}
