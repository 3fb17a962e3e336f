package record

import (
	"context"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// deleteAuthRows deletes the sign-in state of an auth record that is being
// deleted: its linked OAuth2 accounts, MFA sessions, one-time passwords
// and sign-in origins. They name the record by collectionRef and
// recordRef, not by a relation field, so relation integrity misses them.
func (s *Service) deleteAuthRows(ctx context.Context, tx store.Tx, fx *effects, r *schema.Record, depth int) error {
	super := &Request{Auth: superuserRecord()}
	for _, id := range []string{schema.ExternalAuthsID, schema.MFAsID, schema.OTPsID, schema.AuthOriginsID} {
		c := s.cols.Lookup(id)
		if c == nil {
			continue
		}
		q := s.query(c, super)
		q.Filters = []string{"collectionRef = {:basalt_c} && recordRef = {:basalt_r}"}
		q.Params = map[string]any{"basalt_c": r.Collection.ID, "basalt_r": r.ID()}
		rows, err := tx.FindRecords(ctx, q)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if err := s.deleteRecord(ctx, tx, fx, row, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
