package rest

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/logs"
)

// msgInternal is the only message a client sees for an internal error.
const msgInternal = "Something went wrong while processing your request."

// maxDataDepth bounds how deep error data is converted; deeper values are
// replaced by a generic problem (a cycle cannot loop forever).
const maxDataDepth = 32

// writeJSON writes v as a JSON response with the given status (no body for
// 204 and 304). A value that cannot be encoded is a programming error: the
// client gets a 500 envelope instead.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/json", v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	writeEncodedAs(w, status, contentType, func(dst []byte) ([]byte, error) { return appendJSON(dst, v, 0) })
}

// writePage answers 200 with a page of items in PocketBase's list envelope.
func writePage(w http.ResponseWriter, page, perPage int, total int64, items []any) {
	writeJSON(w, http.StatusOK, map[string]any{
		"page": page, "perPage": perPage, "totalItems": total,
		"totalPages": (total + int64(perPage) - 1) / int64(perPage), "items": items})
}

// writeEncoded writes the JSON body that encode appends to a pooled
// buffer; when encode fails, the client gets a 500 envelope instead.
func writeEncoded(w http.ResponseWriter, status int, encode func(dst []byte) ([]byte, error)) {
	writeEncodedAs(w, status, "application/json", encode)
}

func writeEncodedAs(w http.ResponseWriter, status int, contentType string, encode func(dst []byte) ([]byte, error)) {
	buf := bodyBuffers.Get().(*[]byte)
	defer putBodyBuffer(buf)
	body, err := encode((*buf)[:0])
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = appendJSON((*buf)[:0], map[string]any{"status": status, "message": msgInternal, "data": map[string]any{}}, 0)
	}
	body = append(body, '\n')
	*buf = body
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client has gone
}

// bodyBuffers recycles response buffers: a list page is tens of kilobytes,
// and allocating and growing one per request shows in profiles. Write does
// not keep the slice (io.Writer's contract), so it is reused after it.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBody bounds the buffers kept for reuse; rare large bodies are
// left to the garbage collector.
const maxPooledBody = 256 << 10

func putBodyBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBody {
		bodyBuffers.Put(b)
	}
}

// maxFastDepth is how deep appendJSON encodes by itself; deeper values go
// to encoding/json, which also reports cycles.
const maxFastDepth = 64

// appendJSON appends the JSON encoding of v to dst, byte for byte what
// json.Marshal(v) returns, and fails where json.Marshal fails. The shapes
// every response is made of (map[string]any, []any, []string, strings,
// float64, ints, bools and nil) are encoded here without reflection; any
// other value is handed to json.Marshal.
func appendJSON(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxFastDepth {
		return appendMarshal(dst, v)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendJSONString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case float64:
		return appendJSONFloat(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return appendJSONObject(dst, x, depth)
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, item := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, item, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, item := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, item)
		}
		return append(dst, ']'), nil
	}
	return appendMarshal(dst, v)
}

// appendJSONObject encodes m with its keys in sorted order, as
// encoding/json does.
func appendJSONObject(dst []byte, m map[string]any, depth int) ([]byte, error) {
	// Entries are collected once (no second lookup per key) into a stack
	// array that fits a record's fields.
	var small [24]jsonEntry
	entries := small[:0]
	for k, v := range m {
		entries = append(entries, jsonEntry{k, v})
	}
	slices.SortFunc(entries, func(a, b jsonEntry) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, e.key)
		dst = append(dst, ':')
		var err error
		if dst, err = appendJSON(dst, e.value, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

type jsonEntry struct {
	key   string
	value any
}

func appendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendJSONFloat encodes f as encoding/json does: like JavaScript, plain
// decimal notation unless the magnitude is below 1e-6 or at least 1e21,
// with a two-digit exponent trimmed (1e-07 becomes 1e-7). NaN and
// infinities have no JSON form.
func appendJSONFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return appendMarshal(dst, f) // json.Marshal's UnsupportedValueError
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes a JSON string holds as they are: printable
// characters except '"', '\\' and the HTML-sensitive '<', '>' and '&'.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		safe[b] = !strings.ContainsRune(`"\<>&`, rune(b))
	}
	return safe
}()

// appendJSONString encodes s as encoding/json does with its default HTML
// escaping: '"', '\\' and control characters escaped, '<', '>' and '&' as
// \u003c, \u003e and \u0026, invalid UTF-8 bytes as \ufffd, and U+2028 and
// U+2029 as \u2028 and \u2029.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// writeError writes err as PocketBase's error envelope
// {"status":N,"message":"…","data":{…}}, or as RFC 9457 problem details when
// the client accepts application/problem+json. Server-side failures (5xx)
// are logged with their cause, which is never sent; other errors with a
// cause are logged at debug level.
func writeError(w http.ResponseWriter, r *http.Request, err error, logger *slog.Logger) {
	status, body := errorBody(err)
	if st := stateOf(r); st != nil {
		st.err, st.errMessage = err, body["message"].(string)
	}
	if logger != nil {
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "err", err}
		switch {
		case status >= 500 && !clientGone(r, err):
			logger.ErrorContext(r.Context(), "request failed", attrs...)
		case status >= 500 || errors.Unwrap(err) != nil:
			logger.DebugContext(r.Context(), "request failed", attrs...)
		}
	}
	if acceptsProblem(r) {
		problem := map[string]any{
			"type":   "about:blank",
			"title":  http.StatusText(status),
			"status": status,
			"detail": body["message"],
			"data":   body["data"],
		}
		// RFC 9457 allows extension members; PocketBase's envelope gets
		// the id in the X-Request-Id header only, keeping its shape.
		if id := logs.RequestID(r.Context()); id != "" {
			problem["requestId"] = id
		}
		writeBody(w, status, "application/problem+json", problem)
		return
	}
	writeJSON(w, status, body)
}

// clientGone reports an error caused by the client cancelling its request.
func clientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && errors.Is(err, r.Context().Err())
}

// errorBody returns the status and the envelope PocketBase would answer err
// with. Errors that are not *apperr.Error are internal.
func errorBody(err error) (int, map[string]any) {
	status := http.StatusInternalServerError
	message := msgInternal
	data := map[string]any{}
	if e := apperr.As(err); e != nil {
		status = e.Code.HTTPStatus(len(e.Data) > 0)
		if status != http.StatusInternalServerError {
			message = e.Message
			if strings.TrimSpace(message) == "" {
				message = defaultMessage(status)
			}
			data = safeData(e.Data, 0)
		}
	}
	return status, map[string]any{"status": status, "message": sentenize(message), "data": data}
}

// defaultMessage is PocketBase's message for an error without one.
func defaultMessage(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusInternalServerError:
		return msgInternal
	case http.StatusUnauthorized:
		return "Missing or invalid authentication."
	case http.StatusForbidden:
		return "You are not allowed to perform this request."
	case http.StatusNotFound:
		return "The requested resource wasn't found."
	default:
		return http.StatusText(status)
	}
}

// safeData converts apperr data to its JSON form: every problem becomes
// {"code","message"} (messages sentenized) and nested maps stay nested.
// A map with a string "code" is already a problem and is kept as it is,
// so callers may add keys such as a batch sub-response.
func safeData(data map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = safeValue(v, depth+1)
	}
	return out
}

func safeValue(v any, depth int) any {
	if depth > maxDataDepth {
		return genericProblem()
	}
	switch v := v.(type) {
	case apperr.Field:
		return problem(v.Code, v.Message)
	case *apperr.Field:
		if v == nil {
			return genericProblem()
		}
		return problem(v.Code, v.Message)
	case map[string]apperr.Field:
		out := make(map[string]any, len(v))
		for k, f := range v {
			out[k] = problem(f.Code, f.Message)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, msg := range v {
			out[k] = problem("validation_invalid_value", msg)
		}
		return out
	case map[string]any:
		if code, ok := v["code"].(string); ok {
			out := make(map[string]any, len(v))
			for k, x := range v {
				out[k] = x
			}
			out["code"] = code
			if msg, ok := v["message"].(string); ok {
				out["message"] = sentenize(msg)
			}
			return out
		}
		return safeData(v, depth)
	case *apperr.Error:
		if v == nil || v.Code == apperr.Internal {
			return genericProblem()
		}
		return problem("validation_invalid_value", v.Message)
	case string:
		return problem("validation_invalid_value", v)
	default:
		// Plain errors and other values may carry internals: never echo them.
		return genericProblem()
	}
}

func problem(code, message string) map[string]any {
	if code == "" {
		code = "validation_invalid_value"
	}
	if strings.TrimSpace(message) == "" {
		message = "Invalid value."
	}
	return map[string]any{"code": code, "message": sentenize(message)}
}

func genericProblem() map[string]any {
	return map[string]any{"code": "validation_invalid_value", "message": "Invalid value."}
}

// sentenize trims s, capitalizes its first letter and ends it with a period
// unless it already ends with '.', '?' or '!'.
func sentenize(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	first, size := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(first)) + s[size:]
	switch s[len(s)-1] {
	case '.', '?', '!':
		return s
	}
	return s + "."
}

// acceptsProblem reports whether the client asked for RFC 9457 problem
// details rather than the PocketBase envelope.
func acceptsProblem(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/problem+json" {
			return true
		}
	}
	return false
}
