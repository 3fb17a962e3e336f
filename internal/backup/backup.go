// Package backup makes, lists, validates and restores backups of a Basalt
// data directory: zip files in <dir>/backups holding a consistent snapshot of
// each database (data.db, auxiliary.db) and the stored files (storage/).
//
// Snapshots are taken online through the Snapshotter port (the SQLite engine
// copies inside one read transaction, so writers are never blocked). A
// restore is staged next to the data and applied by Apply while no store is
// open: the serve command reopens everything after a restore through the API,
// the CLI applies it directly.
//
// It imports no transport and no storage adapter.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// Snapshotter writes a consistent copy of a database to a new file at path
// without blocking its writers.
type Snapshotter interface {
	Snapshot(ctx context.Context, path string) error
}

// ErrNoDatabase is what a Snapshotter returns when its database does not
// exist (yet): the backup is made without it.
var ErrNoDatabase = errors.New("backup: no such database")

// Database is one database put into every backup, under Name (a file name
// at the root of the zip and of the data directory, e.g. "data.db").
type Database struct {
	Name string
	DB   Snapshotter
}

// Checker verifies that the database file at path opens and is intact.
type Checker func(ctx context.Context, path string) error

// Info describes one stored backup.
type Info struct {
	Key      string
	Size     int64
	Modified time.Time
}

// Options configure a Service.
type Options struct {
	// Dir is the data directory; backups live in Dir/backups, stored files
	// in Dir/storage.
	Dir string
	// Databases are snapshotted into every backup. The first one is the
	// main database a restore requires.
	Databases []Database
	// Check verifies restored databases before they are staged.
	Check Checker
	// Unsupported, when set, makes every operation fail with this message
	// (e.g. the data lives in PostgreSQL, which has its own tools).
	Unsupported string
	// AppName names default backups (pb_backup_<app>_<time>.zip).
	AppName func() string
	// Restart is called once a restore is staged; it must make the process
	// stop serving, call Apply and reopen its stores. nil: the restore is
	// applied at the next start.
	Restart func()
	// MaxSize bounds an uploaded or restored zip and MaxUnpacked the total
	// size of its entries (defaults: 16 GiB and 64 GiB).
	MaxSize, MaxUnpacked int64
	Now                  func() time.Time
	Logger               *slog.Logger
}

// Service manages the backups of one data directory.
type Service struct {
	opts Options
	// busy is held by the one create, upload or restore running at a time.
	busy sync.Mutex
}

// New returns a Service over opts.Dir.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AppName == nil {
		opts.AppName = func() string { return "" }
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = 16 << 30
	}
	if opts.MaxUnpacked <= 0 {
		opts.MaxUnpacked = 64 << 30
	}
	return &Service{opts: opts}
}

// Dir is where the backups are stored.
func (s *Service) Dir() string { return filepath.Join(s.opts.Dir, "backups") }

// errBusy is the answer while another backup or restore runs.
func errBusy() error {
	return apperr.New(apperr.Invalid, "Try again later - another backup/restore operation has already been started.")
}

func (s *Service) supported() error {
	if s.opts.Unsupported != "" {
		return apperr.New(apperr.Invalid, s.opts.Unsupported)
	}
	return nil
}

// List returns the stored backups, newest first.
func (s *Service) List(ctx context.Context) ([]Info, error) {
	if err := s.supported(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.Dir())
	if errors.Is(err, os.ErrNotExist) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing backups: %w", err)
	}
	out := []Info{}
	for _, e := range entries {
		if !e.Type().IsRegular() || !validKey(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Info{Key: e.Name(), Size: fi.Size(), Modified: fi.ModTime().UTC()})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Modified.Equal(out[j].Modified) {
			return out[i].Modified.After(out[j].Modified)
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// Create writes a new backup named name ("" picks pb_backup_<app>_<time>.zip)
// and returns its key. It answers Invalid when name is malformed or taken, or
// when another backup or restore is running.
func (s *Service) Create(ctx context.Context, name string) (string, error) {
	if err := s.supported(); err != nil {
		return "", err
	}
	if name == "" {
		name = s.defaultName("pb_backup_")
	} else if err := checkName(name); err != nil {
		return "", err
	}
	if !s.busy.TryLock() {
		return "", errBusy()
	}
	defer s.busy.Unlock()
	return name, s.create(ctx, name)
}

func (s *Service) defaultName(prefix string) string {
	return prefix + appSlug(s.opts.AppName()) + "_" + s.opts.Now().UTC().Format("20060102150405") + ".zip"
}

// create writes the zip under a temporary name and renames it into place,
// so a listed backup is always complete. The caller holds busy.
func (s *Service) create(ctx context.Context, name string) error {
	dst := filepath.Join(s.Dir(), name)
	if _, err := os.Stat(dst); err == nil {
		return apperr.Fields("Failed to create backup.", map[string]apperr.Field{
			"name": {Code: "validation_backup_exists", Message: "Backup with the specified name already exists."}})
	}
	if err := os.MkdirAll(s.Dir(), 0o750); err != nil {
		return fmt.Errorf("creating backups directory: %w", err)
	}
	work, err := os.MkdirTemp(s.Dir(), ".tmp-create-")
	if err != nil {
		return fmt.Errorf("creating backup: %w", err)
	}
	defer os.RemoveAll(work)
	start := s.opts.Now()
	var dbs []snapshotFile
	for _, d := range s.opts.Databases {
		p := filepath.Join(work, d.Name)
		err := d.DB.Snapshot(ctx, p)
		if errors.Is(err, ErrNoDatabase) {
			continue
		}
		if err != nil {
			return fmt.Errorf("creating backup: snapshot of %s: %w", d.Name, err)
		}
		dbs = append(dbs, snapshotFile{name: d.Name, path: p})
	}
	tmp := filepath.Join(work, "backup.zip")
	if err := writeArchive(ctx, tmp, dbs, filepath.Join(s.opts.Dir, "storage")); err != nil {
		return fmt.Errorf("creating backup: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("creating backup: %w", err)
	}
	s.opts.Logger.Info("backup created", "key", name, "took", s.opts.Now().Sub(start))
	return nil
}

// Upload stores the zip read from r as a new backup named name, after the
// same checks a restore makes. Nothing is stored when it fails.
func (s *Service) Upload(ctx context.Context, name string, r io.Reader) error {
	if err := s.supported(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return apperr.Fields("Failed to upload backup.", map[string]apperr.Field{
			"file": {Code: "validation_invalid_name", Message: "The backup file name must be a lower-case .zip name made of a-z, 0-9, _, - and ."}})
	}
	dst := filepath.Join(s.Dir(), name)
	if _, err := os.Stat(dst); err == nil {
		return apperr.Fields("Failed to upload backup.", map[string]apperr.Field{
			"file": {Code: "validation_backup_exists", Message: "Backup with the specified name already exists."}})
	}
	if err := os.MkdirAll(s.Dir(), 0o750); err != nil {
		return fmt.Errorf("creating backups directory: %w", err)
	}
	f, err := os.CreateTemp(s.Dir(), ".tmp-upload-")
	if err != nil {
		return fmt.Errorf("uploading backup: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	n, err := io.Copy(f, io.LimitReader(r, s.opts.MaxSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return apperr.Wrap(apperr.Invalid, "Failed to read the uploaded backup.", err)
	}
	if n > s.opts.MaxSize {
		return apperr.New(apperr.Invalid, fmt.Sprintf("The backup is larger than %d bytes.", s.opts.MaxSize))
	}
	// Unpack into a scratch directory: the database must open and pass the
	// integrity check, exactly as for a restore.
	scratch, err := os.MkdirTemp(s.Dir(), ".tmp-check-")
	if err != nil {
		return fmt.Errorf("uploading backup: %w", err)
	}
	defer os.RemoveAll(scratch)
	if err := s.unpack(ctx, tmp, scratch); err != nil {
		return err
	}
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, os.ErrExist) {
			return apperr.New(apperr.Invalid, "Backup with the specified name already exists.")
		}
		return fmt.Errorf("uploading backup: %w", err)
	}
	return nil
}

// Open returns the backup key for reading (downloads). It answers NotFound
// when there is no such backup.
func (s *Service) Open(ctx context.Context, key string) (*os.File, Info, error) {
	if err := s.supported(); err != nil {
		return nil, Info{}, err
	}
	if !validKey(key) {
		return nil, Info{}, notFound()
	}
	f, err := os.Open(filepath.Join(s.Dir(), key))
	if err != nil {
		return nil, Info{}, notFound()
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, notFound()
	}
	return f, Info{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()}, nil
}

func notFound() error { return apperr.New(apperr.NotFound, "The requested resource wasn't found.") }

// Delete removes the backup key. It answers NotFound when there is none.
func (s *Service) Delete(ctx context.Context, key string) error {
	if err := s.supported(); err != nil {
		return err
	}
	if !validKey(key) {
		return notFound()
	}
	if !s.busy.TryLock() {
		return errBusy()
	}
	defer s.busy.Unlock()
	if err := os.Remove(filepath.Join(s.Dir(), key)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return notFound()
		}
		return fmt.Errorf("deleting backup: %w", err)
	}
	return nil
}

// appSlug turns an application name into the lower-case [a-z0-9_] part of a
// default backup name.
func appSlug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" {
		s = "basalt"
	}
	if len(s) > 50 {
		s = s[:50]
	}
	return s
}

// Idle reports whether a backup or restore could start now (PocketBase's
// canBackup in /api/health).
func (s *Service) Idle() bool {
	if s.opts.Unsupported != "" || !s.busy.TryLock() {
		return false
	}
	s.busy.Unlock()
	return true
}
