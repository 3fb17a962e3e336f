package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/basalt-dev/basalt/internal/store"
)

// Configuration changes (store.ConfigWatcher). Each area's version is a
// decimal counter in "_params" under configKeyPrefix+area, bumped by
// TouchConfig inside the changing transaction, which also queues a NOTIFY on
// configChannel carrying the area. Replicas LISTEN on the channel and, on
// every notification and at least every configPoll, compare the versions
// with the ones they last saw: the notification makes a change visible
// within milliseconds, the poll heals a notification lost while the
// listening connection was down.

// configChannel is the LISTEN/NOTIFY channel of configuration changes.
const configChannel = "basalt_config"

// configKeyPrefix prefixes the "_params" keys of the area versions.
const configKeyPrefix = "basalt.config."

// configPoll is how often WatchConfig reads the versions without a
// notification; with the reload it bounds how long a replica can miss a
// change (well under a second).
const configPoll = 500 * time.Millisecond

// TouchConfig bumps area's version and announces it at commit.
func (t *tx) TouchConfig(ctx context.Context, area store.ConfigArea) error {
	_, err := t.exec(ctx, `INSERT INTO "_params" ("key", "value", "updated") VALUES ($1, convert_to('1', 'UTF8'), $2)
		ON CONFLICT ("key") DO UPDATE SET
			"value" = convert_to((convert_from("_params"."value", 'UTF8')::bigint + 1)::text, 'UTF8'),
			"updated" = excluded."updated"`,
		configKeyPrefix+string(area), nowText())
	if err != nil {
		return formatError(ctx, fmt.Errorf("bumping the %s config version: %w", area, err))
	}
	// PostgreSQL delivers the notification at commit, drops it on rollback
	// and folds duplicates within a transaction.
	if _, err := t.tx.Exec(ctx, "SELECT pg_notify($1, $2)", configChannel, string(area)); err != nil {
		return formatError(ctx, fmt.Errorf("announcing a %s config change: %w", area, err))
	}
	return nil
}

// ConfigVersions returns the version of every touched area.
func (r reader) ConfigVersions(ctx context.Context) (map[store.ConfigArea]int64, error) {
	rows, err := r.q.Query(ctx, `SELECT "key", convert_from("value", 'UTF8') FROM "_params" WHERE starts_with("key", $1)`, configKeyPrefix)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading config versions: %w", err))
	}
	defer rows.Close()
	out := map[store.ConfigArea]int64{}
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading config versions: %w", err))
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return nil, internalf("config version %q: %w", key, err)
		}
		out[store.ConfigArea(strings.TrimPrefix(key, configKeyPrefix))] = n
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading config versions: %w", err))
	}
	return out, nil
}

// WatchConfig calls changed for every area whose version moved, checking on
// each notification and every configPoll, until ctx ends. The first check
// reports every touched area, so that a change committed between a
// service's first load and the start of the watch is not missed.
func (s *Store) WatchConfig(ctx context.Context, changed func(store.ConfigArea)) error {
	wake := make(chan struct{}, 1)
	nudge := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	listenDone := make(chan struct{})
	go func() {
		defer close(listenDone)
		s.listenConfig(ctx, nudge)
	}()
	defer func() { <-listenDone }()

	var seen map[store.ConfigArea]int64
	t := time.NewTicker(configPoll)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		now, err := s.ConfigVersions(qctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Warn("reading config versions", "err", err)
		case err == nil:
			for area, v := range now {
				if old, ok := seen[area]; !ok || old != v {
					changed(area)
				}
			}
			seen = now
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}

// listenConfig LISTENs on configChannel and calls wake on every
// notification (and after each reconnection) until ctx ends.
func (s *Store) listenConfig(ctx context.Context, wake func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenConfigOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("postgres config listener disconnected; reconnecting", "err", err, "wait", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
		wake()
	}
}

func (s *Store) listenConfigOnce(ctx context.Context, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+quote(configChannel)); err != nil {
		return err
	}
	// Changes committed before LISTEN took effect are found by this check.
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
