package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/basalt-dev/basalt/internal/ratelimit"
)

// Throttle buckets shared by every replica on one database, so that a
// limit such as "5 failed sign-ins per identity" holds for the cluster and
// not once per replica. A bucket is one row: the time (microseconds of the
// database clock, so replicas with skewed clocks agree) at which it will be
// full again — the generic cell rate algorithm the in-process limiter of
// package ratelimit uses. Taking a token is one INSERT … ON CONFLICT DO
// UPDATE … WHERE outside the writer lock: the row lock serializes
// concurrent takers, and a refused take updates nothing. Rows are keyed by
// the SHA-256 of the key: fixed width, any bytes, and no email address
// kept in the clear.

// bucketsMigration creates the bucket table.
var bucketsMigration = systemMigration{
	name: "0008_buckets",
	sql: []string{`CREATE TABLE "_buckets" (
		"key" BYTEA PRIMARY KEY NOT NULL,
		"tat" BIGINT NOT NULL
	)`, `CREATE INDEX "_buckets_tat" ON "_buckets" ("tat")`},
}

// sweepBucketsEvery is how many takes pass between two deletions of full
// buckets, which behave exactly as absent ones.
const sweepBucketsEvery = 256

// Buckets keeps throttle buckets in the database. It is safe for
// concurrent use.
type Buckets struct {
	s     *Store
	takes atomic.Int64
}

// Buckets returns the store's shared throttle buckets.
func (s *Store) Buckets() *Buckets { return &Buckets{s: s} }

// dbNowMicros is the database clock in microseconds since the epoch.
const dbNowMicros = `(extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT`

// Take takes one token from key's bucket under rule: nil, or a
// *ratelimit.Exceeded saying when a token will be available. A zero rule
// allows everything without touching the database.
func (b *Buckets) Take(ctx context.Context, key string, rule ratelimit.Rule) error {
	if rule.Burst <= 0 || rule.Per <= 0 {
		return nil
	}
	every := (rule.Per / time.Duration(rule.Burst)).Microseconds()
	limit := rule.Per.Microseconds()
	if every <= 0 {
		return nil
	}
	if b.takes.Add(1)%sweepBucketsEvery == 0 {
		if _, err := b.s.pool.Exec(ctx, `DELETE FROM "_buckets" WHERE "tat" < `+dbNowMicros); err != nil {
			return fmt.Errorf("sweeping throttle buckets: %w", err)
		}
	}
	k := bucketKey(key)
	var tat int64
	err := b.s.pool.QueryRow(ctx, `WITH "now" AS (SELECT `+dbNowMicros+` AS "t")
		INSERT INTO "_buckets" AS "b" ("key", "tat") SELECT $1, "t" + $2 FROM "now"
		ON CONFLICT ("key") DO UPDATE SET "tat" = GREATEST("b"."tat", (SELECT "t" FROM "now")) + $2
		WHERE GREATEST("b"."tat", (SELECT "t" FROM "now")) + $2 - (SELECT "t" FROM "now") <= $3
		RETURNING "tat"`, k, every, limit).Scan(&tat)
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("taking a throttle token: %w", err)
	}
	// Refused: a token comes back once the bucket's debt falls to Per minus
	// one token's worth.
	var wait int64
	if err := b.s.pool.QueryRow(ctx, `SELECT GREATEST("tat" + $2 - $3 - `+dbNowMicros+`, 0)
		FROM "_buckets" WHERE "key" = $1`, k, every, limit).Scan(&wait); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("reading a throttle bucket: %w", err)
	}
	return &ratelimit.Exceeded{RetryAfter: time.Duration(wait) * time.Microsecond}
}

// Refund gives back a token that Take took from key's bucket under rule. A
// bucket never holds more than rule.Burst tokens.
func (b *Buckets) Refund(ctx context.Context, key string, rule ratelimit.Rule) error {
	if rule.Burst <= 0 || rule.Per <= 0 {
		return nil
	}
	every := (rule.Per / time.Duration(rule.Burst)).Microseconds()
	if _, err := b.s.pool.Exec(ctx, `UPDATE "_buckets" SET "tat" = GREATEST("tat" - $2, `+dbNowMicros+`)
		WHERE "key" = $1`, bucketKey(key), every); err != nil {
		return fmt.Errorf("refunding a throttle token: %w", err)
	}
	return nil
}

// bucketKey is the row key of a bucket key.
func bucketKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}
