// Package transfer copies a whole Basalt database from one store to another
// (SQLite to PostgreSQL, for `basalt migrate`) and verifies the copy.
//
// It works through the engine-agnostic store.Store interface only, so that
// what arrives is exactly what Basalt itself reads and writes: collection
// definitions as stored (ids, fields, rules, indexes, auth options with their
// token secrets), every record with its ids, dates, password hashes and token
// keys, the named _params rows, webhooks with their deliveries, the job queue and the audit
// log, whose hash chain the target engine rebuilds to the same hashes.
//
// transfer imports store and schema, never an engine, a service or a
// transport.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// DefaultBatch is how many rows one write transaction of Copy inserts.
const DefaultBatch = 500

// ErrNotEmpty is returned (wrapped, with the reason) by Copy when the target
// already holds data; nothing has been written then.
var ErrNotEmpty = errors.New("the target database is not empty")

// Options tune Copy and Verify.
type Options struct {
	// Params are the _params keys to copy and compare (the store interface
	// cannot list them): the settings and the token signing keys, say.
	// Keys absent from the source are skipped.
	Params []string
	// Batch is how many rows go into one write transaction (DefaultBatch
	// when 0).
	Batch int
	// Progress, when set, is told how the copy of each collection's
	// records advances.
	Progress func(Progress)
}

// Progress is the state of the copy of one collection's records.
type Progress struct {
	Collection string
	// Done of Total records are copied; Finished is set on the last call
	// for the collection.
	Done, Total int64
	Finished    bool
}

// Summary counts what Copy copied.
type Summary struct {
	Collections, Records, Params, Webhooks, Deliveries, AuditEntries, Jobs int64
}

// bootstrapped lists the ids of the collections that Basalt creates when it
// first opens a database: a target holding only these, without records, is
// empty (a `basalt serve` on it created them).
var bootstrapped = map[string]bool{
	schema.SuperusersID: true, schema.UsersID: true, schema.MFAsID: true,
	schema.OTPsID: true, schema.AuthOriginsID: true, schema.ExternalAuthsID: true,
}

func (o Options) batch() int {
	if o.Batch > 0 {
		return o.Batch
	}
	return DefaultBatch
}

// Copy copies everything from src into dst, which must be empty: no
// collections but the ones Basalt creates on first start, no records, no
// webhooks, no audit entries. Otherwise it returns ErrNotEmpty, having
// written nothing.
//
// The definitions (collections, params, webhooks) are written in one
// transaction that first checks the target is empty and replaces the
// bootstrapped collections with the source's; records, deliveries and audit
// entries follow in transactions of opts.Batch rows, read from src page by
// page, so memory does not grow with the data. A Copy that fails part way
// leaves a partial target: empty the database and run it again.
func Copy(ctx context.Context, src, dst store.Store, opts Options) (*Summary, error) {
	sum := &Summary{}
	cols, err := src.Collections(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the source collections: %w", err)
	}
	hooks, err := src.Webhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the source webhooks: %w", err)
	}
	params := map[string][]byte{}
	for _, key := range opts.Params {
		v, err := src.Param(ctx, key)
		if apperr.CodeOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the source param %s: %w", key, err)
		}
		params[key] = v
	}
	if n, err := dst.CountAudit(ctx, &store.AuditQuery{}); err != nil {
		return nil, fmt.Errorf("reading the target audit log: %w", err)
	} else if n > 0 {
		return nil, fmt.Errorf("%w: its audit log has %d entries", ErrNotEmpty, n)
	}

	var created []*schema.Collection
	err = dst.InTx(ctx, func(tx store.Tx) error {
		existing, err := checkEmpty(ctx, tx)
		if err != nil {
			return err
		}
		// The bootstrapped collections carry their own secrets and dates:
		// the source's definitions replace them, so that tokens issued
		// before the move stay valid.
		for _, c := range existing {
			if err := tx.DeleteCollection(ctx, c); err != nil {
				return fmt.Errorf("dropping the target's %s: %w", c.Name, err)
			}
		}
		created = created[:0]
		for _, c := range cols {
			c = c.Clone()
			if err := tx.CreateCollection(ctx, c); err != nil {
				return fmt.Errorf("creating collection %s: %w", c.Name, err)
			}
			created = append(created, c)
		}
		for _, key := range opts.Params {
			if v, ok := params[key]; ok {
				if err := tx.SetParam(ctx, key, v); err != nil {
					return fmt.Errorf("storing param %s: %w", key, err)
				}
			}
		}
		for _, w := range hooks {
			if err := tx.SaveWebhook(ctx, w); err != nil {
				return fmt.Errorf("saving webhook %s: %w", w.ID, err)
			}
		}
		// Replicas already running on the target reload at once.
		for _, area := range store.ConfigAreas() {
			if err := tx.TouchConfig(ctx, area); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sum.Collections, sum.Params, sum.Webhooks = int64(len(created)), int64(len(params)), int64(len(hooks))

	for i, c := range cols {
		n, err := copyRecords(ctx, src, dst, c, created[i], opts)
		sum.Records += n
		if err != nil {
			return sum, err
		}
	}
	for _, w := range hooks {
		n, err := copyDeliveries(ctx, src, dst, w.ID, opts.batch())
		sum.Deliveries += n
		if err != nil {
			return sum, err
		}
	}
	n, err := copyAudit(ctx, src, dst, opts.batch())
	sum.AuditEntries = n
	if err != nil {
		return sum, err
	}
	sum.Jobs, err = copyJobs(ctx, src, dst, opts.batch())
	return sum, err
}

// copyJobs copies the job queue with each job's state, attempts, run time
// and last error, so that queued and failed jobs run on the target and dead
// ones stay visible. Leases are not copied: a job the source was running
// when it stopped is claimed again on the target (at-least-once).
func copyJobs(ctx context.Context, src, dst store.Store, limit int) (int64, error) {
	var done int64
	for offset := 0; ; offset += limit {
		page, _, err := src.Jobs(ctx, store.JobFilter{Limit: limit, Offset: offset})
		if err != nil {
			return done, fmt.Errorf("reading jobs: %w", err)
		}
		err = dst.InTx(ctx, func(tx store.Tx) error {
			for _, j := range page {
				if ok, err := tx.EnqueueJob(ctx, j); err != nil || !ok {
					return fmt.Errorf("inserting job %s (stored: %v): %w", j.ID, ok, err)
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += int64(len(page))
		if len(page) < limit {
			return done, nil
		}
	}
}

// checkEmpty returns the target's collections when they are all
// bootstrapped ones without records, ErrNotEmpty otherwise.
func checkEmpty(ctx context.Context, tx store.Tx) ([]*schema.Collection, error) {
	existing, err := tx.Collections(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the target collections: %w", err)
	}
	var extra []string
	for _, c := range existing {
		if !bootstrapped[c.ID] {
			extra = append(extra, c.Name)
		}
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("%w: it has the collections %s", ErrNotEmpty, strings.Join(extra, ", "))
	}
	for _, c := range existing {
		n, err := tx.CountRecords(ctx, &store.Query{Collection: c})
		if err != nil {
			return nil, fmt.Errorf("counting the target's %s records: %w", c.Name, err)
		}
		if n > 0 {
			return nil, fmt.Errorf("%w: %s has %d records", ErrNotEmpty, c.Name, n)
		}
	}
	hooks, err := tx.Webhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the target webhooks: %w", err)
	}
	if len(hooks) > 0 {
		return nil, fmt.Errorf("%w: it has %d webhooks", ErrNotEmpty, len(hooks))
	}
	return existing, nil
}

// copyRecords copies the records of the source collection c into dc, its
// copy in dst, one page per transaction.
func copyRecords(ctx context.Context, src, dst store.Store, c, dc *schema.Collection, opts Options) (int64, error) {
	total, err := src.CountRecords(ctx, &store.Query{Collection: c})
	if err != nil {
		return 0, fmt.Errorf("counting %s: %w", c.Name, err)
	}
	report := func(done int64, finished bool) {
		if opts.Progress != nil {
			opts.Progress(Progress{Collection: c.Name, Done: done, Total: total, Finished: finished})
		}
	}
	report(0, false)
	var done int64
	err = pages(ctx, src, c, opts.batch(), func(page []*schema.Record) error {
		err := dst.InTx(ctx, func(tx store.Tx) error {
			for _, r := range page {
				r.Collection = dc
				if err := tx.InsertRecord(ctx, r); err != nil {
					return fmt.Errorf("inserting %s record %s: %w", c.Name, r.ID(), err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += int64(len(page))
		report(done, false)
		return nil
	})
	if err != nil {
		return done, err
	}
	report(done, true)
	return done, nil
}

// pages calls fn with the records of c in id order, limit at a time. It
// pages by id (keyset), so a page costs the same however far in it is.
func pages(ctx context.Context, r store.Reader, c *schema.Collection, limit int, fn func([]*schema.Record) error) error {
	q := &store.Query{Collection: c, Sort: "id", Limit: limit}
	for {
		page, err := r.FindRecords(ctx, q)
		if err != nil {
			return fmt.Errorf("reading %s: %w", c.Name, err)
		}
		if len(page) == 0 {
			return nil
		}
		last := page[len(page)-1].ID()
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < limit {
			return nil
		}
		q.Filters, q.Params = []string{"id > {:after}"}, map[string]any{"after": last}
	}
}

// copyDeliveries copies the deliveries of one webhook, with their status,
// attempts and next attempt time, so that pending ones go on being sent.
func copyDeliveries(ctx context.Context, src, dst store.Store, webhookID string, limit int) (int64, error) {
	var done int64
	for offset := 0; ; offset += limit {
		page, _, err := src.Deliveries(ctx, webhookID, limit, offset)
		if err != nil {
			return done, fmt.Errorf("reading the deliveries of webhook %s: %w", webhookID, err)
		}
		if len(page) == 0 {
			return done, nil
		}
		err = dst.InTx(ctx, func(tx store.Tx) error {
			for _, d := range page {
				if err := tx.InsertDelivery(ctx, d); err != nil {
					return fmt.Errorf("inserting delivery %s: %w", d.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += int64(len(page))
		if len(page) < limit {
			return done, nil
		}
	}
}

// copyAudit appends the source's audit entries to dst's empty log in seq
// order. The target engine chains them itself; since every hashed field is
// copied, it computes the same seq, previous hash and hash, which is checked
// entry by entry: the copied chain verifies, and its hashes are the ones any
// earlier export of the log recorded.
func copyAudit(ctx context.Context, src, dst store.Store, limit int) (int64, error) {
	var after, done int64
	for {
		page, err := src.AuditEntries(ctx, &store.AuditQuery{AfterSeq: after, Limit: limit})
		if err != nil {
			return done, fmt.Errorf("reading the audit log: %w", err)
		}
		if len(page) == 0 {
			return done, nil
		}
		err = dst.InTx(ctx, func(tx store.Tx) error {
			for _, e := range page {
				cp := *e
				if err := tx.AppendAudit(ctx, &cp); err != nil {
					return fmt.Errorf("appending audit entry %d: %w", e.Seq, err)
				}
				if cp.Seq != e.Seq || cp.Hash != e.Hash {
					return fmt.Errorf("audit entry %d: copied as %d with hash %s, want hash %s (is the source chain intact? see basalt audit verify)",
						e.Seq, cp.Seq, cp.Hash, e.Hash)
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		after, done = page[len(page)-1].Seq, done+int64(len(page))
		if len(page) < limit {
			return done, nil
		}
	}
}
