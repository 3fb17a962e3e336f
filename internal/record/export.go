package record

import (
	"encoding/json"

	"github.com/basalt-dev/basalt/internal/schema"
)

// Export returns the client-facing JSON object of it for req: system keys,
// every visible field, and expanded relations. Passwords and token keys are
// never included; hidden fields only for superusers; an auth record's email
// only when it is public, requested by its owner, or by a superuser.
func Export(it *Item, req *Request) map[string]any {
	r := it.Record
	c := r.Collection
	out := make(map[string]any, len(c.Fields)+3)
	out["collectionId"] = c.ID
	out["collectionName"] = c.Name
	super := IsSuperuser(req)
	for _, f := range c.Fields {
		if f.Type == schema.TypePassword || (c.IsAuth() && f.Name == "tokenKey") {
			continue
		}
		if f.Hidden && !super {
			continue
		}
		if f.VisibleRule != "" && !fieldVisible(req, c, f) {
			continue
		}
		v := r.Data[f.Name]
		if raw, ok := v.(json.RawMessage); ok && raw == nil {
			v = nil
		}
		out[f.Name] = v
	}
	if c.IsAuth() && !super && !r.Bool("emailVisibility") && !isOwner(req, r) {
		delete(out, "email")
	}
	if len(it.Expand) > 0 {
		exp := make(map[string]any, len(it.Expand))
		for k, v := range it.Expand {
			switch x := v.(type) {
			case *Item:
				exp[k] = Export(x, req)
			case []*Item:
				list := make([]any, len(x))
				for i, sub := range x {
					list[i] = Export(sub, req)
				}
				exp[k] = list
			}
		}
		out["expand"] = exp
	}
	return out
}

func isOwner(req *Request, r *schema.Record) bool {
	return req != nil && req.Auth != nil && req.Auth.Collection.ID == r.Collection.ID && req.Auth.ID() == r.ID()
}
