package graphql

import (
	"fmt"
	"sort"
	"strings"

	gql "github.com/graphql-go/graphql"

	"github.com/basalt-dev/basalt/internal/schema"
)

// built is one generated schema with what the resolvers and the limits need
// to know about it beyond graphql-go's types.
type built struct {
	schema gql.Schema
	// rels lists, per object type, the fields that continue into another
	// collection's records: the expand path they add (""  for a page's
	// items) and the object type they lead to.
	rels map[string]map[string]relation
	// subs maps each subscription root field to its collection.
	subs map[string]*schema.Collection
	// docs keeps the documents validated against this schema.
	docs *docCache
}

// relation is a nested field: key is its expand key ("author",
// "comments_via_post"), or "" for a list page's items; target is the type
// name of the records it holds; many reports whether it holds a list.
type relation struct {
	key, target string
	many        bool
}

// exposed reports whether the public schema (for every caller but
// superusers) shows c: some API rule of c lets a non-superuser in.
func exposed(c *schema.Collection) bool {
	return c.ListRule != nil || c.ViewRule != nil || c.CreateRule != nil || c.UpdateRule != nil || c.DeleteRule != nil
}

// readable reports whether a data field is shown to clients at all in the
// given schema: passwords and token keys never, hidden fields to superusers
// only (as record.Export decides per record).
func readable(c *schema.Collection, f *schema.Field, super bool) bool {
	if f.Type == schema.TypePassword || (c.IsAuth() && f.Name == "tokenKey") {
		return false
	}
	return super || !f.Hidden
}

// writable reports whether a field appears in the mutation inputs.
func writable(c *schema.Collection, f *schema.Field, super bool) bool {
	if f.Type == schema.TypeAutodate || f.Type == schema.TypeFile || (c.IsAuth() && f.Name == "tokenKey") {
		return false
	}
	return super || !f.Hidden || f.Type == schema.TypePassword
}

// typeInfo is what the builder knows about one collection's object type.
type typeInfo struct {
	c      *schema.Collection
	name   string // GraphQL type name
	object *gql.Object
	// fieldNames maps data field names to their GraphQL field names.
	fieldNames map[string]string
}

type builder struct {
	super bool
	cols  []*schema.Collection
	byID  map[string]*typeInfo
	types *namer
	jsonT *gql.Scalar
	dateT *gql.Scalar
	rels  map[string]map[string]relation
	subs  map[string]*schema.Collection
}

// build generates the schema for the given collections: the superuser
// schema shows every collection and field a superuser may read; the public
// one only collections with a non-null API rule, only the operations whose
// rule is not null, and never hidden fields.
func build(all []*schema.Collection, super bool) (*built, error) {
	b := &builder{
		super: super, byID: map[string]*typeInfo{},
		types: newNamer("Query", "Mutation", "Subscription", "JSON", "DateTime", "String", "Int", "Float",
			"Boolean", "ID", "Action"),
		jsonT: newJSONScalar(), dateT: newDateTimeScalar(),
		rels: map[string]map[string]relation{}, subs: map[string]*schema.Collection{},
	}
	for _, c := range all {
		if super || exposed(c) {
			b.cols = append(b.cols, c)
		}
	}
	// Names are handed out in a fixed order (collection name, then id) so
	// that the same collections always give the same schema.
	// Names without a leading underscore come first, so that "posts"
	// keeps the type Posts when "_posts" exists too.
	sort.Slice(b.cols, func(i, j int) bool {
		ui, uj := strings.HasPrefix(b.cols[i].Name, "_"), strings.HasPrefix(b.cols[j].Name, "_")
		if ui != uj {
			return uj
		}
		if b.cols[i].Name != b.cols[j].Name {
			return b.cols[i].Name < b.cols[j].Name
		}
		return b.cols[i].ID < b.cols[j].ID
	})
	for _, c := range b.cols {
		ti := &typeInfo{c: c, name: b.types.name(typeName(c.Name)), fieldNames: map[string]string{}}
		b.byID[c.ID] = ti
	}
	for _, c := range b.cols {
		b.object(b.byID[c.ID])
	}
	query, mutation, subscription := b.roots()
	cfg := gql.SchemaConfig{Query: query}
	if len(mutation.Fields()) > 0 {
		cfg.Mutation = mutation
	}
	if len(subscription.Fields()) > 0 {
		cfg.Subscription = subscription
	}
	s, err := gql.NewSchema(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the GraphQL schema: %w", err)
	}
	return &built{schema: s, rels: b.rels, subs: b.subs, docs: newDocCache(maxCachedDocs)}, nil
}

// object creates the object type of one collection. Its fields are a thunk:
// relations refer to types that may not exist yet.
func (b *builder) object(ti *typeInfo) {
	c := ti.c
	fields := newNamer("collectionId", "collectionName")
	rels := map[string]relation{}
	b.rels[ti.name] = rels
	// Fields are made inside the thunk: nested ones need target types that
	// may not exist yet.
	type spec struct {
		name  string
		field func() *gql.Field
	}
	var specs []spec
	// Data fields first (so they keep their names), then relation ids and
	// nested records, then back-relations.
	for _, f := range c.Fields {
		if !readable(c, f, b.super) {
			continue
		}
		if f.Type == schema.TypeRelation && b.byID[f.CollectionID] != nil {
			continue // named below, as a nested record
		}
		name := fields.name(f.Name)
		ti.fieldNames[f.Name] = name
		specs = append(specs, spec{name, func() *gql.Field { return b.dataField(c, f) }})
	}
	for _, f := range c.Fields {
		if !readable(c, f, b.super) || f.Type != schema.TypeRelation || b.byID[f.CollectionID] == nil {
			continue
		}
		name := fields.name(f.Name)
		ti.fieldNames[f.Name] = name
		target := b.byID[f.CollectionID]
		rels[name] = relation{key: f.Name, target: target.name, many: f.IsMulti()}
		specs = append(specs, spec{name, func() *gql.Field { return b.nestedField(f.Name, target, f.IsMulti(), relationDoc(f, target)) }})
		suffix := "Id"
		if f.IsMulti() {
			suffix = "Ids"
		}
		idName := fields.name(f.Name + suffix)
		specs = append(specs, spec{idName, func() *gql.Field { return b.dataField(c, f) }})
	}
	for _, other := range b.cols {
		for _, f := range other.Fields {
			if f.Type != schema.TypeRelation || f.CollectionID != c.ID || !readable(other, f, b.super) {
				continue
			}
			key := other.Name + "_via_" + f.Name
			// A unique single relation points back at one record at most.
			many := f.IsMulti() || !uniqueIndexOn(other, f.Name)
			name := fields.name(key)
			src := b.byID[other.ID]
			rels[name] = relation{key: key, target: src.name, many: many}
			doc := fmt.Sprintf("The %s records whose %s relation points at this record (expand %q over REST).", other.Name, f.Name, key)
			specs = append(specs, spec{name, func() *gql.Field { return b.nestedField(key, src, many, doc) }})
		}
	}
	ti.object = gql.NewObject(gql.ObjectConfig{
		Name:        ti.name,
		Description: fmt.Sprintf("A record of the %s collection.", c.Name),
		Fields: gql.FieldsThunk(func() gql.Fields {
			out := gql.Fields{
				"collectionId":   {Type: gql.NewNonNull(gql.String), Resolve: dataResolver("collectionId", nil)},
				"collectionName": {Type: gql.NewNonNull(gql.String), Resolve: dataResolver("collectionName", nil)},
			}
			for _, s := range specs {
				out[s.name] = s.field()
			}
			return out
		}),
	})
}

func relationDoc(f *schema.Field, target *typeInfo) string {
	return fmt.Sprintf("The %s record(s) of the %s relation that you may view.", target.c.Name, f.Name)
}

// uniqueIndexOn reports whether c has a unique index on field alone.
func uniqueIndexOn(c *schema.Collection, field string) bool {
	for _, idx := range c.Indexes {
		if strings.Contains(strings.ToUpper(idx), "UNIQUE") &&
			(strings.Contains(idx, "(`"+field+"`)") || strings.Contains(idx, "("+field+")")) {
			return true
		}
	}
	return false
}

// dataField returns the GraphQL field of one stored value. Values that a
// record may leave out for some callers (fields with a visibleRule, an auth
// record's email) are nullable; the others are not.
func (b *builder) dataField(c *schema.Collection, f *schema.Field) *gql.Field {
	var t gql.Output
	nullable := f.VisibleRule != "" || (c.IsAuth() && f.Name == "email")
	switch f.Type {
	case schema.TypeNumber:
		t = gql.Float
	case schema.TypeBool:
		t = gql.Boolean
	case schema.TypeJSON:
		t, nullable = b.jsonT, true
	case schema.TypeDate, schema.TypeAutodate:
		t, nullable = b.dateT, true
	case schema.TypeSelect, schema.TypeRelation, schema.TypeFile:
		t = gql.String
		if f.IsMulti() {
			t = gql.NewList(gql.NewNonNull(gql.String))
		}
	default:
		t = gql.String
		if f.Name == "id" {
			t = gql.ID
		}
	}
	if !nullable {
		t = gql.NewNonNull(t)
	}
	return &gql.Field{Type: t, Description: fieldDoc(f), Resolve: dataResolver(f.Name, f)}
}

func fieldDoc(f *schema.Field) string {
	doc := f.Type + " field " + f.Name
	switch {
	case f.Type == schema.TypeSelect && len(f.Values) > 0:
		doc += " (one of: " + strings.Join(f.Values, ", ") + ")"
	case f.Type == schema.TypeRelation:
		doc += " (record ids)"
	case f.Type == schema.TypeFile:
		doc += " (file names)"
	}
	if f.Help != "" {
		doc += ": " + f.Help
	}
	return doc
}

// nestedField returns the field of a relation or back-relation: the related
// records the caller may view, as the service expands them.
func (b *builder) nestedField(key string, target *typeInfo, many bool, doc string) *gql.Field {
	f := &gql.Field{Description: doc, Resolve: expandResolver(key, many)}
	if many {
		f.Type = gql.NewNonNull(gql.NewList(gql.NewNonNull(target.object)))
	} else {
		f.Type = target.object
	}
	return f
}
