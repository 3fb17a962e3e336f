package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/basalt-dev/basalt/internal/apperr"
)

func TestFail(t *testing.T) {
	secret := errors.New("sqlite: table _secret_internals is locked")
	tests := []struct {
		err  error
		code connect.Code
		msg  string
	}{
		{apperr.New(apperr.Invalid, "Bad."), connect.CodeInvalidArgument, "Bad."},
		{apperr.New(apperr.Unauthenticated, "Sign in."), connect.CodeUnauthenticated, "Sign in."},
		{apperr.New(apperr.Forbidden, "No."), connect.CodePermissionDenied, "No."},
		{apperr.New(apperr.NotFound, "Gone."), connect.CodeNotFound, "Gone."},
		{apperr.Wrap(apperr.Conflict, "Again.", secret), connect.CodeAborted, "Again."},
		{apperr.New(apperr.TooLarge, "Big."), connect.CodeResourceExhausted, "Big."},
		{apperr.New(apperr.TooManyRequests, "Slow down."), connect.CodeResourceExhausted, "Slow down."},
		{apperr.New(apperr.Unavailable, "Busy."), connect.CodeUnavailable, "Busy."},
		{apperr.Wrap(apperr.Internal, "table locked", secret), connect.CodeInternal, msgInternal},
		{fmt.Errorf("listing: %w", secret), connect.CodeInternal, msgInternal},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		s := &service{logger: slog.New(slog.NewTextHandler(&logs, nil))}
		err := s.fail(context.Background(), tt.err)
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Code() != tt.code || ce.Message() != tt.msg {
			t.Errorf("%v: got %v, want %v %q", tt.err, err, tt.code, tt.msg)
			continue
		}
		if strings.Contains(err.Error(), "_secret_internals") {
			t.Errorf("%v: the cause leaked: %v", tt.err, err)
		}
		if tt.code == connect.CodeInternal && !strings.Contains(logs.String(), "_secret_internals") {
			t.Errorf("%v: the cause was not logged: %q", tt.err, logs.String())
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &service{logger: slog.New(slog.DiscardHandler)}
	if err := s.fail(ctx, fmt.Errorf("query: %w", context.Canceled)); connect.CodeOf(err) != connect.CodeCanceled {
		t.Errorf("canceled: %v", err)
	}
}

func TestFieldViolations(t *testing.T) {
	s := &service{logger: slog.New(slog.DiscardHandler)}
	err := s.fail(context.Background(), &apperr.Error{Code: apperr.Invalid, Message: "Bad.", Data: map[string]any{
		"title": apperr.Field{Code: "validation_required", Message: "Cannot be blank."},
		"batch": map[string]any{"0": map[string]any{"n": apperr.Field{Code: "validation_min", Message: "Too small."}}},
	}})
	var ce *connect.Error
	if !errors.As(err, &ce) || len(ce.Details()) != 1 {
		t.Fatalf("got %v", err)
	}
	v, err := ce.Details()[0].Value()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fv := range v.(*errdetails.BadRequest).FieldViolations {
		got = append(got, fv.Field+" "+fv.Reason+" "+fv.Description)
	}
	want := []string{"batch.0.n validation_min Too small.", "title validation_required Cannot be blank."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}
