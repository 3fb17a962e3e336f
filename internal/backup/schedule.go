package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/cron"
)

// AutoPrefix starts the names of scheduled backups, as in PocketBase.
const AutoPrefix = "@auto_pb_backup_"

// Schedule is what automatic backups follow: a cron expression ("" = off)
// and how many automatic backups to keep.
type Schedule struct {
	Cron    string
	MaxKeep int
}

// Supported reports whether this service can make backups (not on a
// PostgreSQL database).
func (s *Service) Supported() bool { return s.opts.Unsupported == "" }

// Tick makes an automatic backup when sch is due at minute t, then deletes
// the oldest automatic backups beyond sch.MaxKeep. A tick that finds another
// backup or restore running is skipped.
func (s *Service) Tick(ctx context.Context, t time.Time, sch Schedule) error {
	if strings.TrimSpace(sch.Cron) == "" {
		return nil
	}
	c, err := cron.Parse(sch.Cron)
	if err != nil {
		return err
	}
	if !c.Matches(t.UTC()) {
		return nil
	}
	return s.Auto(ctx, t, sch.MaxKeep)
}

// Auto makes an automatic backup named for minute t, then deletes the
// oldest automatic backups beyond maxKeep (at least one is kept). It is
// skipped when another backup or restore is running.
func (s *Service) Auto(ctx context.Context, t time.Time, maxKeep int) error {
	if s.opts.Unsupported != "" {
		return apperr.New(apperr.Invalid, s.opts.Unsupported)
	}
	if !s.busy.TryLock() {
		s.opts.Logger.Warn("automatic backup skipped: another backup or restore is running")
		return nil
	}
	defer s.busy.Unlock()
	name := AutoPrefix + appSlug(s.opts.AppName()) + "_" + t.UTC().Format("20060102150405") + ".zip"
	if err := s.create(ctx, name); err != nil {
		return err
	}
	return s.prune(max(maxKeep, 1))
}

// prune deletes the oldest automatic backups beyond keep.
func (s *Service) prune(keep int) error {
	all, err := s.List(context.Background())
	if err != nil {
		return err
	}
	var errs []error
	kept := 0
	for _, b := range all { // newest first
		if !strings.HasPrefix(b.Key, AutoPrefix) {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		if err := os.Remove(filepath.Join(s.Dir(), b.Key)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
