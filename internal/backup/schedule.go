package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// Run makes automatic backups until ctx ends, reading the schedule from
// current at every minute (settings apply without a restart). Minutes are
// in UTC.
func (s *Service) Run(ctx context.Context, current func() Schedule) {
	if s.opts.Unsupported != "" {
		return
	}
	for {
		now := s.opts.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.Tick(ctx, next, current()); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("automatic backup failed", "err", err)
		}
	}
}

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
	if !s.busy.TryLock() {
		s.opts.Logger.Warn("automatic backup skipped: another backup or restore is running")
		return nil
	}
	defer s.busy.Unlock()
	name := AutoPrefix + appSlug(s.opts.AppName()) + "_" + t.UTC().Format("20060102150405") + ".zip"
	if err := s.create(ctx, name); err != nil {
		return err
	}
	return s.prune(max(sch.MaxKeep, 1))
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
