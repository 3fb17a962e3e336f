package record

import (
	"context"
	"errors"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// fileRef names one stored file.
type fileRef struct{ collectionID, recordID, name string }

// effects collects what a transaction did outside the database, so it can be
// undone on rollback or completed after commit.
type effects struct {
	saved    []fileRef // stored during the transaction: removed on rollback
	orphaned []fileRef // replaced or removed: deleted after commit
	records  []fileRef // deleted records (name empty): their files go after commit
	events   int       // outbox events appended
	after    []*HookEvent
}

// inTx runs fn in a transaction, settles file effects and, when the commit
// added events to the outbox, tells the commit hook.
func (s *Service) inTx(ctx context.Context, fn func(tx store.Tx, fx *effects) error) error {
	fx := &effects{}
	err := s.store.InTx(ctx, func(tx store.Tx) error { return fn(tx, fx) })
	s.settle(ctx, fx, err == nil)
	if err == nil && fx.events > 0 && s.onCommit != nil {
		s.onCommit()
	}
	if err == nil {
		s.after(ctx, fx)
	}
	return err
}

func (s *Service) settle(ctx context.Context, fx *effects, committed bool) {
	if s.files == nil {
		return
	}
	// File clean-up must not be cut short by a cancelled request.
	ctx = context.WithoutCancel(ctx)
	if !committed {
		for _, f := range fx.saved {
			_ = s.files.Delete(ctx, f.collectionID, f.recordID, f.name)
		}
		return
	}
	for _, f := range fx.orphaned {
		_ = s.files.Delete(ctx, f.collectionID, f.recordID, f.name)
	}
	for _, f := range fx.records {
		_ = s.files.DeleteRecord(ctx, f.collectionID, f.recordID)
	}
}

// Create validates input and stores a new record of collection.
func (s *Service) Create(ctx context.Context, req *Request, collection string, in Input, expand string) (*Item, error) {
	s.passwordAhead(ctx, req, collection, "", &in)
	var r *schema.Record
	err := s.inTx(ctx, func(tx store.Tx, fx *effects) error {
		var err error
		r, err = s.create(ctx, tx, fx, req, collection, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.result(ctx, req, r, expand)
}

// Update applies input to an existing record of collection.
func (s *Service) Update(ctx context.Context, req *Request, collection, id string, in Input, expand string) (*Item, error) {
	s.passwordAhead(ctx, req, collection, id, &in)
	var r *schema.Record
	err := s.inTx(ctx, func(tx store.Tx, fx *effects) error {
		var err error
		r, err = s.update(ctx, tx, fx, req, collection, id, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.result(ctx, req, r, expand)
}

// Delete removes a record, applying relation integrity (cascade, unlink or refuse).
func (s *Service) Delete(ctx context.Context, req *Request, collection, id string) error {
	return s.inTx(ctx, func(tx store.Tx, fx *effects) error {
		return s.delete(ctx, tx, fx, req, collection, id)
	})
}

// Truncate deletes every record of a collection (superusers only; the
// transport checks that). Relation integrity is applied per record.
func (s *Service) Truncate(ctx context.Context, collection string) error {
	c, err := s.Collection(collection)
	if err != nil {
		return err
	}
	super := &Request{Auth: superuserRecord()}
	truncateAudit := audit.Entry{Action: "collection.truncate", Target: c.Name, Detail: map[string]any{"id": c.ID}}
	for audited := false; ; audited = true {
		q := s.query(c, super)
		q.Limit = 500
		list, err := s.store.FindRecords(ctx, q)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			if !audited {
				s.Audit.RecordAlone(ctx, truncateAudit)
			}
			return nil
		}
		err = s.inTx(ctx, func(tx store.Tx, fx *effects) error {
			if !audited {
				// With the first chunk: the log then says a truncation
				// began even if a later chunk fails.
				if err := s.Audit.Record(ctx, tx, truncateAudit); err != nil {
					return err
				}
			}
			for _, r := range list {
				if err := s.deleteRecord(ctx, tx, fx, r, 0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// result re-reads nothing: it wraps a written record and expands it for req.
func (s *Service) result(ctx context.Context, req *Request, r *schema.Record, expand string) (*Item, error) {
	items, err := s.items(ctx, guest(req), []*schema.Record{r}, nil, expand)
	if err != nil {
		return nil, err
	}
	return items[0], nil
}

func guest(req *Request) *Request {
	if req == nil {
		return &Request{Method: "GET", Context: "default"}
	}
	return req
}

func (s *Service) create(ctx context.Context, tx store.Tx, fx *effects, req *Request, collection string, in Input) (*schema.Record, error) {
	req = guest(req)
	c, err := s.Collection(collection)
	if err != nil {
		return nil, err
	}
	rule, err := ruleFilters(c.CreateRule, req)
	if err != nil {
		return nil, err
	}
	r := schema.NewRecord(c)
	chs, fe := changes(c, in, IsSuperuser(req))
	for _, ch := range chs {
		fieldProblem(fe, ch.field.Name, apply(r, ch))
	}
	if r.ID() == "" {
		r.Data["id"] = s.recordID(c)
	}
	now := schema.FormatTime(s.now())
	for _, f := range c.Fields {
		if f.Type == schema.TypeAutodate && f.OnCreate {
			r.Data[f.Name] = now
		}
		if f.Type == schema.TypeText && f.AutogeneratePattern != "" && r.String(f.Name) == "" && f.Name != "id" {
			r.Data[f.Name] = s.generate(f.AutogeneratePattern)
		}
	}
	if err := s.before(ctx, fx, fe, &HookEvent{Action: store.ActionCreate, Collection: c, Request: req, Record: r, Tx: tx}); err != nil {
		return nil, err
	}
	if c.IsAuth() {
		if r.Bool("verified") && !IsSuperuser(req) {
			fe.Add("verified", "validation_values_mismatch", "Only superusers can set the verified state.")
		}
		s.preparePassword(r, nil, in, fe)
	}
	s.validate(r, fe)
	pending, err := s.prepareFiles(r, nil, chs, fe)
	if err != nil {
		return nil, err
	}
	if err := s.checkRelations(ctx, tx, r, fe); err != nil {
		return nil, err
	}
	if err := fe.Err("Failed to create record."); err != nil {
		return nil, err
	}
	if err := tx.InsertRecord(ctx, r); err != nil {
		return nil, withMessage(err, "Failed to create record.")
	}
	if err := s.appendEvent(ctx, tx, fx, store.ActionCreate, nil, r); err != nil {
		return nil, err
	}
	if len(rule) > 0 {
		q := s.query(c, withBody(req, in, r))
		q.IDs, q.Filters = []string{r.ID()}, rule
		n, err := tx.CountRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, apperr.New(apperr.Invalid, "Failed to create record.")
		}
	}
	if err := s.saveFiles(ctx, fx, r, pending); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) update(ctx context.Context, tx store.Tx, fx *effects, req *Request, collection, id string, in Input) (*schema.Record, error) {
	req = guest(req)
	c, err := s.Collection(collection)
	if err != nil {
		return nil, err
	}
	rule, err := ruleFilters(c.UpdateRule, req)
	if err != nil {
		return nil, err
	}
	q := s.query(c, withBody(req, in, nil))
	q.Filters = rule
	prev, err := findOne(ctx, tx, q, id)
	if err != nil {
		return nil, err
	}
	r := prev.Clone()
	chs, fe := changes(c, in, IsSuperuser(req))
	for _, ch := range chs {
		if ch.field.Name == "id" {
			if v, _ := ch.field.Normalize(ch.value); v != prev.ID() {
				fe.Add("id", "validation_id_change", "The record id cannot be changed.")
			}
			continue
		}
		fieldProblem(fe, ch.field.Name, apply(r, ch))
	}
	now := schema.FormatTime(s.now())
	for _, f := range c.Fields {
		if f.Type == schema.TypeAutodate && f.OnUpdate {
			r.Data[f.Name] = now
		}
	}
	if err := s.before(ctx, fx, fe, &HookEvent{Action: store.ActionUpdate, Collection: c, Request: req, Record: r, Original: prev, Tx: tx}); err != nil {
		return nil, err
	}
	if c.IsAuth() {
		manager, err := s.canManage(ctx, tx, req, r)
		if err != nil {
			return nil, err
		}
		if !manager {
			if r.String("email") != prev.String("email") {
				fe.Add("email", "validation_values_mismatch", "The email can be changed only through the email change flow.")
			}
			if r.Bool("verified") != prev.Bool("verified") {
				fe.Add("verified", "validation_values_mismatch", "Only superusers can change the verified state.")
			}
		}
		if r.String("email") != prev.String("email") {
			// A new address ends the record's sessions and voids the tokens
			// (verification, reset, email change) issued for the old one.
			r.Data["tokenKey"] = random.Secret()
		}
		if _, ok := in.Data["password"]; ok {
			if !manager {
				old, _ := in.Data["oldPassword"].(string)
				if !in.ahead.oldPasswordOK(prev.String("password"), old) {
					fe.Add("oldPassword", "validation_invalid_old_password", "Missing or invalid old password.")
				}
			}
			s.preparePassword(r, prev, in, fe)
		}
	}
	s.validate(r, fe)
	pending, err := s.prepareFiles(r, prev, chs, fe)
	if err != nil {
		return nil, err
	}
	if err := s.checkRelations(ctx, tx, r, fe); err != nil {
		return nil, err
	}
	if err := fe.Err("Failed to update record."); err != nil {
		return nil, err
	}
	if err := tx.UpdateRecord(ctx, r); err != nil {
		return nil, withMessage(err, "Failed to update record.")
	}
	if err := s.appendEvent(ctx, tx, fx, store.ActionUpdate, prev, r); err != nil {
		return nil, err
	}
	if err := s.saveFiles(ctx, fx, r, pending); err != nil {
		return nil, err
	}
	for _, f := range c.Fields {
		if f.Type != schema.TypeFile {
			continue
		}
		kept := map[string]bool{}
		for _, n := range schema.AsStrings(r.Data[f.Name]) {
			kept[n] = true
		}
		for _, n := range schema.AsStrings(prev.Data[f.Name]) {
			if !kept[n] {
				fx.orphaned = append(fx.orphaned, fileRef{c.ID, r.ID(), n})
			}
		}
	}
	return r, nil
}

func (s *Service) delete(ctx context.Context, tx store.Tx, fx *effects, req *Request, collection, id string) error {
	req = guest(req)
	c, err := s.Collection(collection)
	if err != nil {
		return err
	}
	rule, err := ruleFilters(c.DeleteRule, req)
	if err != nil {
		return err
	}
	q := s.query(c, req)
	q.Filters = rule
	r, err := findOne(ctx, tx, q, id)
	if err != nil {
		return err
	}
	if c.ID == schema.SuperusersID {
		n, err := tx.CountRecords(ctx, s.query(c, req))
		if err != nil {
			return err
		}
		if n <= 1 {
			return apperr.New(apperr.Invalid, "You can't delete the only existing superuser.")
		}
	}
	if err := s.before(ctx, fx, apperr.FieldErrors{}, &HookEvent{Action: store.ActionDelete, Collection: c, Request: req, Record: r, Tx: tx}); err != nil {
		return err
	}
	return s.deleteRecord(ctx, tx, fx, r, 0)
}

// deleteRecord deletes r after resolving every relation that points at it.
func (s *Service) deleteRecord(ctx context.Context, tx store.Tx, fx *effects, r *schema.Record, depth int) error {
	if depth > 16 {
		return apperr.New(apperr.Invalid, "Cascade delete is nested too deeply.")
	}
	super := &Request{Auth: superuserRecord()}
	for _, other := range s.cols.All() {
		for _, f := range other.Fields {
			if f.Type != schema.TypeRelation || f.CollectionID != r.Collection.ID {
				continue
			}
			q := s.query(other, super)
			q.Filters = []string{f.Name + " ?= {:basalt_ref}"}
			q.Params = map[string]any{"basalt_ref": r.ID()}
			refs, err := tx.FindRecords(ctx, q)
			if err != nil {
				return err
			}
			for _, ref := range refs {
				if ref.Collection.ID == r.Collection.ID && ref.ID() == r.ID() {
					continue
				}
				remaining := without(schema.AsStrings(ref.Data[f.Name]), r.ID())
				switch {
				case f.CascadeDelete:
					if err := s.deleteRecord(ctx, tx, fx, ref, depth+1); err != nil {
						return err
					}
				case f.Required && len(remaining) == 0:
					return apperr.New(apperr.Invalid, "The record cannot be deleted because it is referenced by the required relation "+other.Name+"."+f.Name+".")
				default:
					next := ref.Clone()
					v, _ := f.Normalize(remaining)
					next.Data[f.Name] = v
					if err := tx.UpdateRecord(ctx, next); err != nil {
						return err
					}
					if err := s.appendEvent(ctx, tx, fx, store.ActionUpdate, ref, next); err != nil {
						return err
					}
				}
			}
		}
	}
	if r.Collection.IsAuth() {
		if err := s.deleteAuthRows(ctx, tx, fx, r, depth); err != nil {
			return err
		}
	}
	if err := tx.DeleteRecord(ctx, r.Collection, r.ID()); err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil // already removed by a cascade
		}
		return err
	}
	if err := s.appendEvent(ctx, tx, fx, store.ActionDelete, r, nil); err != nil {
		return err
	}
	fx.records = append(fx.records, fileRef{collectionID: r.Collection.ID, recordID: r.ID()})
	return nil
}

func without(list []string, id string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}

// canManage reports whether req may manage auth record r: superusers, and
// callers that pass the collection's manageRule.
func (s *Service) canManage(ctx context.Context, rd store.Reader, req *Request, r *schema.Record) (bool, error) {
	if IsSuperuser(req) {
		return true, nil
	}
	c := r.Collection
	if !c.IsAuth() || c.ManageRule == nil {
		return false, nil
	}
	q := s.query(c, req)
	q.IDs = []string{r.ID()}
	if strings.TrimSpace(*c.ManageRule) != "" {
		q.Filters = []string{*c.ManageRule}
	}
	n, err := rd.CountRecords(ctx, q)
	return n > 0, err
}

// preparePassword validates a submitted password and its confirmation and
// replaces the plain text in r with its hash (rotating tokenKey on change).
func (s *Service) preparePassword(r, prev *schema.Record, in Input, fe apperr.FieldErrors) {
	f := r.Collection.Field("password")
	plain := r.String("password")
	if prev != nil && plain == prev.String("password") {
		return // unchanged hash
	}
	if p := f.ValidateWith(plain, s.patterns); p != nil {
		fe.Add("password", p.Code, p.Message)
		return
	}
	if confirm, _ := in.Data["passwordConfirm"].(string); confirm != plain {
		fe.Add("passwordConfirm", "validation_values_mismatch", "Values don't match.")
		return
	}
	hash, err := in.ahead.hashFor(f, plain)
	if err != nil {
		fe.Add("password", "validation_invalid_value", "Invalid password.")
		return
	}
	r.Data["password"] = hash
	r.Data["tokenKey"] = random.Secret()
}

// validate checks every field's canonical value (passwords are checked in
// plain text by preparePassword, files by prepareFiles).
func (s *Service) validate(r *schema.Record, fe apperr.FieldErrors) {
	for _, f := range r.Collection.Fields {
		if f.Type == schema.TypePassword || f.Type == schema.TypeFile {
			continue
		}
		if f.Name == "id" {
			if p := f.ValidateWith(r.Data["id"], s.patterns); p != nil {
				fe.Add("id", p.Code, p.Message)
			}
			continue
		}
		fieldProblem(fe, f.Name, f.ValidateWith(r.Data[f.Name], s.patterns))
	}
}

// checkRelations verifies that every related id exists in its collection.
func (s *Service) checkRelations(ctx context.Context, rd store.Reader, r *schema.Record, fe apperr.FieldErrors) error {
	var super *Request
	for _, f := range r.Collection.Fields {
		if f.Type != schema.TypeRelation {
			continue
		}
		if _, bad := fe[f.Name]; bad {
			continue
		}
		ids := schema.AsStrings(r.Data[f.Name])
		if len(ids) == 0 {
			continue
		}
		target := s.cols.Lookup(f.CollectionID)
		if target == nil {
			fe.Add(f.Name, "validation_missing_rel_records", "Failed to find all relation records with the provided ids.")
			continue
		}
		for _, id := range ids {
			if !validID(id) {
				fe.Add(f.Name, "validation_missing_rel_records", "Failed to find all relation records with the provided ids.")
				break
			}
		}
		if _, bad := fe[f.Name]; bad {
			continue
		}
		if super == nil {
			super = &Request{Auth: superuserRecord()}
		}
		q := s.query(target, super)
		q.IDs = ids
		n, err := rd.CountRecords(ctx, q)
		if err != nil {
			return err
		}
		if n != int64(len(ids)) {
			fe.Add(f.Name, "validation_missing_rel_records", "Failed to find all relation records with the provided ids: "+describe(ids)+".")
		}
	}
	return nil
}

// withBody returns req with @request.body set from the submitted data.
func withBody(req *Request, in Input, r *schema.Record) *Request {
	out := *req
	body := make(map[string]any, len(in.Data))
	for k, v := range in.Data {
		name, _ := splitKey(k)
		if r != nil {
			if val, ok := r.Data[name]; ok && r.Collection.Field(name).Type != schema.TypePassword {
				body[name] = val
				continue
			}
		}
		body[k] = v
	}
	for k, files := range in.Files {
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.Filename()
		}
		body[k] = names
	}
	out.Body = body
	return &out
}

// withMessage gives store validation errors the operation's message.
func withMessage(err error, msg string) error {
	var e *apperr.Error
	if errors.As(err, &e) && (e.Code == apperr.Conflict || e.Code == apperr.Invalid) && len(e.Data) > 0 {
		return &apperr.Error{Code: apperr.Invalid, Message: msg, Data: e.Data, Cause: err}
	}
	return err
}

// recordID returns the id of a new record of c that came without one: from
// the id field's autogeneratePattern when c has its own, else from the
// service's generator, whose ids have the default pattern's shape.
func (s *Service) recordID(c *schema.Collection) string {
	if f := c.Field("id"); f != nil && f.AutogeneratePattern != "" && f.AutogeneratePattern != schema.DefaultIDPattern {
		return s.generate(f.AutogeneratePattern)
	}
	return s.newID()
}

func (s *Service) generate(pattern string) string {
	if v, err := random.FromPattern(pattern); err == nil && v != "" {
		return v
	}
	return random.String(random.LowerAlnum, 15)
}
