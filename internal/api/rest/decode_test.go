package rest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
)

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// multipartBody builds a multipart body from fields (repeatable) and files.
func multipartBody(t *testing.T, fields [][2]string, files map[string]string) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		w, err := mw.CreateFormFile(name, name+".txt")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &b
}

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	mpType, mpBody := multipartBody(t, [][2]string{
		{"title", "Hello"}, {"n", "12"}, {"flag", "true"}, {"tags", "a"}, {"tags", "b"}, {"code", "0012"},
		{"@jsonPayload", `{"meta":{"k":[1,2]},"title":"from payload"}`},
	}, map[string]string{"doc": "file content"})
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string // JSON of the decoded data
	}{
		{"json object", "application/json", `{"a":1,"b":"x","c":[true,null,{"d":1.5}]}`, `{"a":1,"b":"x","c":[true,null,{"d":1.5}]}`},
		{"json charset", "application/json; charset=utf-8", `{"a":1}`, `{"a":1}`},
		{"json suffix type", "application/merge-patch+json", `{"a":1}`, `{"a":1}`},
		{"no content type", "", `{"a":"b"}`, `{"a":"b"}`},
		{"empty body", "application/json", ``, `{}`},
		{"whitespace body", "application/json", " \n\t ", `{}`},
		{"null", "application/json", `null`, `{}`},
		{"trailing whitespace", "application/json", "{\"a\":1}\n\n", `{"a":1}`},
		{"big int", "application/json", `{"n":9007199254740993}`, `{"n":9007199254740992}`},
		{"invalid utf8 replaced", "application/json", "{\"a\":\"x\xffy\"}", `{"a":"x\ufffdy"}`},
		{"form", "application/x-www-form-urlencoded", "a=1&b=true&c=x&c=y&d=0012&e=&f=-0.5&g=1e3&h=%F0%9F%98%80",
			`{"a":1,"b":true,"c":["x","y"],"d":"0012","e":"","f":-0.5,"g":"1e3","h":"😀"}`},
		{"form json payload", "application/x-www-form-urlencoded", `a=1&%40jsonPayload={"a":"over","z":[1]}`, `{"a":"over","z":[1]}`},
		{"multipart", mpType, mpBody.String(),
			`{"title":"from payload","n":12,"flag":true,"tags":["a","b"],"code":"0012","meta":{"k":[1,2]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/?q=1", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			data, _, err := decodeBody(r, 1<<20)
			if err != nil {
				t.Fatalf("decodeBody: %v", err)
			}
			if got := jsonText(t, data); !sameJSON(t, []byte(got), tt.want) {
				t.Fatalf("data = %s\nwant   %s", got, tt.want)
			}
			if _, ok := data["q"]; ok {
				t.Fatal("query parameters leaked into the body data")
			}
		})
	}
}

func TestDecodeBodyNumbersAreFloat64(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"a":1,"b":[2,{"c":3}]}`))
	data, _, err := decodeBody(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := data["a"].(float64); !ok {
		t.Fatalf("a is %T, want float64", data["a"])
	}
	inner := data["b"].([]any)
	if _, ok := inner[0].(float64); !ok {
		t.Fatalf("b[0] is %T, want float64", inner[0])
	}
	if _, ok := inner[1].(map[string]any)["c"].(float64); !ok {
		t.Fatalf("b[1].c is %T, want float64", inner[1].(map[string]any)["c"])
	}
}

func TestDecodeBodyFiles(t *testing.T) {
	t.Parallel()
	ct, body := multipartBody(t, [][2]string{{"title", "x"}}, map[string]string{"doc": "hello", "img": "world"})
	r := httptest.NewRequest(http.MethodPost, "/", body)
	r.Header.Set("Content-Type", ct)
	data, files, err := decodeBody(r, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if data["title"] != "x" || len(files["doc"]) != 1 || len(files["img"]) != 1 {
		t.Fatalf("data %v, files %v", data, files)
	}
	f, err := files["doc"][0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if string(got) != "hello" || files["doc"][0].Filename != "doc.txt" {
		t.Fatalf("file %q named %q", got, files["doc"][0].Filename)
	}
}

func TestDecodeBodyRejects(t *testing.T) {
	t.Parallel()
	goodType, goodMP := multipartBody(t, [][2]string{{"a", "b"}}, nil)
	badPayloadType, badPayload := multipartBody(t, [][2]string{{"@jsonPayload", `{"a":`}}, nil)
	arrayPayloadType, arrayPayload := multipartBody(t, [][2]string{{"@jsonPayload", `[1]`}}, nil)
	bigType, big := multipartBody(t, [][2]string{{"a", strings.Repeat("x", 2000)}}, nil)
	tests := []struct {
		name        string
		contentType string
		body        string
		max         int64
		code        apperr.Code
		message     string
	}{
		{"invalid json", "application/json", `{"a":`, 0, apperr.Invalid, msgInvalidBody},
		{"not json at all", "", `a=b`, 0, apperr.Invalid, msgInvalidBody},
		{"array", "application/json", `[1,2]`, 0, apperr.Invalid, msgInvalidBody},
		{"string", "application/json", `"x"`, 0, apperr.Invalid, msgInvalidBody},
		{"number", "application/json", `12`, 0, apperr.Invalid, msgInvalidBody},
		{"two objects", "application/json", `{}{}`, 0, apperr.Invalid, msgInvalidBody},
		{"trailing garbage", "application/json", `{"a":1} x`, 0, apperr.Invalid, msgInvalidBody},
		{"number out of range", "application/json", `{"a":1e400}`, 0, apperr.Invalid, msgInvalidBody},
		{"depth bomb", "application/json", `{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, 1 << 20, apperr.Invalid, msgInvalidBody},
		{"object depth bomb", "application/json", strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), 1 << 20, apperr.Invalid, msgInvalidBody},
		{"too large json", "application/json", `{"a":"` + strings.Repeat("x", 2000) + `"}`, 1000, apperr.TooLarge, msgBodyTooLarge},
		{"too large form", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", 2000), 1000, apperr.TooLarge, msgBodyTooLarge},
		{"too large multipart", bigType, big.String(), 1000, apperr.TooLarge, msgBodyTooLarge},
		{"bad form escape", "application/x-www-form-urlencoded", "a=%zz", 0, apperr.Invalid, msgInvalidBody},
		{"unsupported type", "text/plain", `{"a":1}`, 0, apperr.Invalid, msgUnsupportedType},
		{"xml", "application/xml", `<a/>`, 0, apperr.Invalid, msgUnsupportedType},
		{"malformed content type", "application/json; ===", `{}`, 0, apperr.Invalid, msgUnsupportedType},
		{"multipart without boundary", "multipart/form-data", goodMP.String(), 0, apperr.Invalid, msgInvalidBody},
		{"multipart wrong boundary", "multipart/form-data; boundary=nope", goodMP.String(), 0, apperr.Invalid, msgInvalidBody},
		{"multipart truncated", goodType, goodMP.String()[:goodMP.Len()-10], 0, apperr.Invalid, msgInvalidBody},
		{"multipart garbage", goodType, "\x00\xff garbage", 0, apperr.Invalid, msgInvalidBody},
		{"bad json payload", badPayloadType, badPayload.String(), 0, apperr.Invalid, msgInvalidBody},
		{"array json payload", arrayPayloadType, arrayPayload.String(), 0, apperr.Invalid, msgInvalidBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.contentType)
			_, _, err := decodeBody(r, tt.max)
			e := apperr.As(err)
			if e == nil || e.Code != tt.code || e.Message != tt.message {
				t.Fatalf("decodeBody error = %v, want %s %q", err, tt.code, tt.message)
			}
		})
	}
}

func TestDecodeBodyChunked(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader(`{"a"`), strings.NewReader(`:1}`)))
	r.ContentLength = -1
	data, _, err := decodeBody(r, 100)
	if err != nil || data["a"] != 1.0 {
		t.Fatalf("data %v, err %v", data, err)
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat(" ", 200)+"{}"))
	r.ContentLength = -1
	if _, _, err := decodeBody(r, 100); apperr.CodeOf(err) != apperr.TooLarge {
		t.Fatalf("oversize chunked body: err %v, want too_large", err)
	}
}

func TestDecodeBodyNoBody(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Content-Type", "text/plain") // no body, so no complaint
	data, files, err := decodeBody(r, 0)
	if err != nil || len(data) != 0 || files != nil {
		t.Fatalf("data %v, files %v, err %v", data, files, err)
	}
}

// TestDecodeBodyOverHTTP sends hostile bodies through a real server.
func TestDecodeBodyOverHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, files, err := decodeBody(r, 64<<10)
		if err != nil {
			writeError(w, r, err, nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": len(data), "files": len(files)})
	}))
	t.Cleanup(srv.Close)

	mpType, mpBody := multipartBody(t, [][2]string{{"a", "1"}}, map[string]string{"f": strings.Repeat("z", 100<<10)})
	tests := []struct {
		name, contentType string
		body              io.Reader
		status            int
	}{
		{"ok", "application/json", strings.NewReader(`{"a":1}`), 200},
		{"huge json", "application/json", io.MultiReader(strings.NewReader(`{"a":"`), bytes.NewReader(bytes.Repeat([]byte("x"), 10<<20)), strings.NewReader(`"}`)), 413},
		{"huge multipart file", mpType, mpBody, 413},
		{"invalid json", "application/json", strings.NewReader(`{`), 400},
		{"bad boundary", "multipart/form-data; boundary=", strings.NewReader("--x\r\n"), 400},
		{"many form keys", "application/x-www-form-urlencoded", strings.NewReader(strings.Repeat("k=v&", 5000)), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request failed: %v", err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			decodeJSON(t, body)
		})
	}
}

func TestInferValue(t *testing.T) {
	t.Parallel()
	tests := map[string]any{
		"": "", "true": true, "false": false, "True": "True", "12": 12.0, "-3": -3.0, "0.5": 0.5, "-0.5": -0.5,
		"0012": "0012", "1e3": "1e3", "1.50": "1.50", "0.0": "0.0", "-": "-", ".5": ".5", "1-2": "1-2",
		"Infinity": "Infinity", "NaN": "NaN", "12abc": "12abc", "x\xffy": "x\uFFFDy",
	}
	for in, want := range tests {
		if got := inferValue(in); got != want {
			t.Errorf("inferValue(%q) = %#v, want %#v", in, got, want)
		}
	}
}

func FuzzDecodeBody(f *testing.F) {
	f.Add("application/json", []byte(`{"a":[1,{"b":null}]}`))
	f.Add("", []byte(`{"a":1}`))
	f.Add("application/x-www-form-urlencoded", []byte(`a=1&a=2&@jsonPayload={"x":1}`))
	f.Add("multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--X--\r\n"))
	f.Add("multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"@jsonPayload\"\r\n\r\n{\"k\":[1]}\r\n--X--\r\n"))
	f.Add("text/plain", []byte("x"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header = http.Header{textproto.CanonicalMIMEHeaderKey("Content-Type"): {contentType}}
		data, _, err := decodeBody(r, 1<<16)
		if r.MultipartForm != nil {
			t.Cleanup(func() { r.MultipartForm.RemoveAll() })
		}
		if err != nil {
			if c := apperr.CodeOf(err); c != apperr.Invalid && c != apperr.TooLarge {
				t.Fatalf("decodeBody error %v has code %s", err, c)
			}
			return
		}
		if _, err := json.Marshal(data); err != nil {
			t.Fatalf("decoded data cannot be encoded: %v", err)
		}
	})
}
