package record

import (
	"context"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Hooks is called around every create, update and delete that goes through
// the service, whatever the transport (REST, batch, GraphQL, RPC, functions).
// Records removed by a cascade and by Truncate are not announced.
type Hooks interface {
	// Before runs inside the write transaction: for create and update after
	// the input has been applied and before the record is validated, for
	// delete before the record and what references it are removed. It may
	// change e.Record through e.Set (the changes are then validated like
	// input). An error rolls the write back and reaches the caller as it
	// is: an apperr.Invalid with per-field Data answers 400 with those
	// problems. The write lock is held while it runs, so it must be short.
	Before(ctx context.Context, e *HookEvent) error
	// After runs once the transaction has committed (so the write has
	// happened whatever it does), before the operation returns; ctx is not
	// cancelled by the caller going away.
	After(ctx context.Context, e *HookEvent)
}

// HookEvent describes one record write to Hooks.
type HookEvent struct {
	// Action is store.ActionCreate, ActionUpdate or ActionDelete.
	Action     store.Action
	Collection *schema.Collection
	// Request is the caller (a guest when Auth is nil).
	Request *Request
	// Record is the record as it will be stored (create, update) or the
	// record being removed (delete). Hooks change it only through Set.
	Record *schema.Record
	// Original is the stored record before an update; nil otherwise.
	Original *schema.Record
	// Tx is the write's transaction during before-hooks, for work that must
	// commit or roll back with the write (enqueueing a job); nil in
	// after-hooks, which run after the commit.
	Tx store.Tx

	problems apperr.FieldErrors
}

// ReadOnlyField is returned by HookEvent.Set for a field a hook may not
// change: system-managed ones (autodate, tokenKey), passwords, files, and the
// id of an existing record.
type ReadOnlyField struct{ Name string }

func (e *ReadOnlyField) Error() string { return "field " + e.Name + " cannot be changed by a hook" }

// Set gives field name of e.Record a new value through the field's
// normalization, as submitted input would be: an invalid value becomes a
// per-field problem of the write (answered 400), not a panic. Names that are
// not fields of the collection are ignored and report false.
func (e *HookEvent) Set(name string, value any) (bool, error) {
	f := e.Collection.Field(name)
	if f == nil {
		return false, nil
	}
	if e.Action == store.ActionDelete || f.Type == schema.TypeAutodate || f.Type == schema.TypePassword ||
		f.Type == schema.TypeFile || (f.Name == "tokenKey" && e.Collection.IsAuth()) ||
		(f.Name == "id" && e.Action != store.ActionCreate) {
		return false, &ReadOnlyField{Name: name}
	}
	v, problem := f.Normalize(value)
	if problem != nil {
		if e.problems == nil {
			e.problems = apperr.FieldErrors{}
		}
		e.problems.Add(name, problem.Code, problem.Message)
		return true, nil
	}
	e.Record.Data[name] = v
	return true, nil
}

// SetHooks installs h around every write (nil removes it). Call it while
// wiring, before the service is used.
func (s *Service) SetHooks(h Hooks) { s.hooks = h }

// before runs the before-hook of e, if any, adds the problems of the values
// it set to fe and queues the after-hook for the commit.
func (s *Service) before(ctx context.Context, fx *effects, fe apperr.FieldErrors, e *HookEvent) error {
	if s.hooks == nil {
		return nil
	}
	if err := s.hooks.Before(ctx, e); err != nil {
		return err
	}
	for name, p := range e.problems {
		fe.Add(name, p.Code, p.Message)
	}
	fx.after = append(fx.after, e)
	return nil
}

// after runs the after-hooks of a committed transaction in write order.
func (s *Service) after(ctx context.Context, fx *effects) {
	if s.hooks == nil || len(fx.after) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, e := range fx.after {
		e.Tx = nil // committed
		s.hooks.After(ctx, e)
	}
}
