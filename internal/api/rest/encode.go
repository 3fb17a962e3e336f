package rest

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/jsonenc"
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
	writeEncodedAs(w, status, contentType, func(dst []byte) ([]byte, error) { return jsonenc.Append(dst, v) })
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
		body, _ = jsonenc.Append((*buf)[:0], map[string]any{"status": status, "message": msgInternal, "data": map[string]any{}})
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
