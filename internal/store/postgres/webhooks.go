package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Webhooks live in "_webhooks" (the definition as JSON) and their
// deliveries in "_webhookDeliveries" (migration 0004_webhooks).

// webhookDoc is the stored JSON of a webhook definition.
type webhookDoc struct {
	URL            string         `json:"url"`
	Collections    []string       `json:"collections"`
	Actions        []store.Action `json:"actions"`
	Filter         string         `json:"filter"`
	Secret         string         `json:"secret"`
	PreviousSecret string         `json:"previousSecret,omitempty"`
	PreviousUntil  string         `json:"previousUntil,omitempty"`
	Enabled        bool           `json:"enabled"`
}

const deliveryColumns = `"id", "webhookId", "eventId", "event", "status", "attemptCount", "nextAttempt", "attempts", "created", "updated"`

// Webhooks returns every webhook, oldest first.
func (r reader) Webhooks(ctx context.Context) ([]*store.Webhook, error) {
	rows, err := r.q.Query(ctx, `SELECT "id", "data", "created", "updated" FROM "_webhooks" ORDER BY "created", "seq"`)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing webhooks: %w", err))
	}
	defer rows.Close()
	out := []*store.Webhook{}
	for rows.Next() {
		var id, data, created, updated string
		if err := rows.Scan(&id, &data, &created, &updated); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading webhook: %w", err))
		}
		w, err := decodeWebhook(id, data, created, updated)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing webhooks: %w", err))
	}
	return out, nil
}

// Webhook returns the webhook with id; NotFound when absent.
func (r reader) Webhook(ctx context.Context, id string) (*store.Webhook, error) {
	var data, created, updated string
	err := r.q.QueryRow(ctx, `SELECT "data", "created", "updated" FROM "_webhooks" WHERE "id" = $1`, id).Scan(&data, &created, &updated)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("loading webhook %s: %w", id, err))
	}
	return decodeWebhook(id, data, created, updated)
}

func decodeWebhook(id, data, created, updated string) (*store.Webhook, error) {
	var d webhookDoc
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return nil, internalf("decoding webhook %s: %w", id, err)
	}
	w := &store.Webhook{
		ID: id, URL: d.URL, Collections: d.Collections, Actions: d.Actions, Filter: d.Filter,
		Secret: d.Secret, PreviousSecret: d.PreviousSecret, Enabled: d.Enabled,
	}
	if d.PreviousUntil != "" {
		w.PreviousUntil, _ = schema.ParseTime(d.PreviousUntil)
	}
	w.Created, _ = schema.ParseTime(created)
	w.Updated, _ = schema.ParseTime(updated)
	return w, nil
}

// SaveWebhook inserts w or replaces the webhook with its id.
func (t *tx) SaveWebhook(ctx context.Context, w *store.Webhook) error {
	if w == nil || w.ID == "" || w.URL == "" {
		return apperr.New(apperr.Invalid, "Incomplete webhook.")
	}
	d := webhookDoc{
		URL: w.URL, Collections: w.Collections, Actions: w.Actions, Filter: w.Filter,
		Secret: w.Secret, PreviousSecret: w.PreviousSecret, Enabled: w.Enabled,
	}
	if !w.PreviousUntil.IsZero() {
		d.PreviousUntil = schema.FormatTime(w.PreviousUntil)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return internalf("encoding webhook: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO "_webhooks" ("id", "data", "created", "updated") VALUES ($1, $2, $3, $4)
		ON CONFLICT ("id") DO UPDATE SET "data" = excluded."data", "updated" = excluded."updated"`,
		w.ID, string(data), schema.FormatTime(w.Created), schema.FormatTime(w.Updated))
	if err != nil {
		return formatError(ctx, fmt.Errorf("saving webhook: %w", err))
	}
	return nil
}

// DeleteWebhook deletes a webhook and its deliveries.
func (t *tx) DeleteWebhook(ctx context.Context, id string) error {
	res, err := t.exec(ctx, `DELETE FROM "_webhooks" WHERE "id" = $1`, id)
	if err != nil {
		return formatError(ctx, fmt.Errorf("deleting webhook: %w", err))
	}
	if res.RowsAffected() == 0 {
		return apperr.New(apperr.NotFound, "The requested resource wasn't found.")
	}
	if _, err := t.exec(ctx, `DELETE FROM "_webhookDeliveries" WHERE "webhookId" = $1`, id); err != nil {
		return formatError(ctx, fmt.Errorf("deleting webhook deliveries: %w", err))
	}
	return nil
}

// InsertDelivery adds d.
func (t *tx) InsertDelivery(ctx context.Context, d *store.Delivery) error {
	if d == nil || d.ID == "" || d.WebhookID == "" || d.EventID == "" || !json.Valid(d.Event) {
		return apperr.New(apperr.Invalid, "Incomplete delivery.")
	}
	attempts, err := attemptsJSON(d.Attempts)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO "_webhookDeliveries" (`+deliveryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		d.ID, d.WebhookID, d.EventID, string(d.Event), string(d.Status), d.AttemptCount, schema.FormatTime(d.NextAttempt),
		attempts, schema.FormatTime(d.Created), schema.FormatTime(d.Updated))
	if err != nil {
		return formatError(ctx, fmt.Errorf("inserting delivery: %w", err))
	}
	return nil
}

// UpdateDelivery writes the progress of d.
func (t *tx) UpdateDelivery(ctx context.Context, d *store.Delivery) error {
	attempts, err := attemptsJSON(d.Attempts)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE "_webhookDeliveries" SET "status" = $1, "attemptCount" = $2, "nextAttempt" = $3, "attempts" = $4, "updated" = $5 WHERE "id" = $6`,
		string(d.Status), d.AttemptCount, schema.FormatTime(d.NextAttempt), attempts, schema.FormatTime(d.Updated), d.ID)
	if err != nil {
		return formatError(ctx, fmt.Errorf("updating delivery: %w", err))
	}
	if res.RowsAffected() == 0 {
		return apperr.New(apperr.NotFound, "The requested resource wasn't found.")
	}
	return nil
}

// PruneDeliveries deletes finished deliveries last updated before olderThan.
func (t *tx) PruneDeliveries(ctx context.Context, olderThan time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = pruneChunk
	}
	res, err := t.exec(ctx, `DELETE FROM "_webhookDeliveries" WHERE "seq" IN (
		SELECT "seq" FROM "_webhookDeliveries" WHERE "status" IN ('succeeded', 'dead') AND "updated" < $1 LIMIT $2)`,
		schema.FormatTime(olderThan), int64(limit))
	if err != nil {
		return 0, formatError(ctx, fmt.Errorf("pruning deliveries: %w", err))
	}
	return res.RowsAffected(), nil
}

func attemptsJSON(list []store.Attempt) (string, error) {
	if list == nil {
		list = []store.Attempt{}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", internalf("encoding delivery attempts: %w", err)
	}
	return string(b), nil
}

// Deliveries returns a webhook's deliveries, newest first, and their count.
func (r reader) Deliveries(ctx context.Context, webhookID string, limit, offset int) ([]*store.Delivery, int64, error) {
	var total int64
	if err := r.q.QueryRow(ctx, `SELECT COUNT(*) FROM "_webhookDeliveries" WHERE "webhookId" = $1`, webhookID).Scan(&total); err != nil {
		return nil, 0, formatError(ctx, fmt.Errorf("counting deliveries: %w", err))
	}
	var limitArg any // NULL: no limit
	if limit > 0 {
		limitArg = int64(limit)
	}
	list, err := r.deliveries(ctx, `SELECT `+deliveryColumns+` FROM "_webhookDeliveries" WHERE "webhookId" = $1
		ORDER BY "created" DESC, "seq" DESC LIMIT $2::bigint OFFSET $3::bigint`, webhookID, limitArg, int64(max(offset, 0)))
	return list, total, err
}

// Delivery returns the delivery with id; NotFound when absent.
func (r reader) Delivery(ctx context.Context, id string) (*store.Delivery, error) {
	list, err := r.deliveries(ctx, `SELECT `+deliveryColumns+` FROM "_webhookDeliveries" WHERE "id" = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, apperr.New(apperr.NotFound, "The requested resource wasn't found.")
	}
	return list[0], nil
}

// DueDeliveries returns the earliest due delivery of each webhook that has
// one, so that a webhook's backlog never hides another webhook's.
func (r reader) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*store.Delivery, error) {
	if limit <= 0 {
		limit = defaultEventBatch
	}
	return r.deliveries(ctx, `SELECT `+deliveryColumns+` FROM (
			SELECT *, ROW_NUMBER() OVER (PARTITION BY "webhookId" ORDER BY "nextAttempt", "seq") AS "rank"
			FROM "_webhookDeliveries" WHERE "status" IN ('pending', 'failed') AND "nextAttempt" <= $1) AS "due"
		WHERE "rank" = 1 ORDER BY "nextAttempt", "seq" LIMIT $2`,
		schema.FormatTime(now), int64(limit))
}

func (r reader) deliveries(ctx context.Context, query string, args ...any) ([]*store.Delivery, error) {
	rows, err := r.q.Query(ctx, query, args...)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading deliveries: %w", err))
	}
	defer rows.Close()
	out := []*store.Delivery{}
	for rows.Next() {
		var (
			d                                      store.Delivery
			event, status, next, attempts, cr, upd string
		)
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &event, &status, &d.AttemptCount, &next, &attempts, &cr, &upd); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading delivery: %w", err))
		}
		d.Event = json.RawMessage(event)
		d.Status = store.DeliveryStatus(status)
		if err := json.Unmarshal([]byte(attempts), &d.Attempts); err != nil {
			return nil, internalf("decoding delivery %s attempts: %w", d.ID, err)
		}
		d.NextAttempt, _ = schema.ParseTime(next)
		d.Created, _ = schema.ParseTime(cr)
		d.Updated, _ = schema.ParseTime(upd)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading deliveries: %w", err))
	}
	return out, nil
}
