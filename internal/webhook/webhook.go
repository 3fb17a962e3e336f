// Package webhook is the service behind Basalt's outbound webhooks: the
// superuser's webhook definitions, the durable fan-out of outbox events into
// deliveries, and the worker pool that signs (Standard Webhooks) and posts
// them (CloudEvents 1.0 JSON) with retries, backoff and a dead-letter state.
//
// webhook imports the storage port, the record and filter services and leaf
// packages; never storage engines or transports.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Options tune the service; zero values take the defaults.
type Options struct {
	// MaxAttempts is how many attempts a delivery gets before it is dead.
	MaxAttempts int
	// Workers is how many deliveries are posted at once.
	Workers int
	// Timeout bounds one request, connection included.
	Timeout time.Duration
	// Lease is how long a claimed delivery is reserved for this process
	// (Timeout plus 5 s by default: the request is cut at Timeout, so the
	// margin only covers recording the outcome): replicas never post a delivery
	// another one holds, and a replica that dies mid-attempt leaves the
	// delivery to the others once its lease ends. It must exceed Timeout.
	Lease time.Duration
	// BackoffBase is the delay before the first retry; each further retry
	// waits twice as long (with jitter), up to BackoffMax.
	BackoffBase, BackoffMax time.Duration
	// Poll is how often due deliveries and the outbox are checked without
	// a nudge.
	Poll time.Duration
	// RotationOverlap is how long a replaced secret keeps signing.
	RotationOverlap time.Duration
	// DeliveryRetention is how long succeeded and dead deliveries stay
	// listable, PruneEvery how often older ones are deleted.
	DeliveryRetention, PruneEvery time.Duration
	// AllowPrivate lists the private, loopback and link-local networks that
	// webhooks may reach anyway (none by default).
	AllowPrivate []netip.Prefix
	Now          func() time.Time
	NewID        func() string
	Logger       *slog.Logger
	// OnAttempt, when set, is told the outcome of every answered delivery
	// attempt: "succeeded", "failed" (to be retried) or "dead" (metrics).
	OnAttempt func(outcome string)
	// Transport, when set, wraps the transport that posts deliveries
	// (tracing); the address checks stay beneath it.
	Transport func(http.RoundTripper) http.RoundTripper
}

// Defaults of Options.
const (
	DefaultMaxAttempts     = 8
	DefaultWorkers         = 4
	DefaultTimeout         = 10 * time.Second
	DefaultBackoffBase     = 5 * time.Second
	DefaultBackoffMax      = time.Hour
	DefaultPoll            = time.Second
	DefaultRotationOverlap = 24 * time.Hour
	DefaultRetention       = 7 * 24 * time.Hour
	DefaultPruneEvery      = 10 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Lease <= o.Timeout {
		o.Lease = o.Timeout + 5*time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.RotationOverlap <= 0 {
		o.RotationOverlap = DefaultRotationOverlap
	}
	if o.DeliveryRetention <= 0 {
		o.DeliveryRetention = DefaultRetention
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = DefaultPruneEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Service manages webhooks and delivers events to them.
type Service struct {
	store   store.Store
	cols    record.Collections
	records *record.Service
	opts    Options
	client  *client

	fanNudge, workNudge chan struct{}
	// idle is true while the fan-out found no enabled webhook (Idle).
	idle atomic.Bool
	// owner names this process in delivery leases (random per service).
	owner string
	// Audit records webhook changes and replays; nil records nothing.
	Audit *audit.Log
}

// New returns the service. Call Run to deliver.
func New(st store.Store, cols record.Collections, records *record.Service, opts Options) *Service {
	opts = opts.withDefaults()
	return &Service{
		store: st, cols: cols, records: records, opts: opts,
		client:    newClient(opts.Timeout, opts.AllowPrivate, opts.Transport),
		fanNudge:  make(chan struct{}, 1),
		workNudge: make(chan struct{}, 1),
		owner:     random.String(random.LowerAlnum, 20),
	}
}

// Input is a webhook's definition as a superuser writes it; nil fields are
// left unchanged by Update (and take defaults on Create).
type Input struct {
	URL         *string   `json:"url"`
	Collections *[]string `json:"collections"`
	Actions     *[]string `json:"actions"`
	Filter      *string   `json:"filter"`
	// Secret replaces the signing secret ("" generates one). On update the
	// old secret keeps signing for Options.RotationOverlap.
	Secret  *string `json:"secret"`
	Enabled *bool   `json:"enabled"`
}

// List returns every webhook.
func (s *Service) List(ctx context.Context) ([]*store.Webhook, error) {
	return s.store.Webhooks(ctx)
}

// View returns the webhook with id; NotFound when absent.
func (s *Service) View(ctx context.Context, id string) (*store.Webhook, error) {
	return s.store.Webhook(ctx, id)
}

// Create stores a new webhook. Invalid (with per-field data) when in does
// not describe one.
func (s *Service) Create(ctx context.Context, in Input) (*store.Webhook, error) {
	now := s.opts.Now().UTC()
	w := &store.Webhook{ID: s.newID(), Enabled: true, Created: now, Updated: now}
	if in.URL == nil {
		in.URL = new(string)
	}
	if in.Secret == nil {
		in.Secret = new(string)
	}
	if err := s.apply(ctx, w, in, false); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.SaveWebhook(ctx, w); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, saveAudit("webhook.create", w, false))
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Update changes the webhook with id; NotFound when absent, Invalid like
// Create.
func (s *Service) Update(ctx context.Context, id string, in Input) (*store.Webhook, error) {
	var w *store.Webhook
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if w, err = tx.Webhook(ctx, id); err != nil {
			return err
		}
		if err := s.apply(ctx, w, in, true); err != nil {
			return err
		}
		w.Updated = s.opts.Now().UTC()
		if err := tx.SaveWebhook(ctx, w); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, saveAudit("webhook.update", w, in.Secret != nil))
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Delete removes the webhook with id and its deliveries; NotFound when absent.
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteWebhook(ctx, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Entry{Action: "webhook.delete", Target: id})
	})
}

// apply validates in and writes it into w.
func (s *Service) apply(ctx context.Context, w *store.Webhook, in Input, rotate bool) error {
	problems := map[string]any{}
	if in.URL != nil {
		if err := checkURL(*in.URL); err != "" {
			problems["url"] = apperr.Field{Code: "validation_invalid_url", Message: err}
		} else {
			w.URL = strings.TrimSpace(*in.URL)
		}
	}
	if in.Collections != nil {
		list := []string{}
		for _, name := range *in.Collections {
			if s.cols.Lookup(name) == nil {
				problems["collections"] = apperr.Field{Code: "validation_missing_collection", Message: "Unknown collection " + name + "."}
				break
			}
			list = append(list, name)
		}
		w.Collections = list
	}
	if in.Actions != nil {
		list := []store.Action{}
		for _, a := range *in.Actions {
			switch store.Action(a) {
			case store.ActionCreate, store.ActionUpdate, store.ActionDelete:
				list = append(list, store.Action(a))
			default:
				problems["actions"] = apperr.Field{Code: "validation_invalid_action", Message: "Actions are create, update and delete."}
			}
		}
		w.Actions = list
	}
	if in.Filter != nil {
		w.Filter = strings.TrimSpace(*in.Filter)
	}
	if in.Filter != nil || in.Collections != nil {
		if msg := s.checkFilter(ctx, w); msg != "" {
			problems["filter"] = apperr.Field{Code: "validation_invalid_filter", Message: msg}
		}
	}
	if in.Secret != nil {
		secret := strings.TrimSpace(*in.Secret)
		if secret == "" {
			secret = NewSecret()
		} else if _, err := decodeSecret(secret); err != nil {
			problems["secret"] = apperr.Field{Code: "validation_invalid_secret", Message: "The secret must be whsec_ followed by base64."}
		}
		if rotate && w.Secret != "" && w.Secret != secret {
			w.PreviousSecret, w.PreviousUntil = w.Secret, s.opts.Now().UTC().Add(s.opts.RotationOverlap)
		}
		w.Secret = secret
	}
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
	}
	if len(problems) > 0 {
		return &apperr.Error{Code: apperr.Invalid, Message: "Failed to save the webhook.", Data: problems}
	}
	return nil
}

func checkURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "Must be an absolute http or https URL without credentials."
	}
	return ""
}

// checkFilter compiles w's filter against each of its collections (every
// collection when it names none, where it must fit at least one).
func (s *Service) checkFilter(ctx context.Context, w *store.Webhook) string {
	if w.Filter == "" {
		return ""
	}
	if _, err := filter.Parse(w.Filter); err != nil {
		return "Invalid filter expression: " + err.Error()
	}
	var cols []*schema.Collection
	for _, name := range w.Collections {
		if c := s.cols.Lookup(name); c != nil {
			cols = append(cols, c)
		}
	}
	any := len(cols) == 0
	if any {
		cols = s.cols.All()
	}
	var last error
	for _, c := range cols {
		_, err := s.store.MatchRecord(ctx, &store.Query{Collection: c, Schema: s.cols.Lookup, Filters: []string{w.Filter}}, schema.NewRecord(c))
		if err == nil && any {
			return ""
		}
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				return "The filter cannot be checked."
			}
			last = err
			if !any {
				break
			}
		}
	}
	if last != nil {
		return "Invalid filter expression: " + apperr.As(last).Message
	}
	return ""
}

func (s *Service) newID() string {
	if s.opts.NewID != nil {
		return s.opts.NewID()
	}
	return random.ID()
}

// NewSecret returns a fresh signing secret: "whsec_" and 32 random bytes in
// base64.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// MaskSecret hides all but the prefix and the last four characters.
func MaskSecret(secret string) string {
	if len(secret) <= len(secretPrefix)+4 {
		return secretPrefix + "****"
	}
	return secretPrefix + "****" + secret[len(secret)-4:]
}
