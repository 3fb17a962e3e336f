// Package local is the blob.Store adapter for a directory on the local file
// system (by default <dataDir>/storage). Keys map to paths under that
// directory; every access goes through an os.Root, so even a symlink planted
// inside the directory cannot lead outside it.
//
// local imports only the blob port and apperr.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/blob"
)

const (
	dirPerm  = 0o755
	filePerm = 0o644
	// tmpPrefix starts with '.', which blob.ValidateKey forbids, so a
	// half-written temporary file can never be read or deleted through a key.
	tmpPrefix = ".tmp-"
)

// Store is a blob.Store rooted at one directory.
type Store struct {
	root *os.Root
	// dirs orders directory creation (shared) against the removal of empty
	// directories (exclusive), so that a Put never sees its freshly made
	// directory vanish before its temporary file is in it.
	dirs sync.RWMutex
}

var _ blob.Store = (*Store)(nil)

// New opens (creating it if needed) the directory dir as a Store. Call Close
// when done.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("creating storage dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening storage dir: %w", err)
	}
	return &Store{root: root}, nil
}

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

// Put writes r to a temporary file beside the target, syncs it and renames it
// into place, so readers never observe a partial object.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (err error) {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp, f, err := s.createTemp(path.Dir(key))
	if err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = s.root.Remove(tmp)
			s.removeEmptyDirs(path.Dir(key))
		}
	}()
	if _, err = io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err = s.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	return nil
}

// createTemp creates a fresh temporary file in dir, creating dir as needed.
// Another process sharing the directory may still remove an empty dir
// between MkdirAll and OpenFile, so that window is retried a few times.
func (s *Store) createTemp(dir string) (string, *os.File, error) {
	s.dirs.RLock()
	defer s.dirs.RUnlock()
	var lastErr error
	for range 5 {
		if dir != "." {
			if err := s.root.MkdirAll(dir, dirPerm); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					return "", nil, err
				}
				lastErr = err
				continue
			}
		}
		var b [12]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		name := path.Join(dir, tmpPrefix+hex.EncodeToString(b[:]))
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if err == nil {
			return name, f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist) {
			return "", nil, err
		}
		lastErr = err
	}
	return "", nil, lastErr
}

// Open opens the regular file at key.
func (s *Store) Open(ctx context.Context, key string) (*blob.Object, error) {
	if err := blob.ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := s.root.Open(key)
	if err != nil {
		if isMissing(err) {
			return nil, notFound(err)
		}
		return nil, fmt.Errorf("opening %s: %w", key, err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("opening %s: %w", key, err)
	}
	if !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, notFound(fmt.Errorf("%s is not a regular file", key))
	}
	return &blob.Object{ReadSeekCloser: f, Size: info.Size(), ModTime: info.ModTime()}, nil
}

// Delete removes the file at key and then any parent directories it leaves
// empty. A directory at key is not an object and is left alone.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	info, err := s.root.Lstat(key)
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	if info.IsDir() {
		return nil
	}
	if err := s.root.Remove(key); err != nil && !isMissing(err) {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	s.removeEmptyDirs(path.Dir(key))
	return nil
}

// DeletePrefix removes the directory tree at prefix and then any parent
// directories it leaves empty.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	p, err := blob.ValidatePrefix(prefix)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	info, err := s.root.Lstat(p)
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return fmt.Errorf("deleting %s/: %w", p, err)
	}
	if !info.IsDir() {
		// A plain object at prefix is not "under" prefix.
		return nil
	}
	if err := s.root.RemoveAll(p); err != nil {
		return fmt.Errorf("deleting %s/: %w", p, err)
	}
	s.removeEmptyDirs(path.Dir(p))
	return nil
}

// removeEmptyDirs removes dir and its parents, deepest first, stopping at the
// first one that is not empty (Remove refuses non-empty directories, so a
// concurrent Put into one of them is never lost).
func (s *Store) removeEmptyDirs(dir string) {
	s.dirs.Lock()
	defer s.dirs.Unlock()
	for dir != "." && dir != "/" && dir != "" {
		if err := s.root.Remove(dir); err != nil {
			return
		}
		dir = path.Dir(dir)
	}
}

// isMissing reports whether err means that nothing is stored there, including
// ENOTDIR when a key runs through a regular file ("a.png/b").
func isMissing(err error) bool {
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	var pe *fs.PathError
	return errors.As(err, &pe) && isNotDir(pe.Err)
}

func notFound(cause error) error {
	return apperr.Wrap(apperr.NotFound, "The requested resource wasn't found.", cause)
}

// ctxReader stops a copy when ctx is done, so an abandoned upload does not
// keep writing.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
