package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Rows of _otps and _mfas belong to this service: it writes them directly
// through the store, without the record service's rules and validation.

// system returns a system collection of the service, or an internal error
// when it is missing (the collection service creates it on start).
func (s *Service) system(id string) (*schema.Collection, error) {
	c := s.cols.Lookup(id)
	if c == nil {
		return nil, apperr.Wrap(apperr.Internal, "", fmt.Errorf("system collection %s is missing", id))
	}
	return c, nil
}

// insertRow stores a row of c with the given id and values, after deleting
// the rows of the same auth record older than ttl.
func (s *Service) insertRow(ctx context.Context, c *schema.Collection, id string, values map[string]any, ttl time.Duration) error {
	row := schema.NewRecord(c)
	for k, v := range values {
		row.Data[k] = v
	}
	now := s.now()
	row.Data["id"] = id
	row.Data["created"], row.Data["updated"] = schema.FormatTime(now), schema.FormatTime(now)
	return s.store.InTx(ctx, func(tx store.Tx) error {
		q := &store.Query{Collection: c, Schema: s.cols.Lookup, Request: internal(),
			Filters: []string{"collectionRef = {:c} && recordRef = {:r} && created < {:cutoff}"},
			Params: map[string]any{"c": values["collectionRef"], "r": values["recordRef"],
				"cutoff": schema.FormatTime(now.Add(-ttl))}}
		stale, err := tx.FindRecords(ctx, q)
		if err != nil {
			return err
		}
		for _, old := range stale {
			if err := tx.DeleteRecord(ctx, c, old.ID()); err != nil && apperr.CodeOf(err) != apperr.NotFound {
				return err
			}
		}
		return tx.InsertRecord(ctx, row)
	})
}

// takeRow deletes the row id of c and reports whether this call deleted
// it: of two requests racing to use one row, only one gets true.
func (s *Service) takeRow(ctx context.Context, c *schema.Collection, id string) (bool, error) {
	err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteRecord(ctx, c, id) })
	if apperr.CodeOf(err) == apperr.NotFound {
		return false, nil
	}
	return err == nil, err
}

// expired reports whether row was created more than ttl ago.
func (s *Service) expired(row *schema.Record, ttl time.Duration) bool {
	created, ok := schema.ParseTime(row.String("created"))
	return !ok || !s.now().Before(created.Add(ttl))
}

// seconds converts a duration option to a time.Duration.
func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }
