package auth

import (
	"context"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// CleanupOTPs deletes the one-time passwords that expired (older than
// their auth collection's otp.duration) and returns how many it deleted.
// Sign-in refuses expired ones anyway; this keeps _otps small.
func (s *Service) CleanupOTPs(ctx context.Context) (int64, error) {
	return s.cleanup(ctx, schema.OTPsID, func(c *schema.Collection) int64 { return c.OTP.Duration })
}

// CleanupMFAs deletes the multi-factor sign-in states that expired (older
// than their auth collection's mfa.duration) and returns how many it
// deleted.
func (s *Service) CleanupMFAs(ctx context.Context) (int64, error) {
	return s.cleanup(ctx, schema.MFAsID, func(c *schema.Collection) int64 { return c.MFA.Duration })
}

// cleanup deletes the rows of the system collection id whose auth
// collection's duration has passed since they were created.
func (s *Service) cleanup(ctx context.Context, id string, duration func(*schema.Collection) int64) (int64, error) {
	rows, err := s.system(id)
	if err != nil {
		return 0, err
	}
	now := s.now()
	var deleted int64
	for _, c := range s.cols.All() {
		if c.Type != schema.TypeAuth {
			continue
		}
		cutoff := schema.FormatTime(now.Add(-seconds(duration(c))))
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			stale, err := tx.FindRecords(ctx, &store.Query{Collection: rows, Schema: s.cols.Lookup, Request: internal(),
				Filters: []string{"collectionRef = {:c} && created < {:cutoff}"},
				Params:  map[string]any{"c": c.ID, "cutoff": cutoff}})
			if err != nil {
				return err
			}
			for _, r := range stale {
				if err := tx.DeleteRecord(ctx, rows, r.ID()); err != nil {
					return err
				}
			}
			deleted += int64(len(stale))
			return nil
		})
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}
