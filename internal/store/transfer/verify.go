package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Check compares one part of two databases: a collection's records, or
// (Name in brackets) the collection definitions, params, webhooks, webhook
// deliveries or audit log.
type Check struct {
	Name string
	// SourceRows and TargetRows count the rows on each side; TargetRows is
	// -1 when the target lacks the collection.
	SourceRows, TargetRows int64
	// SourceSum and TargetSum are hex SHA-256 digests of the rows'
	// canonical encoding, read back through the store interface.
	SourceSum, TargetSum string
}

// OK reports whether both sides hold the same rows.
func (c Check) OK() bool {
	return c.SourceRows == c.TargetRows && c.SourceSum == c.TargetSum
}

// Report is the outcome of Verify, one Check per collection first.
type Report struct {
	Checks []Check
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Verify reads everything Copy copies from both stores and compares it: per
// collection of src, the record count (CountRecords) and a SHA-256 over the
// records' canonical JSON in id order; then the collection definitions, the
// opts.Params rows, the webhooks, their deliveries, the audit log and the jobs. A
// difference is a failed Check in the report, not an error; errors are read
// failures.
func Verify(ctx context.Context, src, dst store.Store, opts Options) (*Report, error) {
	rep := &Report{}
	srcCols, err := src.Collections(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the source collections: %w", err)
	}
	dstCols, err := dst.Collections(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the target collections: %w", err)
	}
	byID := make(map[string]*schema.Collection, len(dstCols))
	for _, c := range dstCols {
		byID[c.ID] = c
	}
	for _, c := range srcCols {
		chk := Check{Name: c.Name, TargetRows: -1, TargetSum: "missing"}
		if chk.SourceRows, chk.SourceSum, err = collectionSum(ctx, src, c, opts.batch()); err != nil {
			return nil, err
		}
		if dc := byID[c.ID]; dc != nil {
			if chk.TargetRows, chk.TargetSum, err = collectionSum(ctx, dst, dc, opts.batch()); err != nil {
				return nil, err
			}
		}
		rep.Checks = append(rep.Checks, chk)
	}
	parts := []struct {
		name string
		sum  func(store.Store) (int64, string, error)
	}{
		{"[collection definitions]", func(s store.Store) (int64, string, error) { return definitionsSum(ctx, s) }},
		{"[params]", func(s store.Store) (int64, string, error) { return paramsSum(ctx, s, opts.Params) }},
		{"[webhooks]", func(s store.Store) (int64, string, error) { return webhooksSum(ctx, s) }},
		{"[webhook deliveries]", func(s store.Store) (int64, string, error) { return deliveriesSum(ctx, s, opts.batch()) }},
		{"[audit log]", func(s store.Store) (int64, string, error) { return auditSum(ctx, s, opts.batch()) }},
		{"[jobs]", func(s store.Store) (int64, string, error) { return jobsSum(ctx, s, opts.batch()) }},
	}
	for _, p := range parts {
		chk := Check{Name: p.name}
		if chk.SourceRows, chk.SourceSum, err = p.sum(src); err != nil {
			return nil, fmt.Errorf("source %s: %w", p.name, err)
		}
		if chk.TargetRows, chk.TargetSum, err = p.sum(dst); err != nil {
			return nil, fmt.Errorf("target %s: %w", p.name, err)
		}
		rep.Checks = append(rep.Checks, chk)
	}
	return rep, nil
}

// collectionSum counts c's records and hashes them in id order.
func collectionSum(ctx context.Context, r store.Reader, c *schema.Collection, limit int) (int64, string, error) {
	n, err := r.CountRecords(ctx, &store.Query{Collection: c})
	if err != nil {
		return 0, "", fmt.Errorf("counting %s: %w", c.Name, err)
	}
	h := sha256.New()
	err = pages(ctx, r, c, limit, func(page []*schema.Record) error {
		for _, rec := range page {
			b, err := canonicalRecord(rec)
			if err != nil {
				return err
			}
			writeItem(h, b)
		}
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// canonicalRecord encodes a record's data as JSON with sorted keys. JSON
// field values are taken as the exact stored text (a string), so that even
// a change of spacing shows.
func canonicalRecord(r *schema.Record) ([]byte, error) {
	data := make(map[string]any, len(r.Data))
	for k, v := range r.Data {
		if raw, ok := v.(json.RawMessage); ok {
			v = "json:" + string(raw)
		}
		data[k] = v
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding %s record %s: %w", r.Collection.Name, r.ID(), err)
	}
	return b, nil
}

// writeItem writes b to h prefixed with its length, so that items cannot
// run into each other.
func writeItem(h hash.Hash, b []byte) {
	h.Write(strconv.AppendInt(nil, int64(len(b)), 10))
	h.Write([]byte{':'})
	h.Write(b)
}

func definitionsSum(ctx context.Context, s store.Store) (int64, string, error) {
	cols, err := s.Collections(ctx)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	for _, c := range cols {
		b, err := json.Marshal(c)
		if err != nil {
			return 0, "", fmt.Errorf("encoding collection %s: %w", c.Name, err)
		}
		writeItem(h, b)
	}
	return int64(len(cols)), hex.EncodeToString(h.Sum(nil)), nil
}

func paramsSum(ctx context.Context, s store.Store, keys []string) (int64, string, error) {
	h := sha256.New()
	var n int64
	for _, key := range keys {
		v, err := s.Param(ctx, key)
		if apperr.CodeOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return 0, "", fmt.Errorf("reading param %s: %w", key, err)
		}
		n++
		writeItem(h, []byte(key))
		writeItem(h, v)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func webhooksSum(ctx context.Context, s store.Store) (int64, string, error) {
	hooks, err := s.Webhooks(ctx)
	if err != nil {
		return 0, "", err
	}
	sort.Slice(hooks, func(i, j int) bool { return hooks[i].ID < hooks[j].ID })
	h := sha256.New()
	for _, w := range hooks {
		v := *w
		v.PreviousUntil, v.Created, v.Updated = v.PreviousUntil.UTC(), v.Created.UTC(), v.Updated.UTC()
		b, err := json.Marshal(v)
		if err != nil {
			return 0, "", fmt.Errorf("encoding webhook %s: %w", w.ID, err)
		}
		writeItem(h, b)
	}
	return int64(len(hooks)), hex.EncodeToString(h.Sum(nil)), nil
}

// deliveriesSum hashes every webhook's deliveries. The engines list them
// newest first but may order equal times differently, so the digest is
// over the sorted per-delivery digests.
func deliveriesSum(ctx context.Context, s store.Store, limit int) (int64, string, error) {
	hooks, err := s.Webhooks(ctx)
	if err != nil {
		return 0, "", err
	}
	var sums [][sha256.Size]byte
	for _, w := range hooks {
		for offset := 0; ; offset += limit {
			page, _, err := s.Deliveries(ctx, w.ID, limit, offset)
			if err != nil {
				return 0, "", err
			}
			for _, d := range page {
				v := *d
				v.NextAttempt, v.Created, v.Updated = v.NextAttempt.UTC(), v.Created.UTC(), v.Updated.UTC()
				v.Attempts = append([]store.Attempt(nil), d.Attempts...)
				for i := range v.Attempts {
					v.Attempts[i].Time = v.Attempts[i].Time.UTC()
				}
				b, err := json.Marshal(v)
				if err != nil {
					return 0, "", fmt.Errorf("encoding delivery %s: %w", d.ID, err)
				}
				sums = append(sums, sha256.Sum256(b))
			}
			if len(page) < limit {
				break
			}
		}
	}
	sort.Slice(sums, func(i, j int) bool { return bytes.Compare(sums[i][:], sums[j][:]) < 0 })
	h := sha256.New()
	for _, d := range sums {
		h.Write(d[:])
	}
	return int64(len(sums)), hex.EncodeToString(h.Sum(nil)), nil
}

func auditSum(ctx context.Context, s store.Store, limit int) (int64, string, error) {
	h := sha256.New()
	var n, after int64
	for {
		page, err := s.AuditEntries(ctx, &store.AuditQuery{AfterSeq: after, Limit: limit})
		if err != nil {
			return 0, "", err
		}
		for _, e := range page {
			v := *e
			v.Time = v.Time.UTC()
			b, err := json.Marshal(v)
			if err != nil {
				return 0, "", fmt.Errorf("encoding audit entry %d: %w", e.Seq, err)
			}
			writeItem(h, b)
		}
		n += int64(len(page))
		if len(page) < limit {
			return n, hex.EncodeToString(h.Sum(nil)), nil
		}
		after = page[len(page)-1].Seq
	}
}

// jobsSum hashes the job queue without leases (Copy drops them), over the
// sorted per-job digests as deliveriesSum does.
func jobsSum(ctx context.Context, s store.Store, limit int) (int64, string, error) {
	var sums [][sha256.Size]byte
	for offset := 0; ; offset += limit {
		page, _, err := s.Jobs(ctx, store.JobFilter{Limit: limit, Offset: offset})
		if err != nil {
			return 0, "", err
		}
		for _, j := range page {
			v := *j
			v.LeaseOwner, v.LeaseUntil = "", time.Time{}
			v.RunAt, v.Created, v.Updated = v.RunAt.UTC(), v.Created.UTC(), v.Updated.UTC()
			b, err := json.Marshal(v)
			if err != nil {
				return 0, "", fmt.Errorf("encoding job %s: %w", j.ID, err)
			}
			sums = append(sums, sha256.Sum256(b))
		}
		if len(page) < limit {
			break
		}
	}
	sort.Slice(sums, func(i, j int) bool { return bytes.Compare(sums[i][:], sums[j][:]) < 0 })
	h := sha256.New()
	for _, d := range sums {
		h.Write(d[:])
	}
	return int64(len(sums)), hex.EncodeToString(h.Sum(nil)), nil
}
