package graphql

import (
	"context"
	"errors"
	"log/slog"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/location"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// msgInternal is the only message a client sees for an internal error.
const msgInternal = "Something went wrong while processing your request."

// Error is one entry of a response's errors list. Extensions carry the
// service error code (DESIGN.md §5: invalid, unauthenticated, forbidden,
// not_found, conflict, too_large, too_many_requests, unavailable, internal)
// and, for invalid input, the per-field problems under "data" in the shape
// REST uses ({"field": {"code", "message"}}).
type Error struct {
	Message    string                    `json:"message"`
	Locations  []location.SourceLocation `json:"locations,omitempty"`
	Path       []any                     `json:"path,omitempty"`
	Extensions map[string]any            `json:"extensions"`
}

// fromApp converts a service error, logging the cause of internal ones.
func fromApp(err error, logger *slog.Logger) Error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Error{Message: "The query took too long and was stopped.", Extensions: map[string]any{"code": string(apperr.Unavailable)}}
	case errors.Is(err, context.Canceled):
		return Error{Message: "The request was cancelled.", Extensions: map[string]any{"code": string(apperr.Unavailable)}}
	}
	e := apperr.As(err)
	if e == nil || e.Code == apperr.Internal {
		if logger != nil {
			logger.Error("graphql: internal error", "err", err)
		}
		return Error{Message: msgInternal, Extensions: map[string]any{"code": string(apperr.Internal)}}
	}
	out := Error{Message: e.Message, Extensions: map[string]any{"code": string(e.Code)}}
	if len(e.Data) > 0 {
		out.Extensions["data"] = e.Data
	}
	return out
}

// fromGraphQL converts the errors graphql-go reports: errors of the query
// itself (syntax, validation, variables) keep their message with code
// "invalid"; errors a resolver returned are service errors.
func fromGraphQL(list []gqlerrors.FormattedError, logger *slog.Logger) []Error {
	out := make([]Error, 0, len(list))
	for _, fe := range list {
		orig := fe.OriginalError()
		var ge *gqlerrors.Error
		if errors.As(orig, &ge) {
			orig = ge.OriginalError
		}
		var e Error
		if orig == nil {
			e = Error{Message: fe.Message, Extensions: map[string]any{"code": string(apperr.Invalid)}}
		} else {
			e = fromApp(orig, logger)
		}
		e.Locations, e.Path = fe.Locations, fe.Path
		out = append(out, e)
	}
	return out
}
