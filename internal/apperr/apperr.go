// Package apperr defines Basalt's one error type: a small code set, a
// client-safe message, per-field problems and a wrapped cause that is logged
// but never sent. Every transport maps it once to its own wire shape.
//
// apperr is a leaf package: it imports no other Basalt package.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for transports; it is part of the public contract.
type Code string

// The code set. Keep it small: transports map each code to exactly one status.
const (
	Invalid         Code = "invalid"
	Unauthenticated Code = "unauthenticated"
	Forbidden       Code = "forbidden"
	NotFound        Code = "not_found"
	Conflict        Code = "conflict"
	TooLarge        Code = "too_large"
	TooManyRequests Code = "too_many_requests"
	Unavailable     Code = "unavailable"
	Internal        Code = "internal"
)

// Field is one problem with one input field, e.g. {validation_required, "Cannot be blank."}.
type Field struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the service-layer error. Message and Data are safe to show to
// clients; Cause is for logs only.
type Error struct {
	Code    Code
	Message string
	// Data holds per-field problems: values are Field or nested map[string]any
	// (for example a batch's per-request errors). Nil means none.
	Data  map[string]any
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with the given code and client-safe message.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Wrap returns an error with the given code and message that keeps cause for logs.
func Wrap(code Code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, Cause: cause}
}

// Fields returns an Invalid error with per-field problems.
func Fields(message string, fields map[string]Field) *Error {
	data := make(map[string]any, len(fields))
	for k, v := range fields {
		data[k] = v
	}
	return &Error{Code: Invalid, Message: message, Data: data}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// CodeOf returns err's code: Internal for errors that are not *Error, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e := As(err); e != nil {
		return e.Code
	}
	return Internal
}

// FieldErrors collects per-field problems while validating input.
type FieldErrors map[string]Field

// Add records a problem for name unless one is already recorded.
func (fe FieldErrors) Add(name, code, message string) {
	if _, ok := fe[name]; !ok {
		fe[name] = Field{Code: code, Message: message}
	}
}

// Err returns an Invalid *Error carrying the problems, or nil when there are none.
func (fe FieldErrors) Err(message string) error {
	if len(fe) == 0 {
		return nil
	}
	return Fields(message, fe)
}
