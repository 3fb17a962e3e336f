package store

import (
	"context"
	"encoding/json"
	"time"
)

// WebhookReader reads webhook definitions and their deliveries.
type WebhookReader interface {
	// Webhooks returns every webhook, oldest first.
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// Webhook returns the webhook with id; NotFound when absent.
	Webhook(ctx context.Context, id string) (*Webhook, error)
	// Deliveries returns the deliveries of a webhook, newest first, with
	// the total count (limit <= 0 means no limit).
	Deliveries(ctx context.Context, webhookID string, limit, offset int) ([]*Delivery, int64, error)
	// Delivery returns the delivery with id; NotFound when absent.
	Delivery(ctx context.Context, id string) (*Delivery, error)
	// DueDeliveries returns, for up to limit webhooks, the earliest (by
	// next attempt, then creation) of their pending or failed deliveries
	// whose next attempt is at or before now, the earliest first. One per
	// webhook: deliveries of one webhook are sent one at a time, in order.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*Delivery, error)
}

// DeliveryLeaser hands due deliveries to senders, one sender per delivery
// across every process sharing the database, so that replicas never post the
// same attempt twice and a sender that dies mid-attempt only delays it.
type DeliveryLeaser interface {
	// ClaimDeliveries leases deliveries to owner until leaseUntil and
	// returns them: for up to limit webhooks none of whose pending or failed
	// deliveries holds a lease unexpired at now, the earliest (by next
	// attempt, then creation) pending or failed delivery whose next attempt
	// is at or before now, the earliest first. A leased delivery is claimed
	// by no one else until its lease expires or Tx.FinishDelivery ends it,
	// even when processes claim at the same moment; deliveries of one
	// webhook thus stay one at a time, in order.
	ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
}

// Webhook is a superuser's subscription of an outside URL to record events.
type Webhook struct {
	ID  string
	URL string
	// Collections are collection names or ids; empty means every collection.
	Collections []string
	// Actions filter the events by action; empty means every action.
	Actions []Action
	// Filter is an optional filter expression the event's record must match.
	Filter string
	// Secret signs deliveries ("whsec_" + base64).
	Secret string
	// PreviousSecret, until PreviousUntil, signs deliveries as well, so
	// that receivers can rotate without losing messages.
	PreviousSecret string
	PreviousUntil  time.Time
	Enabled        bool
	Created        time.Time
	Updated        time.Time
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery states: pending until an attempt succeeds (succeeded) or the
// attempts run out (dead); failed is a pending delivery whose last attempt
// failed and that will be retried.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
	DeliveryDead      DeliveryStatus = "dead"
)

// Delivery is one event owed to one webhook.
type Delivery struct {
	ID        string
	WebhookID string
	EventID   string
	// Event is the event as it was when the delivery was created (the
	// outbox prunes its copy), JSON-encoded by the webhook service.
	Event  json.RawMessage
	Status DeliveryStatus
	// AttemptCount counts the attempts since the delivery was created or
	// last replayed; Attempts keeps the log of all of them.
	AttemptCount int
	NextAttempt  time.Time
	Attempts     []Attempt
	Created      time.Time
	Updated      time.Time
}

// Attempt is one try at a delivery.
type Attempt struct {
	Time time.Time `json:"time"`
	// Status is the receiver's HTTP status, 0 when there was no response.
	Status    int   `json:"status"`
	LatencyMS int64 `json:"latencyMs"`
	// Response is the start of the response body (at most 1 KiB).
	Response string `json:"response"`
	Error    string `json:"error"`
}
