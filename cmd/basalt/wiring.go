package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// fileStore adapts the file service to the record service's Files port.
type fileStore struct{ files *file.Service }

func toUploads(list []record.Upload) []file.Upload {
	out := make([]file.Upload, len(list))
	for i, u := range list {
		out[i] = file.Upload{Name: u.Filename(), Size: u.Size(), Open: u.Open}
	}
	return out
}

func (f fileStore) Prepare(field *schema.Field, uploads []record.Upload) ([]string, error) {
	if err := file.Validate(field, toUploads(uploads)); err != nil {
		return nil, err
	}
	names := make([]string, len(uploads))
	for i, u := range uploads {
		names[i] = f.files.Name(u.Filename())
	}
	return names, nil
}

func (f fileStore) Save(ctx context.Context, collectionID, recordID string, names []string, uploads []record.Upload) error {
	for i, u := range toUploads(uploads) {
		if err := f.files.Save(ctx, collectionID, recordID, names[i], u); err != nil {
			return err
		}
	}
	return nil
}

func (f fileStore) Delete(ctx context.Context, collectionID, recordID string, names ...string) error {
	return f.files.Delete(ctx, collectionID, recordID, names...)
}

func (f fileStore) DeleteRecord(ctx context.Context, collectionID, recordID string) error {
	return f.files.DeleteRecord(ctx, collectionID, recordID)
}

// describe turns a service error into a message for the terminal, listing
// per-field problems.
func describe(err error) error {
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Data) == 0 {
		return err
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if p, ok := e.Data[k].(apperr.Field); ok {
			parts = append(parts, k+": "+p.Message)
		} else {
			parts = append(parts, fmt.Sprintf("%s: %v", k, e.Data[k]))
		}
	}
	return fmt.Errorf("%s (%s)", e.Message, strings.Join(parts, "; "))
}
