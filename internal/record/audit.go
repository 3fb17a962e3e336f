package record

import (
	"context"
	"reflect"
	"sort"

	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// auditChange records, inside tx, the record changes the audit log keeps:
// every change of a superuser, and password and email changes of any auth
// record (sign-up forms, resets and confirmations all write through here).
// Details name fields, never their values, except a new email address.
func (s *Service) auditChange(ctx context.Context, tx store.Tx, action store.Action, before, after *schema.Record) error {
	if s.Audit == nil {
		return nil
	}
	r := after
	if r == nil {
		r = before
	}
	if !r.Collection.IsAuth() {
		return nil
	}
	if r.Collection.ID == schema.SuperusersID {
		d := map[string]any{"email": r.Data["email"]}
		if before != nil && after != nil {
			d["changed"] = changedFields(before, after)
		}
		return s.Audit.Record(ctx, tx, audit.Entry{Action: "superuser." + string(action), Target: r.ID(), Detail: d})
	}
	if before == nil || after == nil {
		return nil
	}
	if !reflect.DeepEqual(before.Data["password"], after.Data["password"]) {
		if err := s.Audit.Record(ctx, tx, audit.Entry{Action: "auth.password.change", Target: r.ID(),
			Detail: map[string]any{"collection": r.Collection.Name}}); err != nil {
			return err
		}
	}
	if !reflect.DeepEqual(before.Data["email"], after.Data["email"]) {
		return s.Audit.Record(ctx, tx, audit.Entry{Action: "auth.email.change", Target: r.ID(),
			Detail: map[string]any{"collection": r.Collection.Name, "email": after.Data["email"]}})
	}
	return nil
}

// changedFields names the fields whose values differ, sorted.
func changedFields(before, after *schema.Record) []string {
	out := []string{}
	for _, f := range after.Collection.Fields {
		if !reflect.DeepEqual(before.Data[f.Name], after.Data[f.Name]) && f.Name != "updated" {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}
