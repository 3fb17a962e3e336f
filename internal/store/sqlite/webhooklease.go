package sqlite

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Delivery leases (store.DeliveryLeaser): "leaseOwner" and "leaseUntil" of
// "_webhookDeliveries" ('' when unleased) say which sender holds a delivery
// and until when. SQLite has one writer, so a claim is one UPDATE …
// RETURNING in a write transaction; a read first checks that something is
// due, so that idle polling never takes the writer.

// webhookLeaseMigration adds the lease columns.
var webhookLeaseMigration = systemMigration{
	name: "0005_webhook_leases",
	sql: []string{
		`ALTER TABLE "_webhookDeliveries" ADD COLUMN "leaseOwner" TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE "_webhookDeliveries" ADD COLUMN "leaseUntil" TEXT NOT NULL DEFAULT ''`,
	},
}

// claimableSQL selects the rowids of the next due delivery of each webhook
// without an unexpired lease (parameters: now, now, limit).
const claimableSQL = `SELECT "rid" FROM (
		SELECT "x".rowid AS "rid", "x"."nextAttempt",
			ROW_NUMBER() OVER (PARTITION BY "x"."webhookId" ORDER BY "x"."nextAttempt", "x".rowid) AS "rank"
		FROM "_webhookDeliveries" AS "x"
		WHERE "x"."status" IN ('pending', 'failed') AND "x"."nextAttempt" <= ?
			AND NOT EXISTS (SELECT 1 FROM "_webhookDeliveries" AS "l"
				WHERE "l"."webhookId" = "x"."webhookId" AND "l"."status" IN ('pending', 'failed') AND "l"."leaseUntil" > ?))
	WHERE "rank" = 1 ORDER BY "nextAttempt", "rid" LIMIT ?`

// ClaimDeliveries leases the next due delivery of each idle webhook.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*store.Delivery, error) {
	if owner == "" {
		return nil, apperr.New(apperr.Invalid, "Missing lease owner.")
	}
	if limit <= 0 {
		limit = defaultEventBatch
	}
	at := schema.FormatTime(now)
	var any int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+claimableSQL+`)`, at, at, 1).Scan(&any)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("finding due deliveries: %w", err))
	}
	if any == 0 {
		return []*store.Delivery{}, nil
	}
	var list []*store.Delivery
	err = s.InTx(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		var err error
		list, err = reader{q: t.conn}.deliveries(ctx, `UPDATE "_webhookDeliveries" SET "leaseOwner" = ?, "leaseUntil" = ?
			WHERE rowid IN (`+claimableSQL+`) RETURNING `+deliveryColumns,
			owner, schema.FormatTime(leaseUntil), at, at, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", err)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].NextAttempt.Equal(list[j].NextAttempt) {
			return list[i].NextAttempt.Before(list[j].NextAttempt)
		}
		return list[i].Created.Before(list[j].Created)
	})
	return list, nil
}

// FinishDelivery writes d's progress and ends owner's lease.
func (t *tx) FinishDelivery(ctx context.Context, d *store.Delivery, owner string) error {
	if owner == "" {
		return apperr.New(apperr.Invalid, "Missing lease owner.")
	}
	attempts, err := attemptsJSON(d.Attempts)
	if err != nil {
		return err
	}
	res, err := t.conn.ExecContext(ctx, `UPDATE "_webhookDeliveries" SET "status" = ?, "attemptCount" = ?, "nextAttempt" = ?, "attempts" = ?, "updated" = ?,
			"leaseOwner" = '', "leaseUntil" = ''
		WHERE "id" = ? AND "leaseOwner" = ?`,
		string(d.Status), d.AttemptCount, schema.FormatTime(d.NextAttempt), attempts, schema.FormatTime(d.Updated), d.ID, owner)
	if err != nil {
		return formatError(ctx, fmt.Errorf("finishing delivery: %w", err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return formatError(ctx, fmt.Errorf("finishing delivery: %w", err))
	}
	if n > 0 {
		return nil
	}
	if _, err := t.Delivery(ctx, d.ID); err != nil {
		return err
	}
	return apperr.New(apperr.Conflict, "The delivery is leased to another sender.")
}
