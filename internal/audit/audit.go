// Package audit records superuser actions and auth events in the audit log,
// the append-only, hash-chained table every engine keeps (store.AuditLog),
// and verifies the chain.
//
// Services call Log.Record inside the write transaction of the change they
// audit, so that the change and its entry commit together; events that
// write nothing else (a failed sign-in) use Log.RecordAlone. The actor and
// client IP come from the request context (WithActor), set once by the
// transport. Details never hold secrets: Redact drops them.
//
// audit is a service: it imports the storage port, never an engine or a
// transport.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/store"
)

// Actor is who made a request: an auth record, or a guest when RecordID is
// empty, seen from IP.
type Actor struct {
	CollectionID string
	RecordID     string
	IP           string
}

type actorKey struct{}

// WithActor returns ctx carrying a as the request's actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

type actorFuncKey struct{}

// WithActorFunc returns ctx carrying actor, which tells the actor from the
// context of the change when an entry is written: finding the actor then
// costs only the requests that are audited.
func WithActorFunc(ctx context.Context, actor func(context.Context) Actor) context.Context {
	return context.WithValue(ctx, actorFuncKey{}, actor)
}

// ActorOf returns the actor ctx carries (WithActor, else WithActorFunc)
// and whether it carries one.
func ActorOf(ctx context.Context) (Actor, bool) {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a, true
	}
	if actor, ok := ctx.Value(actorFuncKey{}).(func(context.Context) Actor); ok {
		return actor(ctx), true
	}
	return Actor{}, false
}

// Writer is the part of the store the log appends through.
type Writer interface {
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// Log appends audit entries. A nil *Log records nothing, so that services
// built without one (in tests) need no checks.
type Log struct {
	st     Writer
	now    func() time.Time
	logger *slog.Logger
}

// New returns a Log appending to st.
func New(st Writer, now func() time.Time, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{st: st, now: now, logger: logger}
}

// Entry is what a service says about one action.
type Entry struct {
	// Action is a dotted name: "collection.create", "auth.password.fail"…
	Action string
	// Target names the object acted on (a collection name, a record id).
	Target string
	// Detail is encoded as JSON; it must already be free of secrets (see
	// Redact). nil stores {}.
	Detail any
}

// Record appends e within tx, with the actor of ctx. A request without an
// actor in its context is Basalt's own doing (a command, a background job)
// and is recorded with an empty actor.
func (l *Log) Record(ctx context.Context, tx store.Tx, e Entry) error {
	if l == nil {
		return nil
	}
	entry, err := l.entry(ctx, e)
	if err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, entry); err != nil {
		return fmt.Errorf("recording %s in the audit log: %w", e.Action, err)
	}
	return nil
}

// RecordAlone appends e in a transaction of its own, for events that change
// nothing else (failed sign-ins). A failure is logged, not returned: the
// caller's answer does not depend on it. The append runs even when ctx is
// cancelled (the client went away after a failed attempt).
func (l *Log) RecordAlone(ctx context.Context, e Entry) {
	if l == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	entry, err := l.entry(ctx, e)
	if err == nil {
		err = l.st.InTx(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, entry) })
	}
	if err != nil {
		l.logger.ErrorContext(ctx, "recording in the audit log", "action", e.Action, "err", err)
	}
}

func (l *Log) entry(ctx context.Context, e Entry) (*store.AuditEntry, error) {
	entry := &store.AuditEntry{Time: l.now(), Action: e.Action, Target: e.Target}
	if a, ok := ActorOf(ctx); ok {
		entry.ActorCollection, entry.ActorID, entry.IP = a.CollectionID, a.RecordID, a.IP
		if a.RecordID == "" {
			entry.ActorCollection, entry.ActorID = "", store.AuditGuest
		}
	}
	if e.Detail != nil {
		doc, err := json.Marshal(e.Detail)
		if err != nil {
			return nil, fmt.Errorf("encoding the audit detail of %s: %w", e.Action, err)
		}
		entry.Detail = doc
	}
	return entry, nil
}

// secretWords are the key fragments whose values Redact drops.
var secretWords = []string{"password", "secret", "token", "apikey", "privatekey", "accesskey"}

// IsSecret reports whether a key names a secret value (case-insensitive:
// "password", "clientSecret", "refreshToken", "accessKey"…).
func IsSecret(key string) bool {
	k := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(key, "_", ""), "-", ""))
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Redact returns a copy of v, a decoded JSON value, with every scalar under
// a key naming a secret replaced by "***" (so that a diff still shows that a
// secret changed, never what it is). Objects under such keys ("authToken":
// {"secret", "duration"}) are redacted key by key.
func Redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if _, isObject := x.(map[string]any); IsSecret(k) && !isObject {
				if x != nil && x != "" {
					out[k] = "***"
				}
				continue
			}
			out[k] = Redact(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = Redact(x)
		}
		return out
	}
	return v
}

// RedactJSON decodes doc and redacts it; a document that does not decode
// yields nil.
func RedactJSON(doc []byte) any {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return nil
	}
	return Redact(v)
}
