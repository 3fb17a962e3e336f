package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
)

// batchRequest is one sub-request of POST /api/batch.
type batchRequest struct {
	method string
	url    *url.URL
	body   map[string]any
}

func (s *server) batch(w http.ResponseWriter, r *http.Request) {
	cfg := s.Settings.Current().Batch
	if !cfg.Enabled {
		s.fail(w, r, apperr.New(apperr.Forbidden, "Batch requests are not allowed."))
		return
	}
	max := cfg.MaxBodySize
	if max <= 0 {
		max = 128 << 20
	}
	in, err := s.readBody(r, max)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subs, err := parseBatch(in.Data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(subs) == 0 {
		s.fail(w, r, apperr.Fields("Failed to process the batch request.", map[string]apperr.Field{
			"requests": {Code: "validation_required", Message: "Cannot be blank."}}))
		return
	}
	if cfg.MaxRequests > 0 && len(subs) > cfg.MaxRequests {
		s.fail(w, r, apperr.Fields("Failed to process the batch request.", map[string]apperr.Field{
			"requests": {Code: "validation_length_too_long", Message: fmt.Sprintf("The batch can have at most %d requests.", cfg.MaxRequests)}}))
		return
	}
	ops := make([]record.Op, len(subs))
	for i, sub := range subs {
		op, err := toOp(sub)
		if err != nil {
			s.fail(w, r, batchFailure(i, err))
			return
		}
		op.Input.Data = sub.body
		prefix := "requests." + strconv.Itoa(i) + "."
		for key, files := range in.Files {
			if field, ok := strings.CutPrefix(key, prefix); ok {
				if op.Input.Files == nil {
					op.Input.Files = map[string][]record.Upload{}
				}
				op.Input.Files[field] = files
			}
		}
		ops[i] = op
	}
	ctx := r.Context()
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(cfg.Timeout)*time.Second)
		defer cancel()
	}
	req := s.request(r)
	items, err := s.Records.Batch(ctx, req, ops)
	if err != nil {
		var be *record.BatchError
		if errors.As(err, &be) {
			err = batchFailure(be.Index, be.Err)
		}
		s.fail(w, r, err)
		return
	}
	out := make([]any, len(items))
	for i, it := range items {
		if it == nil {
			out[i] = map[string]any{"status": http.StatusNoContent, "body": nil}
			continue
		}
		var body any = record.Export(it, req)
		if fields := subs[i].url.Query().Get("fields"); fields != "" {
			if body, err = pickFields(body, fields); err != nil {
				s.fail(w, r, batchFailure(i, err))
				return
			}
		}
		out[i] = map[string]any{"status": http.StatusOK, "body": body}
	}
	writeJSON(w, http.StatusOK, out)
}

func parseBatch(data map[string]any) ([]batchRequest, error) {
	raw, ok := data["requests"].([]any)
	if !ok {
		if data["requests"] == nil {
			return nil, nil
		}
		return nil, apperr.New(apperr.Invalid, "Invalid batch requests list.")
	}
	out := make([]batchRequest, len(raw))
	for i, item := range raw {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, batchFailure(i, apperr.New(apperr.Invalid, "Invalid batch request."))
		}
		method, _ := m["method"].(string)
		rawURL, _ := m["url"].(string)
		u, err := url.Parse(rawURL)
		if err != nil || rawURL == "" {
			return nil, batchFailure(i, apperr.New(apperr.Invalid, "Invalid batch request url."))
		}
		body, _ := m["body"].(map[string]any)
		if body == nil {
			body = map[string]any{}
		}
		out[i] = batchRequest{method: strings.ToUpper(method), url: u, body: body}
	}
	return out, nil
}

// toOp maps a sub-request to a record operation; only record writes are allowed.
func toOp(b batchRequest) (record.Op, error) {
	rest, ok := strings.CutPrefix(b.url.Path, "/api/collections/")
	if !ok {
		return record.Op{}, apperr.New(apperr.Invalid, "Unsupported batch request url.")
	}
	parts := strings.Split(rest, "/")
	op := record.Op{Method: b.method, Expand: b.url.Query().Get("expand")}
	switch {
	case len(parts) == 2 && parts[1] == "records" && (b.method == http.MethodPost || b.method == http.MethodPut):
		op.Collection = parts[0]
	case len(parts) == 3 && parts[1] == "records" && (b.method == http.MethodPatch || b.method == http.MethodDelete):
		op.Collection, op.ID = parts[0], parts[2]
	default:
		return record.Op{}, apperr.New(apperr.Invalid, "Unsupported batch request action.")
	}
	return op, nil
}

// batchFailure wraps the error of request i in the batch error shape.
func batchFailure(i int, err error) error {
	status, body := errorBody(err)
	return &apperr.Error{
		Code:    apperr.Invalid,
		Message: "Batch transaction failed.",
		Data: map[string]any{"requests": map[string]any{strconv.Itoa(i): map[string]any{
			"code": "batch_request_failed", "message": "Batch request failed.",
			"response": map[string]any{"status": status, "message": body["message"], "data": body["data"]},
		}}},
		Cause: err,
	}
}
