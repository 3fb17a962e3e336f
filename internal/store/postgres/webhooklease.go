package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Delivery leases (store.DeliveryLeaser): "leaseOwner" and "leaseUntil" of
// "_webhookDeliveries" ('' when unleased) say which sender holds a delivery
// and until when. A claim is one UPDATE … RETURNING outside the writer lock:
// its candidate rows are locked FOR UPDATE SKIP LOCKED, so concurrent claims
// from other replicas pass over them instead of waiting, and the UPDATE
// checks the lease again on the row it locked.

// webhookLeaseMigration adds the lease columns.
var webhookLeaseMigration = systemMigration{
	name: "0005_webhook_leases",
	sql: []string{`ALTER TABLE "_webhookDeliveries"
		ADD COLUMN "leaseOwner" TEXT COLLATE "C" NOT NULL DEFAULT '',
		ADD COLUMN "leaseUntil" TEXT COLLATE "C" NOT NULL DEFAULT ''`},
}

// ClaimDeliveries leases the next due delivery of each idle webhook.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*store.Delivery, error) {
	if owner == "" {
		return nil, apperr.New(apperr.Invalid, "Missing lease owner.")
	}
	if limit <= 0 {
		limit = defaultEventBatch
	}
	at := schema.FormatTime(now)
	list, err := s.deliveries(ctx, `UPDATE "_webhookDeliveries" AS "d" SET "leaseOwner" = $1, "leaseUntil" = $2
		FROM (
			SELECT "seq" FROM "_webhookDeliveries"
			WHERE "seq" IN (
				SELECT "seq" FROM (
					SELECT "x"."seq", "x"."nextAttempt",
						ROW_NUMBER() OVER (PARTITION BY "x"."webhookId" ORDER BY "x"."nextAttempt", "x"."seq") AS "rank"
					FROM "_webhookDeliveries" AS "x"
					WHERE "x"."status" IN ('pending', 'failed') AND "x"."nextAttempt" <= $3
						AND NOT EXISTS (SELECT 1 FROM "_webhookDeliveries" AS "l"
							WHERE "l"."webhookId" = "x"."webhookId" AND "l"."status" IN ('pending', 'failed') AND "l"."leaseUntil" > $3)
				) AS "due" WHERE "rank" = 1 ORDER BY "nextAttempt", "seq" LIMIT $4)
			AND "leaseUntil" <= $3
			FOR UPDATE SKIP LOCKED
		) AS "claimed"
		WHERE "d"."seq" = "claimed"."seq" AND "d"."leaseUntil" <= $3 AND "d"."status" IN ('pending', 'failed')
		RETURNING `+qualified("d", deliveryColumns),
		owner, schema.FormatTime(leaseUntil), at, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", err)
	}
	sortDue(list)
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
	res, err := t.exec(ctx, `UPDATE "_webhookDeliveries" SET "status" = $1, "attemptCount" = $2, "nextAttempt" = $3, "attempts" = $4, "updated" = $5,
			"leaseOwner" = '', "leaseUntil" = ''
		WHERE "id" = $6 AND "leaseOwner" = $7`,
		string(d.Status), d.AttemptCount, schema.FormatTime(d.NextAttempt), attempts, schema.FormatTime(d.Updated), d.ID, owner)
	if err != nil {
		return formatError(ctx, fmt.Errorf("finishing delivery: %w", err))
	}
	if res.RowsAffected() > 0 {
		return nil
	}
	if _, err := t.Delivery(ctx, d.ID); err != nil {
		return err
	}
	return apperr.New(apperr.Conflict, "The delivery is leased to another sender.")
}

// qualified prefixes each of the comma-separated columns with alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = quote(alias) + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// sortDue orders claimed deliveries as DueDeliveries does (RETURNING keeps
// no order).
func sortDue(list []*store.Delivery) {
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].NextAttempt.Equal(list[j].NextAttempt) {
			return list[i].NextAttempt.Before(list[j].NextAttempt)
		}
		return list[i].Created.Before(list[j].Created)
	})
}
