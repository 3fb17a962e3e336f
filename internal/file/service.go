package file

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/blob"
)

// Service stores, deletes and serves record files in a blob.Store.
type Service struct {
	store blob.Store
	rand  func(n int) string

	// thumbSem bounds concurrent thumbnail generation (decoding is memory
	// hungry); thumbs dedupes concurrent requests for the same thumbnail.
	thumbSem chan struct{}
	mu       sync.Mutex
	thumbs   map[string]*thumbCall
}

// New returns a Service keeping files in store. rand(n) must return n
// random characters from [a-z0-9] (pass Random outside tests).
func New(store blob.Store, rand func(n int) string) *Service {
	return &Service{
		store:    store,
		rand:     rand,
		thumbSem: make(chan struct{}, runtime.NumCPU()+2),
		thumbs:   map[string]*thumbCall{},
	}
}

// Key returns the storage key of a record file, or an invalid error when a
// part is not a valid key segment (see blob.ValidSegment).
func Key(collectionID, recordID, name string) (string, error) {
	for _, part := range []string{collectionID, recordID, name} {
		if !blob.ValidSegment(part) {
			return "", apperr.Wrap(apperr.Invalid, "Invalid file path.", fmt.Errorf("invalid key segment %.64q", part))
		}
	}
	return collectionID + "/" + recordID + "/" + name, nil
}

// thumbsPrefix is the prefix holding every thumbnail of the file at key.
func thumbsPrefix(collectionID, recordID, name string) string {
	return collectionID + "/" + recordID + "/thumbs_" + name
}

// Save stores u at <collectionID>/<recordID>/<name>, where name normally
// comes from Name(u.Name). Call Validate first. The file is either stored
// whole or not at all.
func (s *Service) Save(ctx context.Context, collectionID, recordID, name string, u Upload) error {
	key, err := Key(collectionID, recordID, name)
	if err != nil {
		return err
	}
	if u.Open == nil {
		return fmt.Errorf("saving %s: upload has no content", key)
	}
	r, err := u.Open()
	if err != nil {
		return fmt.Errorf("saving %s: opening upload: %w", key, err)
	}
	defer r.Close()
	if err := s.store.Put(ctx, key, r); err != nil {
		return fmt.Errorf("saving %s: %w", key, err)
	}
	return nil
}

// Delete removes the named files of a record and their thumbnails. Missing
// files are not an error. It runs even when ctx is canceled (it is cleanup
// after a committed change) and tries every name before returning the
// joined errors.
func (s *Service) Delete(ctx context.Context, collectionID, recordID string, names ...string) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, name := range names {
		key, err := Key(collectionID, recordID, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.store.Delete(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("deleting file %s: %w", key, err))
		}
		if err := s.store.DeletePrefix(ctx, thumbsPrefix(collectionID, recordID, name)); err != nil {
			errs = append(errs, fmt.Errorf("deleting thumbs of %s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// DeleteRecord removes every file and thumbnail of a record. Like Delete it
// ignores ctx cancellation.
func (s *Service) DeleteRecord(ctx context.Context, collectionID, recordID string) error {
	if !blob.ValidSegment(collectionID) || !blob.ValidSegment(recordID) {
		return apperr.New(apperr.Invalid, "Invalid file path.")
	}
	if err := s.store.DeletePrefix(context.WithoutCancel(ctx), collectionID+"/"+recordID); err != nil {
		return fmt.Errorf("deleting files of %s/%s: %w", collectionID, recordID, err)
	}
	return nil
}

// DeleteCollection removes the files of every record of a collection. Like
// Delete it ignores ctx cancellation.
func (s *Service) DeleteCollection(ctx context.Context, collectionID string) error {
	if !blob.ValidSegment(collectionID) {
		return apperr.New(apperr.Invalid, "Invalid file path.")
	}
	if err := s.store.DeletePrefix(context.WithoutCancel(ctx), collectionID); err != nil {
		return fmt.Errorf("deleting files of %s: %w", collectionID, err)
	}
	return nil
}
