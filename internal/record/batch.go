package record

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

// Op is one write of a batch.
type Op struct {
	// Method is POST (create), PUT (upsert by Input.Data["id"]), PATCH
	// (update) or DELETE.
	Method     string
	Collection string
	ID         string
	Input      Input
	Expand     string
}

// BatchError reports which operation of a batch failed.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("batch request %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// Batch runs ops in one transaction with each op's rules applied for req:
// all of them take effect or none does. The result has one item per op
// (nil for deletes).
func (s *Service) Batch(ctx context.Context, req *Request, ops []Op) ([]*Item, error) {
	req = guest(req)
	sub := *req
	sub.Context = "batch"
	ops = slices.Clone(ops) // the password work goes into the copies' inputs
	for i := range ops {
		switch op := &ops[i]; op.Method {
		case http.MethodPost, http.MethodPut: // an upsert that updates uses the hash when the password is the same
			s.passwordAhead(ctx, &sub, op.Collection, "", &op.Input)
		case http.MethodPatch:
			s.passwordAhead(ctx, &sub, op.Collection, op.ID, &op.Input)
		}
	}
	records := make([]*Item, len(ops))
	err := s.inTx(ctx, func(tx store.Tx, fx *effects) error {
		for i, op := range ops {
			if err := ctx.Err(); err != nil {
				return &BatchError{Index: i, Err: apperr.Wrap(apperr.Unavailable, "Batch transaction timed out.", err)}
			}
			it, err := s.runOp(ctx, tx, fx, &sub, op)
			if err != nil {
				return &BatchError{Index: i, Err: err}
			}
			records[i] = it
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, op := range ops {
		if records[i] == nil || op.Expand == "" {
			continue
		}
		if err := s.expand(ctx, req, []*Item{records[i]}, op.Expand); err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	return records, nil
}

func (s *Service) runOp(ctx context.Context, tx store.Tx, fx *effects, req *Request, op Op) (*Item, error) {
	switch op.Method {
	case http.MethodPost:
		r, err := s.create(ctx, tx, fx, req, op.Collection, op.Input)
		if err != nil {
			return nil, err
		}
		return &Item{Record: r}, nil
	case http.MethodPatch:
		r, err := s.update(ctx, tx, fx, req, op.Collection, op.ID, op.Input)
		if err != nil {
			return nil, err
		}
		return &Item{Record: r}, nil
	case http.MethodPut:
		id, _ := op.Input.Data["id"].(string)
		if id != "" {
			c, err := s.Collection(op.Collection)
			if err != nil {
				return nil, err
			}
			super := &Request{Auth: superuserRecord()}
			if _, err := findOne(ctx, tx, s.query(c, super), id); err == nil {
				r, err := s.update(ctx, tx, fx, req, op.Collection, id, op.Input)
				if err != nil {
					return nil, err
				}
				return &Item{Record: r}, nil
			} else if apperr.CodeOf(err) != apperr.NotFound {
				return nil, err
			}
		}
		r, err := s.create(ctx, tx, fx, req, op.Collection, op.Input)
		if err != nil {
			return nil, err
		}
		return &Item{Record: r}, nil
	case http.MethodDelete:
		return nil, s.delete(ctx, tx, fx, req, op.Collection, op.ID)
	}
	return nil, apperr.New(apperr.Invalid, "Unsupported batch request method.")
}
