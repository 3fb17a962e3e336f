package record

import (
	"context"

	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Password work takes tens of milliseconds of CPU by design (bcrypt). Done
// inside a write transaction it would hold SQLite's single writer, so that
// every other write of the server waits behind each sign-up or password
// change, or hold PostgreSQL row locks as long. So Create, Update and Batch
// do it before their transaction (passwordAhead), and the transaction uses
// the result when what it finds is what the work was done for; otherwise
// (a hook changed the password, the record changed meanwhile) it does the
// work itself, as before.

// passwordWork is password work done ahead of a write's transaction.
type passwordWork struct {
	// plain is the submitted password and hash its new hash ("" when not
	// computed).
	plain, hash string
	// old is the submitted old password, storedHash the record's password
	// hash it was checked against ("" when not checked), oldOK the outcome.
	old, storedHash string
	oldOK           bool
}

// passwordAhead does the password work of a create (id "") or an update of
// id in collection before the write's transaction, and keeps it in in. It
// does nothing when the write cannot use it: not an auth collection, no
// password submitted, a password the transaction will refuse anyway, or a
// caller whose rule refuses the write (so that a refused caller never costs
// a password hash, and one without the right old password at most the
// check of it). An update reads the record first, with its rule.
func (s *Service) passwordAhead(ctx context.Context, req *Request, collection, id string, in *Input) {
	req = guest(req)
	c := s.cols.Lookup(collection)
	if c == nil || !c.IsAuth() {
		return
	}
	plain, ok := in.Data["password"].(string)
	if !ok {
		return
	}
	f := c.Field("password")
	valid := f != nil && f.ValidateWith(plain, s.patterns) == nil
	if confirm, _ := in.Data["passwordConfirm"].(string); confirm != plain {
		valid = false
	}
	work := &passwordWork{plain: plain}
	if id == "" {
		if _, err := ruleFilters(c.CreateRule, req); err != nil || !valid {
			return
		}
	} else {
		rule, err := ruleFilters(c.UpdateRule, req)
		if err != nil {
			return
		}
		q := s.query(c, withBody(req, *in, nil))
		q.Filters = rule
		prev, err := findOne(ctx, s.store, q, id)
		if err != nil {
			return
		}
		stored := prev.String("password")
		manager, err := s.canManage(ctx, s.store, req, prev)
		if err != nil {
			return
		}
		if !manager {
			// Without the right old password the update fails: no hash then.
			old, _ := in.Data["oldPassword"].(string)
			work.old, work.storedHash, work.oldOK = old, stored, old != "" && password.Check(stored, old)
			valid = valid && work.oldOK
		}
		valid = valid && plain != stored
	}
	if valid {
		if hash, err := password.Hash(plain, f.Cost); err == nil {
			work.hash = hash
		}
	}
	in.ahead = work
}

// hashFor returns the hash of plain for field f: the one computed ahead
// when it was for plain, else a new one.
func (w *passwordWork) hashFor(f *schema.Field, plain string) (string, error) {
	if w != nil && w.hash != "" && w.plain == plain {
		return w.hash, nil
	}
	return password.Hash(plain, f.Cost)
}

// oldPasswordOK reports whether old is the password of the stored hash,
// reusing the check made ahead when it was against the same hash. An empty
// old password is never right.
func (w *passwordWork) oldPasswordOK(stored, old string) bool {
	if old == "" {
		return false
	}
	if w != nil && w.storedHash != "" && w.storedHash == stored && w.old == old {
		return w.oldOK
	}
	return password.Check(stored, old)
}
