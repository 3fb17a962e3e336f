package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/store"
)

// Messages of the errors Update returns, as PocketBase words them.
const (
	msgLoadFailed = "An error occurred while loading the submitted data."
	msgSaveFailed = "An error occurred while saving the new settings."
)

// ParamStore is the part of store.Store the service uses.
type ParamStore interface {
	// Param returns a stored value; apperr NotFound when absent.
	Param(ctx context.Context, key string) ([]byte, error)
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// Service serves the current settings from memory and persists changes.
// It is safe for concurrent use.
type Service struct {
	st ParamStore
	// current is never mutated once stored; readers get clones.
	current atomic.Pointer[Settings]
	// mu serializes Update and Reload within this process; the store's
	// transaction serializes them across processes.
	mu sync.Mutex
	// Audit records changes (the patch, secrets redacted); nil records
	// nothing.
	Audit *audit.Log
}

// New loads the settings from st (the defaults when none are stored yet).
func New(ctx context.Context, st ParamStore) (*Service, error) {
	s := &Service{st: st}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Get returns a copy of the current settings, secrets included.
func (s *Service) Get() *Settings {
	return s.current.Load().Clone()
}

// Current returns the current settings themselves, for reads on hot paths
// (every request): the caller must not modify them or anything they hold.
// Get returns a copy to change.
func (s *Service) Current() *Settings {
	return s.current.Load()
}

// Public returns a copy of the current settings without secrets, ready to
// be sent to a client.
func (s *Service) Public() *Settings {
	return s.current.Load().Redacted()
}

// Reload replaces the in-memory settings with the stored ones, for example
// after another replica changed them.
func (s *Service) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := load(ctx, s.st)
	if err != nil {
		return err
	}
	s.current.Store(cur)
	return nil
}

// Update merges patch, a JSON object in the settings' shape, onto the stored
// settings, validates the result, persists it and makes it current. Keys
// absent from patch (or null) keep their values; objects merge key by key
// and lists are replaced whole. A secret sent as "" keeps the stored secret.
//
// It returns the new settings without secrets. Errors: apperr Invalid when
// patch is not a JSON object or a value has the wrong type ("An error
// occurred while loading the submitted data.") or when the result breaks a
// rule ("An error occurred while saving the new settings.", with per-key
// problems nested as in the JSON shape).
func (s *Service) Update(ctx context.Context, patch []byte) (*Settings, error) {
	changes, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	var next *Settings
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		// Merge onto the stored value, not the snapshot: another replica
		// may have saved since this one last loaded.
		cur, err := load(ctx, tx)
		if err != nil {
			return err
		}
		next, err = merge(cur, changes)
		if err != nil {
			return err
		}
		keepSecrets(next, cur)
		if err := next.Validate(); err != nil {
			return err
		}
		raw, err := encodeStored(next)
		if err != nil {
			return fmt.Errorf("encoding settings: %w", err)
		}
		if err := tx.SetParam(ctx, ParamKey, raw); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, tx, audit.Entry{Action: "settings.update",
			Detail: map[string]any{"changes": audit.Redact(changes)}}); err != nil {
			return err
		}
		// Other replicas reload when they learn of it (store.WatchConfig).
		return tx.TouchConfig(ctx, store.ConfigSettings)
	})
	if err != nil {
		if apperr.As(err) != nil {
			return nil, err
		}
		return nil, apperr.Wrap(apperr.Internal, "Failed to save the settings.", err)
	}
	s.current.Store(next)
	return next.Redacted(), nil
}

// paramReader is what load needs: the store or a transaction.
type paramReader interface {
	Param(ctx context.Context, key string) ([]byte, error)
}

func load(ctx context.Context, r paramReader) (*Settings, error) {
	raw, err := r.Param(ctx, ParamKey)
	if apperr.CodeOf(err) == apperr.NotFound {
		return Defaults(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading settings: %w", err)
	}
	cur, err := decodeStored(raw)
	if err != nil {
		return nil, fmt.Errorf("decoding stored settings: %w", err)
	}
	return cur, nil
}

// decodePatch parses a client's patch; it must be a JSON object.
func decodePatch(patch []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(patch)) == 0 {
		return map[string]any{}, nil
	}
	m, err := decodeObject(patch)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, msgLoadFailed, err)
	}
	return m, nil
}

// decodeObject parses one JSON object, keeping numbers exact.
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("settings must be a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the settings object")
	}
	return m, nil
}

// merge applies changes onto base and decodes the result into new Settings.
// It works on generic JSON so that lists are replaced, never merged element
// by element into stale values.
func merge(base *Settings, changes map[string]any) (*Settings, error) {
	raw, err := encodeStored(base)
	if err != nil {
		return nil, err
	}
	doc, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	mergeObject(doc, changes)
	merged, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var next Settings
	if err := json.Unmarshal(merged, (*stored)(&next)); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, typeError(typeErr)
		}
		return nil, apperr.Wrap(apperr.Invalid, msgLoadFailed, err)
	}
	next.normalize()
	return &next, nil
}

// mergeObject merges src into dst: objects recursively, nulls ignored,
// everything else replaced.
func mergeObject(dst, src map[string]any) {
	for k, v := range src {
		switch v := v.(type) {
		case nil:
			continue
		case map[string]any:
			if d, ok := dst[k].(map[string]any); ok {
				mergeObject(d, v)
				continue
			}
		}
		dst[k] = v
	}
}

// typeError reports a value of the wrong type at its place in the shape.
// encoding/json's path has no list indexes, so a problem inside a list is
// reported on the list itself.
func typeError(e *json.UnmarshalTypeError) error {
	path := strings.Split(e.Field, ".")
	for i, p := range path {
		if p == "rules" && i > 0 && path[i-1] == "rateLimits" {
			path = path[:i+1]
			break
		}
	}
	data := map[string]any{}
	if e.Field == "" {
		return &apperr.Error{Code: apperr.Invalid, Message: msgLoadFailed, Data: data, Cause: e}
	}
	setPath(data, path, apperr.Field{Code: "validation_invalid_value", Message: "Invalid value."})
	return &apperr.Error{Code: apperr.Invalid, Message: msgLoadFailed, Data: data, Cause: e}
}

// keepSecrets restores secrets that a patch sent as "".
func keepSecrets(next, cur *Settings) {
	if next.SMTP.Password == "" {
		next.SMTP.Password = cur.SMTP.Password
	}
	if next.S3.Secret == "" {
		next.S3.Secret = cur.S3.Secret
	}
	if next.Backups.S3.Secret == "" {
		next.Backups.S3.Secret = cur.Backups.S3.Secret
	}
}
