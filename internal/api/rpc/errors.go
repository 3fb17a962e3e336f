package rpc

import (
	"context"
	"errors"
	"sort"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// msgInternal is the message of every internal error: its cause is
// logged, never sent.
const msgInternal = "Something went wrong while processing your request."

// statusCode returns the status code of a service error code; false for
// internal errors and codes it does not know.
func statusCode(c apperr.Code) (connect.Code, bool) {
	switch c {
	case apperr.Invalid:
		return connect.CodeInvalidArgument, true
	case apperr.Unauthenticated:
		return connect.CodeUnauthenticated, true
	case apperr.Forbidden:
		return connect.CodePermissionDenied, true
	case apperr.NotFound:
		return connect.CodeNotFound, true
	case apperr.Conflict:
		return connect.CodeAborted, true
	case apperr.TooLarge, apperr.TooManyRequests:
		return connect.CodeResourceExhausted, true
	case apperr.Unavailable:
		return connect.CodeUnavailable, true
	}
	return 0, false
}

// fail turns a service error into the error a client receives: the status
// code of its service code, its client-safe message and, for per-field
// problems, a google.rpc.BadRequest detail whose field violations carry
// the field name, the message and the REST error code (as reason). An
// internal error is logged with its cause and answered with a generic
// message.
func (s *service) fail(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return connect.NewError(connect.CodeCanceled, errors.New("The request was canceled."))
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("The request ran out of time."))
	}
	e := apperr.As(err)
	code, ok := connect.Code(0), false
	if e != nil {
		code, ok = statusCode(e.Code)
	}
	if !ok {
		s.logger.ErrorContext(ctx, "rpc request failed", "err", err)
		return connect.NewError(connect.CodeInternal, errors.New(msgInternal))
	}
	ce := connect.NewError(code, errors.New(e.Message))
	if v := violations(e.Data, ""); len(v) > 0 {
		if d, err := connect.NewErrorDetail(&errdetails.BadRequest{FieldViolations: v}); err == nil {
			ce.AddDetail(d)
		}
	}
	return ce
}

// violations flattens per-field problems (nested ones, as a batch's, are
// named "outer.inner"), sorted by field.
func violations(data map[string]any, prefix string) []*errdetails.BadRequest_FieldViolation {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*errdetails.BadRequest_FieldViolation
	for _, k := range keys {
		switch v := data[k].(type) {
		case apperr.Field:
			out = append(out, &errdetails.BadRequest_FieldViolation{Field: prefix + k, Description: v.Message, Reason: v.Code})
		case map[string]any:
			out = append(out, violations(v, prefix+k+".")...)
		}
	}
	return out
}
