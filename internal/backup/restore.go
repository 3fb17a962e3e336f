package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// stagedName is the directory, inside the data directory, holding a
// restore waiting to be applied. It appears by one rename once the backup
// is fully unpacked and checked, so its presence means "apply me".
const stagedName = ".restore"

// Restore checks the backup key, unpacks it next to the data and calls the
// Restart option, which makes the process apply it and reopen its stores.
// It answers NotFound for an unknown key and Invalid for a backup that fails
// the checks (nothing changes then) or while another operation runs.
func (s *Service) Restore(ctx context.Context, key string) error {
	if err := s.supported(); err != nil {
		return err
	}
	if !s.busy.TryLock() {
		return errBusy()
	}
	if err := s.Stage(ctx, key); err != nil {
		s.busy.Unlock()
		return err
	}
	s.opts.Logger.Warn("backup restore staged; restarting to apply it", "key", key)
	if s.opts.Restart != nil {
		// busy stays held: nothing else may start before the restart.
		s.opts.Restart()
	} else {
		s.busy.Unlock()
	}
	return nil
}

// Stage unpacks and checks the backup key into the data directory's staging
// area, for Apply to swap in while no store is open.
func (s *Service) Stage(ctx context.Context, key string) error {
	if !validKey(key) {
		return notFound()
	}
	src := filepath.Join(s.Dir(), key)
	if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() {
		return notFound()
	}
	staged := filepath.Join(s.opts.Dir, stagedName)
	if _, err := os.Stat(staged); err == nil {
		return apperr.New(apperr.Invalid, "Another restore is already waiting to be applied; restart the server first.")
	}
	work, err := os.MkdirTemp(s.opts.Dir, ".restore-tmp-")
	if err != nil {
		return fmt.Errorf("staging restore: %w", err)
	}
	defer os.RemoveAll(work) // a no-op once renamed
	if err := s.unpack(ctx, src, work); err != nil {
		return err
	}
	// A backup without stored files restores an empty storage.
	if err := os.MkdirAll(filepath.Join(work, "storage"), 0o750); err != nil {
		return fmt.Errorf("staging restore: %w", err)
	}
	if err := os.Rename(work, staged); err != nil {
		return fmt.Errorf("staging restore: %w", err)
	}
	return nil
}

// Apply swaps a staged restore into the data directory dir and reports
// whether there was one. No database of dir may be open. Each staged item
// (data.db, auxiliary.db, storage) replaces its current counterpart, and
// the old WAL and shared-memory files go with it. Apply can be repeated
// after a crash: what was already moved is not touched again.
func Apply(dir string) (bool, error) {
	// Unpacking that a crash interrupted before staging finished is waste.
	if partial, _ := filepath.Glob(filepath.Join(dir, ".restore-tmp-*")); len(partial) > 0 {
		for _, p := range partial {
			_ = os.RemoveAll(p)
		}
	}
	staged := filepath.Join(dir, stagedName)
	entries, err := os.ReadDir(staged)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("applying restore: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		from := filepath.Join(staged, name)
		if isSidecar(name) {
			if err := os.Remove(from); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("applying restore: %w", err)
			}
			continue
		}
		to := filepath.Join(dir, name)
		for _, p := range []string{to, to + "-wal", to + "-shm", to + "-journal"} {
			if err := os.RemoveAll(p); err != nil {
				return false, fmt.Errorf("applying restore: removing %s: %w", p, err)
			}
		}
		if err := os.Rename(from, to); err != nil {
			return false, fmt.Errorf("applying restore: %w", err)
		}
	}
	if err := os.RemoveAll(staged); err != nil {
		return true, fmt.Errorf("applying restore: %w", err)
	}
	return true, nil
}

// isSidecar reports whether name is an SQLite WAL, shared-memory or journal
// file, which a checked snapshot leaves behind empty at most.
func isSidecar(name string) bool {
	return strings.HasSuffix(name, "-wal") || strings.HasSuffix(name, "-shm") || strings.HasSuffix(name, "-journal")
}
