package sqlfilter

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// maxRelationDepth bounds the relations one identifier may traverse.
const maxRelationDepth = 6

// The system fields of auth collections that make an email private.
const (
	emailField           = "email"
	emailVisibilityField = "emailVisibility"
)

// Source is what identifiers are resolved against: the collection, the other
// collections, the request data and what the client may read.
type Source struct {
	// Collection is the collection being filtered.
	Collection *schema.Collection
	// Lookup finds other collections by name or id (relations,
	// back-relations, @collection).
	Lookup store.Lookup
	// Request is what @request.* resolves to; nil means no request (every
	// @request field is NULL).
	Request *store.Request
	// AllowHidden lets client input (a client's filter and sort, see
	// [Input]) use hidden fields of the collection and its relations, and
	// match the email of auth records that keep it private: superusers may.
	// Trusted conditions (rules), @request.* and @collection.* paths may
	// always do both.
	AllowHidden bool
}

// stepKind is one hop of a path from the filtered record to a value.
type stepKind uint8

const (
	stepRel        stepKind = iota + 1 // a relation field: to the related record(s)
	stepBack                           // coll_via_field: the records whose relation points here
	stepEach                           // field:each: the items of a multi-valued field
	stepCollection                     // @collection.name: every record of a collection
	stepAuth                           // @request.auth: the authenticated record
	stepBodyRel                        // @request.body.rel: the submitted related records
	stepBodyEach                       // @request.body.field:each: the submitted items
)

// step is one hop. multi steps are joins that can yield many rows: items
// reached through the same join (same key) are correlated.
type step struct {
	kind  stepKind
	key   string             // join name, e.g. "tags" or "@collection.users:u"
	coll  *schema.Collection // collection of the rows after the step (nil for each)
	field *schema.Field      // relation or multi-valued field followed
	multi bool
	ids   []string // stepAuth (one id), stepBodyRel
	items []any    // stepBodyEach
}

// valueKind is how a path ends.
type valueKind uint8

const (
	valColumn valueKind = iota + 1 // a column of the last collection
	valJSON                        // json_extract of a json column
	valLength                      // the item count of a list column
	valOne                         // 0 or 1: the count of a single select/relation/file
	valEach                        // the item of the last step (stepEach, stepBodyEach)
	valConst                       // a value known before the query runs
)

// plan is what an identifier means: the hops from the record and the value at
// the end.
type plan struct {
	name     string
	steps    []step
	kind     valueKind
	field    *schema.Field // valColumn, valJSON, valLength, valOne
	jsonPath string        // valJSON: $.a[0].b
	lower    bool
	constant filter.Scalar // valConst
	// private is set for the email of an auth collection read by client
	// input without AllowHidden: a comparison only matches rows whose
	// visibility field (emailVisibility; nil if the collection lacks it,
	// and then no row) is true.
	private    bool
	visibility *schema.Field
}

func (p *plan) multi() bool {
	for _, s := range p.steps {
		if s.multi {
			return true
		}
	}
	return false
}

// affinity is the SQLite affinity of the value, matching the column
// declarations of the SQLite store: number and bool columns are NUMERIC, list
// columns are declared JSON (NUMERIC too), the rest TEXT.
func (p *plan) affinity() filter.Affinity {
	if p.lower || p.kind != valColumn {
		return filter.AffinityNone
	}
	return columnAffinity(p.field)
}

func columnAffinity(f *schema.Field) filter.Affinity {
	switch {
	case f.Type == schema.TypeNumber || f.Type == schema.TypeBool || f.IsMulti():
		return filter.AffinityNumeric
	case f.Type == schema.TypeJSON:
		return filter.AffinityText
	}
	return filter.AffinityText
}

func (p *plan) strict() bool { return p.kind == valJSON }

func (p *plan) isConst() bool { return p.kind == valConst && len(p.steps) == 0 }

// errorf returns an invalid-filter error naming the identifier.
func errorf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Error is a filter that cannot be compiled against the schema: an unknown
// field, a modifier on the wrong field type, a relation path that is too deep.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

var viaPattern = regexp.MustCompile(`^(\w+)_via_(\w+)$`)

func isList(f *schema.Field) bool {
	return f.Type == schema.TypeSelect || f.Type == schema.TypeRelation || f.Type == schema.TypeFile
}

// planOf resolves an identifier against the source. client marks client
// input, which reads hidden fields and private emails only with
// src.AllowHidden.
func planOf(src *Source, id *filter.Identifier, client bool) (*plan, error) {
	path := id.Path()
	p := &plan{name: id.Name()}
	switch path[0] {
	case "@request":
		return planRequest(src, id, p)
	case "@collection":
		c := src.lookup(path[1])
		if c == nil {
			return nil, errorf("unknown collection %q in %q", path[1], id.Name())
		}
		key := "@collection." + c.Name
		if id.Alias() != "" {
			key += ":" + id.Alias()
		}
		p.steps = append(p.steps, step{kind: stepCollection, key: key, coll: c, multi: true})
		return planPath(src, id, p, c, key, path[2:], true)
	}
	return planPath(src, id, p, src.Collection, "", path, !client || src.AllowHidden)
}

func (src *Source) lookup(nameOrID string) *schema.Collection {
	c := src.Collection
	if c != nil && (c.Name == nameOrID || c.ID == nameOrID) {
		return c
	}
	if src.Lookup == nil {
		return nil
	}
	return src.Lookup(nameOrID)
}

func joinKey(prefix, seg string) string {
	if prefix == "" {
		return seg
	}
	return prefix + "." + seg
}

// planPath walks segs from collection c. hidden allows hidden fields and
// private emails on the way.
func planPath(src *Source, id *filter.Identifier, p *plan, c *schema.Collection, key string, segs []string, hidden bool) (*plan, error) {
	rels := 0
	for i, seg := range segs {
		if i == len(segs)-1 {
			return planLast(id, p, c, key, seg, hidden)
		}
		f := c.Field(seg)
		if f != nil && f.Hidden && !hidden {
			return nil, errorf("field %q of %q cannot be filtered", seg, id.Name())
		}
		if f != nil && f.Type == schema.TypeJSON {
			return planJSON(id, p, f, segs[i+1:])
		}
		if rels++; rels > maxRelationDepth {
			return nil, errorf("%q traverses more than %d relations", id.Name(), maxRelationDepth)
		}
		key = joinKey(key, seg)
		if f == nil {
			m := viaPattern.FindStringSubmatch(seg)
			if m == nil {
				return nil, errorf("unknown field %q in %q", seg, id.Name())
			}
			back := src.lookup(m[1])
			var bf *schema.Field
			if back != nil {
				bf = back.Field(m[2])
			}
			if bf == nil || bf.Type != schema.TypeRelation || bf.CollectionID != c.ID {
				return nil, errorf("invalid back-relation %q in %q", seg, id.Name())
			}
			if bf.Hidden && !hidden {
				return nil, errorf("field %q of %q cannot be filtered", m[2], id.Name())
			}
			p.steps = append(p.steps, step{kind: stepBack, key: key, coll: back, field: bf, multi: true})
			c = back
			continue
		}
		if f.Type != schema.TypeRelation {
			return nil, errorf("field %q in %q is not a relation", seg, id.Name())
		}
		target := src.lookup(f.CollectionID)
		if target == nil {
			return nil, errorf("missing collection of relation %q in %q", seg, id.Name())
		}
		// rel.id of a single relation is the relation column itself.
		if !f.IsMulti() && i == len(segs)-2 && segs[i+1] == "id" && id.Modifier() == filter.ModNone {
			return planLast(id, p, c, strings.TrimSuffix(key, "."+seg), seg, hidden)
		}
		p.steps = append(p.steps, step{kind: stepRel, key: key, coll: target, field: f, multi: f.IsMulti()})
		c = target
	}
	return nil, errorf("incomplete field path %q", id.Name())
}

func planLast(id *filter.Identifier, p *plan, c *schema.Collection, key, name string, hidden bool) (*plan, error) {
	f := c.Field(name)
	if f == nil {
		return nil, errorf("unknown field %q in %q", name, id.Name())
	}
	if f.Hidden && !hidden {
		return nil, errorf("field %q of %q cannot be filtered", name, id.Name())
	}
	p.field = f
	p.kind = valColumn
	mod := id.Modifier()
	if mod == filter.ModNone && f.IsMulti() {
		// A multi-valued field is a list of values: a plain operator must
		// hold for every item and a ? operator for one, as with :each.
		mod = filter.ModEach
	}
	switch mod {
	case filter.ModNone:
	case filter.ModLower:
		p.lower = true
	case filter.ModLength:
		switch {
		case f.IsMulti():
			p.kind = valLength
		case isList(f):
			p.kind = valOne
		default:
			return nil, errorf(":length needs a select, relation or file field, not %q", id.Name())
		}
	case filter.ModEach:
		switch {
		case f.IsMulti():
			p.steps = append(p.steps, step{kind: stepEach, key: joinKey(key, name), field: f, multi: true})
			p.kind = valEach
		case isList(f):
		default:
			return nil, errorf(":each needs a select, relation or file field, not %q", id.Name())
		}
	default:
		return nil, errorf(":%s can only be used with @request fields, not %q", mod, id.Name())
	}
	if f.Type == schema.TypeJSON {
		if p.kind != valColumn {
			return nil, errorf("unsupported modifier on json field %q", id.Name())
		}
		p.kind, p.jsonPath = valJSON, "$"
	}
	// As in PocketBase, an auth record's email is filterable by anyone, but
	// a client's condition on it only matches records that show it.
	if !hidden && c.IsAuth() && f.Name == emailField {
		p.private, p.visibility = true, c.Field(emailVisibilityField)
	}
	return p, nil
}

func planJSON(id *filter.Identifier, p *plan, f *schema.Field, segs []string) (*plan, error) {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range segs {
		if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
		} else {
			b.WriteString("." + s)
		}
	}
	switch id.Modifier() {
	case filter.ModNone:
	case filter.ModLower:
		p.lower = true
	default:
		return nil, errorf("unsupported modifier on json path %q", id.Name())
	}
	p.kind, p.field, p.jsonPath = valJSON, f, b.String()
	return p, nil
}

// plainAuthFields are @request.auth fields read from the request itself;
// other auth fields are read by joining the auth collection.
var plainAuthFields = map[string]bool{
	"id": true, "collectionId": true, "collectionName": true, "email": true, "emailVisibility": true, "verified": true,
}

func planConst(p *plan, v any, mod filter.Modifier) (*plan, error) {
	p.kind = valConst
	p.constant = filter.ScalarOf(v)
	switch mod {
	case filter.ModNone:
	case filter.ModLower:
		if t, ok := sqlText(p.constant); ok {
			p.constant = filter.Text(asciiLower(t))
		}
	default:
		return nil, errorf("unsupported modifier :%s on %q", mod, p.name)
	}
	return p, nil
}

func constBool(p *plan, b bool) (*plan, error) {
	p.kind, p.constant = valConst, filter.Bool(b)
	return p, nil
}

func planRequest(src *Source, id *filter.Identifier, p *plan) (*plan, error) {
	path, mod := id.Path(), id.Modifier()
	req := src.Request
	switch path[1] {
	case "method", "context":
		if len(path) != 2 {
			return nil, errorf("unknown request field %q", id.Name())
		}
		if req == nil {
			return planConst(p, nil, filter.ModNone)
		}
		v := req.Method
		if path[1] == "context" {
			v = req.Context
		}
		if mod == filter.ModIsset {
			return constBool(p, true)
		}
		return planConst(p, v, mod)
	case "query", "headers":
		if len(path) != 3 {
			return nil, errorf("unknown request field %q", id.Name())
		}
		var m map[string]string
		if req != nil {
			m = req.Query
			if path[1] == "headers" {
				m = req.Headers
			}
		}
		v, ok := m[path[2]]
		if mod == filter.ModIsset {
			return constBool(p, ok)
		}
		if !ok {
			return planConst(p, nil, mod)
		}
		return planConst(p, v, mod)
	case "auth":
		if len(path) < 3 {
			return nil, errorf("unknown request field %q", id.Name())
		}
		if req == nil || req.Auth == nil || req.Auth.Collection == nil {
			return planConst(p, nil, filter.ModNone)
		}
		auth := req.Auth
		if len(path) == 3 && plainAuthFields[path[2]] && mod != filter.ModEach && mod != filter.ModLength {
			var v any
			switch path[2] {
			case "collectionId":
				v = auth.Collection.ID
			case "collectionName":
				v = auth.Collection.Name
			default:
				v = auth.Data[path[2]]
			}
			if mod == filter.ModIsset {
				return constBool(p, true)
			}
			return planConst(p, v, mod)
		}
		if mod == filter.ModIsset || mod == filter.ModChanged {
			return nil, errorf("unsupported modifier on %q", id.Name())
		}
		p.steps = append(p.steps, step{kind: stepAuth, key: "@request.auth", coll: auth.Collection, ids: []string{auth.ID()}})
		return planPath(src, id, p, auth.Collection, "@request.auth", path[2:], true)
	case "body":
		if len(path) < 3 {
			return nil, errorf("unknown request field %q", id.Name())
		}
		var body map[string]any
		if req != nil {
			body = req.Body
		}
		name := path[2]
		raw, present := body[name]
		f := src.Collection.Field(name)
		switch {
		case mod == filter.ModIsset && len(path) == 3:
			return constBool(p, present)
		case mod == filter.ModChanged && len(path) == 3:
			var old any
			if req != nil && req.Existing != nil {
				old = req.Existing.Data[name]
			}
			return constBool(p, present && !sameValue(raw, old))
		case f != nil && f.Type == schema.TypeRelation && len(path) > 3:
			ids := schema.AsStrings(raw)
			if len(ids) == 0 {
				return planConst(p, nil, filter.ModNone)
			}
			key := "@request.body." + name
			p.steps = append(p.steps, step{kind: stepBodyRel, key: key, coll: src.lookup(f.CollectionID), field: f, multi: f.IsMulti(), ids: ids})
			if p.steps[0].coll == nil {
				return nil, errorf("missing collection of relation %q in %q", name, id.Name())
			}
			return planPath(src, id, p, p.steps[0].coll, key, path[3:], true)
		case f != nil && len(path) == 3 && mod == filter.ModEach:
			if !isList(f) {
				return nil, errorf(":each needs a select, relation or file field, not %q", id.Name())
			}
			if !f.IsMulti() {
				return planConst(p, raw, filter.ModNone)
			}
			items := make([]any, 0)
			for _, s := range schema.AsStrings(raw) {
				items = append(items, s)
			}
			p.steps = append(p.steps, step{kind: stepBodyEach, key: "@request.body." + name + ":each", items: items, multi: true})
			p.kind = valEach
			return p, nil
		case f != nil && len(path) == 3 && mod == filter.ModLength:
			if !isList(f) {
				return nil, errorf(":length needs a select, relation or file field, not %q", id.Name())
			}
			return planConst(p, len(schema.AsStrings(raw)), filter.ModNone)
		}
		v, ok := nested(body, path[2:])
		if mod == filter.ModIsset {
			return constBool(p, ok)
		}
		if f != nil && f.Type == schema.TypeNumber && len(path) == 3 {
			if s, isText := v.(string); isText {
				if n, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
					v = n
				}
			}
		}
		return planConst(p, v, mod)
	}
	return nil, errorf("unknown request field %q", id.Name())
}

// nested reads a value at keys inside maps and lists; ok is false when a key
// is missing.
func nested(v any, keys []string) (any, bool) {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		case []string:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		case json.RawMessage:
			var decoded any
			if json.Unmarshal(x, &decoded) != nil {
				return nil, false
			}
			return nested(decoded, keys)
		default:
			return nil, false
		}
	}
	return v, true
}

func sameValue(a, b any) bool {
	if ra, ok := a.(json.RawMessage); ok {
		a = string(ra)
	}
	if rb, ok := b.(json.RawMessage); ok {
		b = string(rb)
	}
	return reflect.DeepEqual(a, b)
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// sqlText converts a scalar to text as SQLite's LOWER() sees it.
func sqlText(s filter.Scalar) (string, bool) {
	if s.IsNull() {
		return "", false
	}
	if s.Kind() == filter.KindText {
		return s.Text(), true
	}
	// Numbers: render through a text comparison with the filter package's
	// own conversion.
	return filter.SQLText(s), true
}
