package rest

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// jsonPayloadKey names the multipart (or form) field whose JSON object is
// merged into the submitted data, as the JS SDK sends it along with files.
const jsonPayloadKey = "@jsonPayload"

// multipartMemory is how much of a multipart body is kept in memory; larger
// file parts spill to temporary files, removed by net/http after the handler.
const multipartMemory = 32 << 20

// Messages of body decoding errors, as PocketBase words them.
const (
	msgInvalidBody     = "Failed to load the submitted data due to invalid formatting."
	msgUnsupportedType = "Unsupported Content-Type."
	msgBodyTooLarge    = "Request entity too large."
)

// decodeBody reads the request body into submitted data and uploaded files.
//
// It accepts JSON (application/json, any +json type, or no Content-Type at
// all) whose top level must be an object, application/x-www-form-urlencoded,
// and multipart/form-data. Form values are inferred as PocketBase does
// ("true"/"false" become booleans, canonical numbers become float64) and a
// repeated key becomes a list; every "@jsonPayload" value is a JSON object
// merged over the other keys. JSON numbers become float64. An empty body
// gives empty data.
//
// At most maxBytes are read (maxBytes <= 0 means 32 MiB): a larger body is an
// apperr TooLarge error. Malformed bodies are apperr Invalid errors.
func decodeBody(r *http.Request, maxBytes int64) (map[string]any, map[string][]*multipart.FileHeader, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return map[string]any{}, nil, nil
	}
	if maxBytes <= 0 {
		maxBytes = multipartMemory
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBytes)

	mediaType := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, nil, apperr.Wrap(apperr.Invalid, msgUnsupportedType, err)
		}
		mediaType = mt
	}

	switch {
	case mediaType == "" || mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		data, err := decodeJSONObject(r.Body, true)
		return data, nil, err
	case mediaType == "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, nil, bodyError(err)
		}
		data, err := formData(r.PostForm)
		return data, nil, err
	case mediaType == "multipart/form-data":
		if err := r.ParseMultipartForm(multipartMemory); err != nil {
			return nil, nil, bodyError(err)
		}
		data, err := formData(r.MultipartForm.Value)
		if err != nil {
			return nil, nil, err
		}
		return data, r.MultipartForm.File, nil
	default:
		return nil, nil, apperr.New(apperr.Invalid, msgUnsupportedType)
	}
}

// bodyError classifies an error met while reading a body.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || errors.Is(err, multipart.ErrMessageTooLarge) {
		return apperr.Wrap(apperr.TooLarge, msgBodyTooLarge, err)
	}
	return apperr.Wrap(apperr.Invalid, msgInvalidBody, err)
}

// decodeJSONObject reads exactly one JSON object (or null, or nothing when
// emptyOK) from r.
func decodeJSONObject(r io.Reader, emptyOK bool) (map[string]any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) && emptyOK {
			return map[string]any{}, nil
		}
		return nil, bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("unexpected data after the JSON value")
		}
		return nil, bodyError(err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, apperr.New(apperr.Invalid, msgInvalidBody)
	}
	if err := numbersToFloat(m); err != nil {
		return nil, bodyError(err)
	}
	return m, nil
}

// numbersToFloat replaces the json.Numbers in v, in place, by float64.
func numbersToFloat(v any) error {
	convert := func(x any) (any, error) {
		n, ok := x.(json.Number)
		if !ok {
			return x, numbersToFloat(x)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return nil, err // out of float64 range
		}
		return f, nil
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			y, err := convert(x)
			if err != nil {
				return err
			}
			v[k] = y
		}
	case []any:
		for i, x := range v {
			y, err := convert(x)
			if err != nil {
				return err
			}
			v[i] = y
		}
	}
	return nil
}

// formData turns form values into submitted data, then merges any
// @jsonPayload objects over them.
func formData(values map[string][]string) (map[string]any, error) {
	data := make(map[string]any, len(values))
	for k, list := range values {
		if k == jsonPayloadKey || len(list) == 0 {
			continue
		}
		if len(list) == 1 {
			data[k] = inferValue(list[0])
			continue
		}
		items := make([]any, len(list))
		for i, s := range list {
			items[i] = inferValue(s)
		}
		data[k] = items
	}
	for _, payload := range values[jsonPayloadKey] {
		obj, err := decodeJSONObject(strings.NewReader(payload), false)
		if err != nil {
			return nil, err
		}
		for k, v := range obj {
			data[k] = v
		}
	}
	return data, nil
}

// inferValue converts a form value as PocketBase does: "true" and "false"
// become booleans, a number in its shortest decimal form ("12", "-0.5")
// becomes float64, anything else ("0012", "1e3", "") stays a string.
func inferValue(s string) any {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "":
		return ""
	}
	if (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && strings.Trim(s, "-.0123456789") == "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == s {
			return f
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
