package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	c, err := parseCron(sch.Cron)
	if err != nil {
		return err
	}
	if !c.matches(t.UTC()) {
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

// cron is a parsed five-field cron expression: one bit per allowed value.
type cron struct {
	minute, hour, dom, month, dow uint64
	// domAny and dowAny record a "*" day field: when both day fields are
	// restricted, a day matching either one is due (classic cron).
	domAny, dowAny bool
}

var cronMacros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// parseCron parses a macro or five fields of comma-separated items "*",
// "*/step", "n", "n-m" or "n-m/step" (day of week 0-6, Sunday 0; 7 also
// means Sunday).
func parseCron(expr string) (*cron, error) {
	expr = strings.TrimSpace(expr)
	if m, ok := cronMacros[expr]; ok {
		expr = m
	}
	f := strings.Fields(expr)
	if len(f) != 5 {
		return nil, fmt.Errorf("invalid cron expression %q: want 5 fields", expr)
	}
	c := &cron{domAny: f[2] == "*", dowAny: f[4] == "*"}
	bounds := [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
	dst := [5]*uint64{&c.minute, &c.hour, &c.dom, &c.month, &c.dow}
	for i, field := range f {
		for item := range strings.SplitSeq(field, ",") {
			bits, err := cronItem(item, bounds[i][0], bounds[i][1])
			if err != nil {
				return nil, fmt.Errorf("invalid cron expression %q: %w", expr, err)
			}
			*dst[i] |= bits
		}
	}
	if c.dow&(1<<7) != 0 {
		c.dow |= 1
	}
	return c, nil
}

func cronItem(item string, lo, hi int) (uint64, error) {
	rng, stepStr, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepStr)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("bad step in %q", item)
		}
		step = n
	}
	from, to := lo, hi
	if rng != "*" {
		a, b, isRange := strings.Cut(rng, "-")
		var err error
		if from, err = strconv.Atoi(a); err != nil {
			return 0, fmt.Errorf("bad value in %q", item)
		}
		to = from
		if isRange {
			if to, err = strconv.Atoi(b); err != nil {
				return 0, fmt.Errorf("bad value in %q", item)
			}
		} else if hasStep {
			to = hi
		}
	}
	if from < lo || to > hi || from > to {
		return 0, fmt.Errorf("%q out of range %d-%d", item, lo, hi)
	}
	var bits uint64
	for v := from; v <= to; v += step {
		bits |= 1 << v
	}
	return bits, nil
}

func (c *cron) matches(t time.Time) bool {
	if c.minute&(1<<t.Minute()) == 0 || c.hour&(1<<t.Hour()) == 0 || c.month&(1<<int(t.Month())) == 0 {
		return false
	}
	dom := c.dom&(1<<t.Day()) != 0
	dow := c.dow&(1<<int(t.Weekday())) != 0
	if c.domAny || c.dowAny {
		return dom && dow
	}
	return dom || dow
}
