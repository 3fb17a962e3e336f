package auth

import (
	"context"
	"crypto/md5"
	"encoding/hex"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Rows of _authOrigins remember the devices (client IP and user agent) an
// auth record signed in from. A sign-in from a device the record has not
// used before, by a record that has signed in before, sends the
// collection's authAlert mail when it is enabled.

// maxUserAgent bounds the part of the user agent that makes a fingerprint.
const maxUserAgent = 300

// fingerprint identifies a device as PocketBase does: the MD5 of the
// client IP and the (truncated) user agent.
func fingerprint(ip, userAgent string) string {
	if len(userAgent) > maxUserAgent {
		userAgent = userAgent[:maxUserAgent]
	}
	sum := md5.Sum([]byte(ip + userAgent))
	return hex.EncodeToString(sum[:])
}

// userAgent returns the User-Agent header of req ("" when unknown).
func userAgent(req *record.Request) string {
	if req == nil {
		return ""
	}
	return req.Headers["user_agent"]
}

// recordOrigin stores the device r just signed in from and mails the new
// device alert when it is new. Failures are logged: the sign-in succeeded.
func (s *Service) recordOrigin(ctx context.Context, req *record.Request, ip string, r *schema.Record) {
	ua := userAgent(req)
	isNew, hadOrigins, err := s.touchOrigin(ctx, r, fingerprint(ip, ua))
	if err != nil {
		s.logger.Error("recording a sign-in origin failed", "collection", r.Collection.Name, "recordId", r.ID(), "err", err)
		return
	}
	c := r.Collection
	to := r.String("email")
	if !isNew || !hadOrigins || !c.AuthAlert.Enabled || to == "" {
		return
	}
	info := schema.FormatTime(s.now()) + " - " + ip + " " + ua
	m := s.message(r, to, c.AuthAlert.EmailTemplate, map[string]string{PlaceholderAlertInfo: info})
	if err := s.send(ctx, "new device alert", m); err != nil {
		s.logger.Error("queueing a new device alert failed", "recordId", r.ID(), "err", err)
	}
}

// touchOrigin records that r signed in from the device fp: a new row, or
// a new updated time on the existing one. It reports whether the device is
// new and whether r had any origin before.
func (s *Service) touchOrigin(ctx context.Context, r *schema.Record, fp string) (isNew, hadOrigins bool, err error) {
	origins, err := s.system(schema.AuthOriginsID)
	if err != nil {
		return false, false, err
	}
	now := schema.FormatTime(s.now())
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		q := &store.Query{Collection: origins, Schema: s.cols.Lookup, Request: internal(),
			Filters: []string{"collectionRef = {:c} && recordRef = {:r}"},
			Params:  map[string]any{"c": r.Collection.ID, "r": r.ID()}}
		rows, err := tx.FindRecords(ctx, q)
		if err != nil {
			return err
		}
		hadOrigins = len(rows) > 0
		for _, row := range rows {
			if row.String("fingerprint") == fp {
				row.Data["updated"] = now
				return tx.UpdateRecord(ctx, row)
			}
		}
		isNew = true
		row := schema.NewRecord(origins)
		row.Data["id"] = random.ID()
		row.Data["collectionRef"], row.Data["recordRef"], row.Data["fingerprint"] = r.Collection.ID, r.ID(), fp
		row.Data["created"], row.Data["updated"] = now, now
		return tx.InsertRecord(ctx, row)
	})
	if apperr.CodeOf(err) == apperr.Conflict {
		return false, true, nil // the same new device, recorded by a concurrent sign-in
	}
	return isNew, hadOrigins, err
}
