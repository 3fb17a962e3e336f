package collection

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Service manages collection definitions.
type Service struct {
	store    store.Store
	registry *Registry
	now      func() time.Time
	// misses coalesces the store checks of lookups that miss (catchUp).
	misses missCheck
	// Audit records definition changes; nil records nothing.
	Audit *audit.Log
}

// New returns the service, creating the system collections on first start
// and loading the registry.
func New(ctx context.Context, st store.Store, now func() time.Time) (*Service, error) {
	s := &Service{store: st, registry: &Registry{}, now: now}
	if err := s.registry.load(ctx, st); err != nil {
		return nil, fmt.Errorf("loading collections: %w", err)
	}
	var missing []*schema.Collection
	if s.registry.Lookup(schema.SuperusersName) == nil {
		// First start: the default users collection comes with the superusers.
		missing = append(missing, schema.Superusers(random.Secret), schema.Users(random.Secret))
	}
	// Collections added by later versions are created on the next start.
	for _, c := range []*schema.Collection{schema.MFAs(), schema.OTPs(), schema.AuthOrigins(), schema.ExternalAuths()} {
		if s.registry.Lookup(c.ID) == nil && s.registry.Lookup(c.Name) == nil {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return s, nil
	}
	err := st.InTx(ctx, func(tx store.Tx) error {
		// Another replica starting on the same database may have created
		// some of them since the registry was loaded.
		stored, err := tx.Collections(ctx)
		if err != nil {
			return err
		}
		exists := map[string]bool{}
		for _, c := range stored {
			exists[strings.ToLower(c.ID)], exists[strings.ToLower(c.Name)] = true, true
		}
		created := false
		for _, c := range missing {
			if exists[strings.ToLower(c.ID)] || exists[strings.ToLower(c.Name)] {
				continue
			}
			c.Created, c.Updated = s.stamp(), s.stamp()
			if err := tx.CreateCollection(ctx, c); err != nil {
				return fmt.Errorf("creating %s: %w", c.Name, err)
			}
			created = true
		}
		if !created {
			return nil
		}
		return tx.TouchConfig(ctx, store.ConfigCollections)
	})
	if err != nil {
		return nil, err
	}
	return s, s.registry.load(ctx, st)
}

func (s *Service) stamp() string { return schema.FormatTime(s.now()) }

// Lookup returns a collection by name or id, or nil. The result is shared and
// must not be modified. A miss checks whether another replica changed the
// collections since the registry was loaded (see catchUp).
func (s *Service) Lookup(nameOrID string) *schema.Collection {
	if c := s.registry.Lookup(nameOrID); c != nil {
		return c
	}
	// Looked up again whatever catchUp did: a reload for a notification
	// may have brought the collection in meanwhile.
	s.catchUp()
	return s.registry.Lookup(nameOrID)
}

// All returns every collection, oldest first.
func (s *Service) All() []*schema.Collection { return s.registry.All() }

// Reload refreshes the registry from the store (after changes made elsewhere).
func (s *Service) Reload(ctx context.Context) error { return s.registry.load(ctx, s.store) }

// Find returns a collection by name or id, or a NotFound error.
func (s *Service) Find(nameOrID string) (*schema.Collection, error) {
	if c := s.Lookup(nameOrID); c != nil {
		return c, nil
	}
	return nil, apperr.New(apperr.NotFound, "The requested resource wasn't found.")
}

// Create validates the JSON definition and creates the collection and its table.
func (s *Service) Create(ctx context.Context, body []byte) (*schema.Collection, error) {
	return s.create(ctx, body, false)
}

// CheckCreate reports what Create would refuse in body, without saving:
// it runs the same validation and migration in a transaction that it rolls
// back, so rule errors are those of the real compiler against the real
// table. nil means Create would succeed now.
func (s *Service) CheckCreate(ctx context.Context, body []byte) error {
	_, err := s.create(ctx, body, true)
	return err
}

func (s *Service) create(ctx context.Context, body []byte, dry bool) (*schema.Collection, error) {
	var head struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, badBody(err)
	}
	if head.Type == "" {
		head.Type = schema.TypeBase
	}
	c := schema.NewCollection(head.Type, head.Name, random.Secret)
	if err := decodeOnto(body, c); err != nil {
		return nil, err
	}
	c.Type = head.Type
	if s.registry.Lookup(c.Name) != nil {
		return nil, nameTaken()
	}
	if c.ID == "" {
		c.ID = schema.DefaultCollectionID(c.Type, c.Name)
		if taken := s.registry.Lookup(c.ID); taken != nil && !strings.EqualFold(taken.Name, c.Name) {
			// A derived id that collides (e.g. after a rename) gets a fresh one;
			// a same-name collision is reported on the name by validate.
			c.ID = "pbc_" + random.String("0123456789", 10)
		}
	} else if s.registry.Lookup(c.ID) != nil {
		return nil, apperr.Fields("Failed to create collection.", map[string]apperr.Field{
			"id": {Code: "validation_collection_id_exists", Message: "Collection id already exists."}})
	}
	c.System = false
	c.Created, c.Updated = s.stamp(), s.stamp()
	if err := s.save(ctx, nil, c, dry); err != nil || dry {
		return nil, err
	}
	return s.registry.Lookup(c.ID), nil
}

// Update applies a (partial) JSON definition to an existing collection and
// migrates its table. Keys absent from body keep their values; "fields",
// when present, is the complete new field list (fields matched by id, or by
// name when the id is omitted).
func (s *Service) Update(ctx context.Context, nameOrID string, body []byte) (*schema.Collection, error) {
	return s.update(ctx, nameOrID, body, false)
}

// CheckUpdate reports what Update would refuse, without saving (see
// CheckCreate). nil means Update would succeed now.
func (s *Service) CheckUpdate(ctx context.Context, nameOrID string, body []byte) error {
	_, err := s.update(ctx, nameOrID, body, true)
	return err
}

func (s *Service) update(ctx context.Context, nameOrID string, body []byte, dry bool) (*schema.Collection, error) {
	for retried := false; ; retried = true {
		prev, err := s.Find(nameOrID)
		if err != nil {
			return nil, err
		}
		next := prev.Clone()
		if err := decodeOnto(body, next); err != nil {
			return nil, err
		}
		// Identity and bookkeeping are not client-editable.
		next.ID, next.System, next.Created = prev.ID, prev.System, prev.Created
		next.Updated = s.stamp()
		err = s.save(ctx, prev, next, dry)
		if errors.Is(err, errStale) && !retried {
			if err := s.Reload(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil || dry {
			return nil, staleError(err)
		}
		return s.registry.Lookup(next.ID), nil
	}
}

// Delete drops a collection. System collections and collections that other
// collections' relation fields point to cannot be deleted.
func (s *Service) Delete(ctx context.Context, nameOrID string) error {
	err := s.delete(ctx, nameOrID)
	if errors.Is(err, errStale) {
		if err := s.Reload(ctx); err != nil {
			return err
		}
		err = s.delete(ctx, nameOrID)
	}
	return staleError(err)
}

func (s *Service) delete(ctx context.Context, nameOrID string) error {
	c, err := s.Find(nameOrID)
	if err != nil {
		return err
	}
	if c.System {
		return apperr.New(apperr.Invalid, "System collections cannot be deleted.")
	}
	for _, other := range s.registry.All() {
		if other.ID == c.ID {
			continue
		}
		for _, f := range other.Fields {
			if f.Type == schema.TypeRelation && f.CollectionID == c.ID {
				return apperr.New(apperr.Invalid, fmt.Sprintf("The collection is referenced by %s.%s; remove that relation field first.", other.Name, f.Name))
			}
		}
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := current(ctx, tx, c); err != nil {
			return err
		}
		if err := tx.DeleteCollection(ctx, c); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, tx, deleteAudit(c)); err != nil {
			return err
		}
		return tx.TouchConfig(ctx, store.ConfigCollections)
	})
	if err != nil {
		return err
	}
	return s.registry.load(ctx, s.store)
}

// Import creates or updates every collection in defs in one transaction; with
// deleteMissing, non-system collections absent from defs are deleted.
func (s *Service) Import(ctx context.Context, defs []json.RawMessage, deleteMissing bool) error {
	err := s.importDefs(ctx, defs, deleteMissing)
	if errors.Is(err, errStale) {
		if err := s.Reload(ctx); err != nil {
			return err
		}
		err = s.importDefs(ctx, defs, deleteMissing)
	}
	return staleError(err)
}

func (s *Service) importDefs(ctx context.Context, defs []json.RawMessage, deleteMissing bool) error {
	if len(defs) == 0 {
		return apperr.Fields("Failed to import collections.", map[string]apperr.Field{
			"collections": {Code: "validation_required", Message: "Cannot be blank."}})
	}
	pending := map[string]*schema.Collection{} // by lowercased id and name, as imported so far
	lookup := func(key string) *schema.Collection {
		if c, ok := pending[strings.ToLower(key)]; ok {
			return c
		}
		return s.registry.Lookup(key)
	}
	type change struct{ prev, next *schema.Collection }
	var changes []change
	seen := map[string]bool{}
	for i, raw := range defs {
		var head struct{ ID, Name, Type string }
		if err := json.Unmarshal(raw, &head); err != nil {
			return importError(i, badBody(err))
		}
		prev := s.registry.Lookup(head.ID)
		if prev == nil && head.ID == "" {
			prev = s.registry.Lookup(head.Name)
		}
		var next *schema.Collection
		if prev != nil {
			next = prev.Clone()
		} else {
			if head.Type == "" {
				head.Type = schema.TypeBase
			}
			next = schema.NewCollection(head.Type, head.Name, random.Secret)
			next.Created = s.stamp()
		}
		if err := decodeOnto(raw, next); err != nil {
			return importError(i, err)
		}
		if prev != nil {
			next.ID, next.System, next.Created = prev.ID, prev.System, prev.Created
		} else if next.ID == "" {
			next.ID = schema.DefaultCollectionID(next.Type, next.Name)
		}
		next.Updated = s.stamp()
		pending[strings.ToLower(next.ID)], pending[strings.ToLower(next.Name)] = next, next
		seen[next.ID] = true
		changes = append(changes, change{prev, next})
	}
	for i, ch := range changes {
		prepare(ch.prev, ch.next)
		if err := validate(ch.prev, ch.next, lookup); err != nil {
			return importError(i, err)
		}
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var known []*schema.Collection
		for _, ch := range changes {
			if ch.prev != nil {
				known = append(known, ch.prev)
			}
		}
		if deleteMissing {
			known = s.registry.All()
		}
		if err := current(ctx, tx, known...); err != nil {
			return err
		}
		// Create first (so relations resolve), then update, then delete.
		var created, updated, deleted []string
		for _, ch := range changes {
			if ch.prev == nil {
				if err := tx.CreateCollection(ctx, ch.next); err != nil {
					return err
				}
				created = append(created, ch.next.Name)
			}
		}
		for _, ch := range changes {
			if ch.prev != nil {
				if err := tx.UpdateCollection(ctx, ch.prev, ch.next); err != nil {
					return err
				}
				updated = append(updated, ch.next.Name)
			}
		}
		if deleteMissing {
			for _, c := range s.registry.All() {
				if !seen[c.ID] && !c.System {
					if err := tx.DeleteCollection(ctx, c); err != nil {
						return err
					}
					deleted = append(deleted, c.Name)
				}
			}
		}
		for _, ch := range changes {
			if err := checkRules(ctx, tx, ch.next, lookup); err != nil {
				return err
			}
		}
		if err := s.Audit.Record(ctx, tx, importAudit(created, updated, deleted, deleteMissing)); err != nil {
			return err
		}
		return tx.TouchConfig(ctx, store.ConfigCollections)
	})
	if err != nil {
		return err
	}
	return s.registry.load(ctx, s.store)
}

func importError(i int, err error) error {
	if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
		return &apperr.Error{Code: apperr.Invalid, Message: "Failed to import collections.",
			Data: map[string]any{"collections": map[string]any{fmt.Sprint(i): e.Data}}, Cause: err}
	}
	return err
}

// Scaffolds returns the default definition of each collection type.
func (s *Service) Scaffolds() map[string]any {
	out := map[string]any{}
	for _, t := range []string{schema.TypeBase, schema.TypeAuth} {
		c := schema.NewCollection(t, "", func() string { return "" })
		c.Fields = append(c.Fields, schema.AutodateFields(false)...)
		if t == schema.TypeAuth {
			c.Indexes = schema.AuthIndexes("", "")
		}
		out[t] = c.Public()
	}
	// View collections are not supported yet; the scaffold keeps clients
	// that list every type working.
	out["view"] = map[string]any{
		"id": "", "name": "", "type": "view", "system": false, "fields": []any{}, "indexes": []any{},
		"listRule": nil, "viewRule": nil, "createRule": nil, "updateRule": nil, "deleteRule": nil,
		"viewQuery": "", "created": "", "updated": "",
	}
	return out
}

// prepare fills derived values before validation: field ids, required
// system fields and option defaults.
func prepare(prev, next *schema.Collection) {
	if next.Indexes == nil {
		next.Indexes = []string{}
	}
	var fields []*schema.Field
	for _, f := range next.Fields {
		if f == nil {
			fields = append(fields, f)
			continue
		}
		if f.ID == "" {
			if prev != nil {
				if old := prev.Field(f.Name); old != nil && old.Type == f.Type {
					f.ID = old.ID
				}
			}
			if f.ID == "" {
				f.ID = schema.DefaultFieldID(f.Type, f.Name)
			}
		}
		if (f.Type == schema.TypeSelect || f.Type == schema.TypeFile) && f.MaxSelect == 0 {
			f.MaxSelect = 1
		}
		if f.Type == schema.TypeRelation && f.MaxSelect == 0 {
			f.MaxSelect = 1
		}
		fields = append(fields, f)
	}
	next.Fields = fields
	// The id field keeps its system guarantees; a bare definition (no
	// options) gets the default ones back.
	if id := next.Field("id"); id != nil && id.Type == schema.TypeText {
		def := schema.IDField()
		id.System, id.PrimaryKey, id.Required, id.Hidden = true, true, true, false
		if id.Pattern == "" && id.AutogeneratePattern == "" && id.Min == nil && id.Max == nil {
			id.Pattern, id.AutogeneratePattern, id.Min, id.Max = def.Pattern, def.AutogeneratePattern, def.Min, def.Max
		}
	}
	// Required fields that a client omitted come back with their defaults.
	required := []*schema.Field{schema.IDField()}
	if next.IsAuth() {
		required = append(required, schema.AuthSystemFields()...)
	}
	for i, rf := range required {
		if next.Field(rf.Name) == nil {
			if i == 0 {
				next.Fields = append([]*schema.Field{rf}, next.Fields...)
			} else {
				next.Fields = append(next.Fields, rf)
			}
		}
	}
	if next.IsAuth() {
		for _, idx := range schema.AuthIndexes(next.ID, next.Name) {
			if !containsIndexOn(next.Indexes, idx) {
				next.Indexes = append(next.Indexes, idx)
			}
		}
	}
}

// containsIndexOn reports whether indexes already has an index with the same
// column list as want (auth indexes are keyed by their column).
func containsIndexOn(indexes []string, want string) bool {
	col := want[strings.IndexByte(want, '('):]
	col = col[:strings.IndexByte(col, ')')+1]
	for _, idx := range indexes {
		if strings.Contains(idx, col) {
			return true
		}
	}
	return false
}

// errDryRun rolls back the transaction of a check.
var errDryRun = errors.New("dry run")

// save validates next and stores it in place of prev (nil to create); with
// dry it stops before the commit and keeps nothing.
func (s *Service) save(ctx context.Context, prev, next *schema.Collection, dry bool) error {
	prepare(prev, next)
	lookup := func(key string) *schema.Collection {
		if strings.EqualFold(key, next.ID) || strings.EqualFold(key, next.Name) {
			return next
		}
		if prev != nil && (strings.EqualFold(key, prev.Name)) {
			return nil // the old name is free after a rename
		}
		return s.registry.Lookup(key)
	}
	if other := s.registry.Lookup(next.Name); other != nil && other.ID != next.ID {
		return nameTaken()
	}
	if err := validate(prev, next, lookup); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if prev == nil {
			err = tx.CreateCollection(ctx, next)
		} else if err = current(ctx, tx, prev); err == nil {
			err = tx.UpdateCollection(ctx, prev, next)
		}
		if err != nil {
			return err
		}
		if err := checkRules(ctx, tx, next, lookup); err != nil {
			return err
		}
		if dry {
			return errDryRun
		}
		if err := s.Audit.Record(ctx, tx, saveAudit(prev, next)); err != nil {
			return err
		}
		return tx.TouchConfig(ctx, store.ConfigCollections)
	})
	if dry && errors.Is(err, errDryRun) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.registry.load(ctx, s.store)
}

// checkRules compiles every rule of c against the migrated schema inside the
// transaction, so a rule naming a missing field is refused before commit.
func checkRules(ctx context.Context, tx store.Tx, c *schema.Collection, lookup store.Lookup) error {
	rules := map[string]*string{
		"listRule": c.ListRule, "viewRule": c.ViewRule, "createRule": c.CreateRule,
		"updateRule": c.UpdateRule, "deleteRule": c.DeleteRule,
	}
	if c.IsAuth() {
		rules["authRule"], rules["manageRule"] = c.AuthRule, c.ManageRule
		if strings.TrimSpace(c.MFA.Rule) != "" {
			rules["mfa.rule"] = &c.MFA.Rule
		}
	}
	fe := apperr.FieldErrors{}
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		rule := rules[key]
		if rule == nil || strings.TrimSpace(*rule) == "" {
			continue
		}
		q := &store.Query{Collection: c, Schema: lookup, Filters: []string{*rule}, Limit: 1,
			Request: &store.Request{Method: "GET", Context: "default"}}
		if _, err := tx.CountRecords(ctx, q); err != nil {
			if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
				fe.Add(key, "validation_invalid_rule", "Invalid rule: "+e.Message)
				continue
			}
			return err
		}
	}
	for i, f := range c.Fields {
		if f.VisibleRule == "" {
			continue
		}
		key := "fields." + strconv.Itoa(i) + ".visibleRule"
		if err := requestOnly(f.VisibleRule); err != nil {
			fe.Add(key, "validation_invalid_rule", "Invalid rule: "+err.Error())
			continue
		}
		q := &store.Query{Collection: c, Schema: lookup, Filters: []string{f.VisibleRule}, Limit: 1,
			Request: &store.Request{Method: "GET", Context: "default"}}
		if _, err := tx.CountRecords(ctx, q); err != nil {
			if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
				fe.Add(key, "validation_invalid_rule", "Invalid rule: "+e.Message)
				continue
			}
			return err
		}
	}
	return fe.Err("Failed to save collection.")
}

// decodeOnto unmarshals a JSON definition over c.
func decodeOnto(body []byte, c *schema.Collection) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(c); err != nil {
		return badBody(err)
	}
	if c.IsAuth() && c.AuthOptions == nil {
		c.AuthOptions = schema.NewAuthOptions(random.Secret)
	}
	if !c.IsAuth() {
		c.AuthOptions = nil
	}
	return nil
}

func badBody(err error) error {
	var fde *schema.FieldDecodeError
	if errors.As(err, &fde) {
		return apperr.Wrap(apperr.Invalid, "Invalid field option "+fde.Key+".", err)
	}
	return apperr.Wrap(apperr.Invalid, "Failed to load the submitted data due to invalid formatting.", err)
}

func nameTaken() error {
	return apperr.Fields("Failed to save collection.", map[string]apperr.Field{
		"name": {Code: "validation_collection_name_exists", Message: "Collection name must be unique (case insensitive)."}})
}
