package graphql

import (
	"fmt"

	gql "github.com/graphql-go/graphql"

	"github.com/basalt-dev/basalt/internal/schema"
)

// Operations a schema offers for a collection; the public schema leaves out
// those whose rule is null (superusers only).
func (b *builder) allows(rule *string) bool { return b.super || rule != nil }

// roots creates the Query, Mutation and Subscription types.
func (b *builder) roots() (query, mutation, subscription *gql.Object) {
	qn, mn, sn := newNamer(), newNamer(), newNamer()
	qf, mf, sf := gql.Fields{}, gql.Fields{}, gql.Fields{}
	for _, c := range b.cols {
		ti := b.byID[c.ID]
		base := lowerFirst(ti.name)
		if b.allows(c.ViewRule) {
			qf[qn.name(base)] = &gql.Field{
				Type:        ti.object,
				Description: fmt.Sprintf("One %s record by id, if you may view it.", c.Name),
				Args:        gql.FieldConfigArgument{"id": {Type: gql.NewNonNull(gql.ID), Description: "The record id."}},
				Resolve:     viewResolver(c.Name),
			}
		}
		if b.allows(c.ListRule) {
			qf[qn.name(base+"List")] = &gql.Field{
				Type:        gql.NewNonNull(b.listType(ti)),
				Description: fmt.Sprintf("A page of the %s records you may list.", c.Name),
				Args: gql.FieldConfigArgument{
					"filter":    {Type: gql.String, Description: "A filter expression, as the REST filter parameter."},
					"sort":      {Type: gql.String, Description: `Sort fields, comma-separated, "-" for descending.`},
					"page":      {Type: gql.Int, Description: "The page number, from 1."},
					"perPage":   {Type: gql.Int, Description: "Records per page (default 30, at most 1000)."},
					"skipTotal": {Type: gql.Boolean, Description: "Skip counting: totalItems and totalPages are null."},
				},
				Resolve: listResolver(c.Name),
			}
			sub := sn.name(base + "Changed")
			b.subs[sub] = c
			sf[sub] = &gql.Field{
				Type:        gql.NewNonNull(b.eventType(ti)),
				Description: fmt.Sprintf("Changes of the %s records you may see, after they are committed.", c.Name),
				Args: gql.FieldConfigArgument{
					"id":     {Type: gql.ID, Description: "Only changes of this record."},
					"filter": {Type: gql.String, Description: "Only changes of records matching this filter expression."},
				},
				Resolve: eventResolver,
			}
		}
		if b.allows(c.CreateRule) {
			mf[mn.name("create"+ti.name)] = &gql.Field{
				Type:        ti.object,
				Description: fmt.Sprintf("Creates a %s record; null when you may not view the result.", c.Name),
				Args:        gql.FieldConfigArgument{"data": {Type: gql.NewNonNull(b.inputType(ti, true)), Description: "The new record's fields."}},
				Resolve:     createResolver(c.Name, b.inputNames(ti, true)),
			}
		}
		// A collection with nothing to change but its id has no update.
		if b.allows(c.UpdateRule) && len(b.inputNames(ti, false)) > 0 {
			mf[mn.name("update"+ti.name)] = &gql.Field{
				Type:        ti.object,
				Description: fmt.Sprintf("Updates a %s record; null when you may not view the result.", c.Name),
				Args: gql.FieldConfigArgument{
					"id":   {Type: gql.NewNonNull(gql.ID), Description: "The record id."},
					"data": {Type: gql.NewNonNull(b.inputType(ti, false)), Description: "The fields to change."},
				},
				Resolve: updateResolver(c.Name, b.inputNames(ti, false)),
			}
		}
		if b.allows(c.DeleteRule) {
			mf[mn.name("delete"+ti.name)] = &gql.Field{
				Type:        gql.NewNonNull(gql.Boolean),
				Description: fmt.Sprintf("Deletes a %s record.", c.Name),
				Args:        gql.FieldConfigArgument{"id": {Type: gql.NewNonNull(gql.ID), Description: "The record id."}},
				Resolve:     deleteResolver(c.Name),
			}
		}
	}
	if len(qf) == 0 {
		// A schema needs a query type with a field, even when no collection
		// is open to the caller.
		qf["_empty"] = &gql.Field{Type: gql.Boolean, Description: "Always null: no collection is open to you.",
			Resolve: func(gql.ResolveParams) (any, error) { return nil, nil }}
	}
	query = gql.NewObject(gql.ObjectConfig{Name: "Query", Fields: qf})
	mutation = gql.NewObject(gql.ObjectConfig{Name: "Mutation", Fields: mf})
	subscription = gql.NewObject(gql.ObjectConfig{Name: "Subscription", Fields: sf})
	return query, mutation, subscription
}

// listType is a page of records with its page info.
func (b *builder) listType(ti *typeInfo) *gql.Object {
	name := b.types.name(ti.name + "List")
	b.rels[name] = map[string]relation{"items": {target: ti.name, many: true}}
	return gql.NewObject(gql.ObjectConfig{
		Name:        name,
		Description: fmt.Sprintf("A page of %s records.", ti.c.Name),
		Fields: gql.Fields{
			"items":      {Type: gql.NewNonNull(gql.NewList(gql.NewNonNull(ti.object))), Resolve: dataResolver("items", nil)},
			"page":       {Type: gql.NewNonNull(gql.Int), Resolve: dataResolver("page", nil)},
			"perPage":    {Type: gql.NewNonNull(gql.Int), Resolve: dataResolver("perPage", nil)},
			"totalItems": {Type: gql.Int, Description: "Null when skipTotal is set.", Resolve: dataResolver("totalItems", nil)},
			"totalPages": {Type: gql.Int, Description: "Null when skipTotal is set.", Resolve: dataResolver("totalPages", nil)},
		},
	})
}

// eventType is one change of a record, as a subscription delivers it.
func (b *builder) eventType(ti *typeInfo) *gql.Object {
	name := b.types.name(ti.name + "Event")
	b.rels[name] = map[string]relation{"record": {target: ti.name}}
	return gql.NewObject(gql.ObjectConfig{
		Name:        name,
		Description: fmt.Sprintf("A committed change of a %s record.", ti.c.Name),
		Fields: gql.Fields{
			"action": {Type: gql.NewNonNull(gql.String), Description: `"create", "update" or "delete".`, Resolve: dataResolver("action", nil)},
			"record": {Type: gql.NewNonNull(ti.object), Resolve: dataResolver("record", nil)},
		},
	})
}

// inputType is the data argument of a create or update. Every field is
// optional in the type: the service decides what is required and answers
// per-field problems, as over REST.
func (b *builder) inputType(ti *typeInfo, create bool) *gql.InputObject {
	verb := "Update"
	if create {
		verb = "Create"
	}
	fields := gql.InputObjectConfigFieldMap{}
	for gname, fname := range b.inputNames(ti, create) {
		f := ti.c.Field(fname)
		var t gql.Input = gql.String
		if f != nil {
			switch f.Type {
			case schema.TypeNumber:
				t = gql.Float
			case schema.TypeBool:
				t = gql.Boolean
			case schema.TypeJSON:
				t = b.jsonT
			case schema.TypeDate:
				t = b.dateT
			case schema.TypeSelect, schema.TypeRelation:
				if f.IsMulti() {
					t = gql.NewList(gql.NewNonNull(gql.String))
				}
			}
		}
		fields[gname] = &gql.InputObjectFieldConfig{Type: t}
	}
	return gql.NewInputObject(gql.InputObjectConfig{
		Name:        b.types.name(ti.name + verb + "Input"),
		Description: fmt.Sprintf("The fields of a %s record to %s.", ti.c.Name, verb),
		Fields:      fields,
	})
}

// inputNames maps the input fields of a create or update to the keys the
// service reads: data field names, and for auth collections the password
// confirmation (and, on update, the old password).
func (b *builder) inputNames(ti *typeInfo, create bool) map[string]string {
	n := newNamer()
	out := map[string]string{}
	for _, f := range ti.c.Fields {
		if writable(ti.c, f, b.super) && (create || f.Name != "id") {
			out[n.name(f.Name)] = f.Name
		}
	}
	if ti.c.IsAuth() {
		out[n.name("passwordConfirm")] = "passwordConfirm"
		if !create {
			out[n.name("oldPassword")] = "oldPassword"
		}
	}
	return out
}
