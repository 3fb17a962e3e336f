package collection

import (
	"strings"

	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/schema"
)

// saveAudit describes a create (prev nil) or update for the audit log. A
// definition can hold secrets (token secrets of auth collections), so the
// detail names the collection and what kind of change it was, never the
// definition itself.
func saveAudit(prev, next *schema.Collection) audit.Entry {
	d := map[string]any{"id": next.ID, "name": next.Name, "type": next.Type}
	if prev == nil {
		return audit.Entry{Action: "collection.create", Target: next.Name, Detail: d}
	}
	if !strings.EqualFold(prev.Name, next.Name) {
		d["prevName"] = prev.Name
	}
	d["fields"] = len(next.Fields)
	return audit.Entry{Action: "collection.update", Target: next.Name, Detail: d}
}

// deleteAudit describes a deletion for the audit log.
func deleteAudit(c *schema.Collection) audit.Entry {
	return audit.Entry{Action: "collection.delete", Target: c.Name,
		Detail: map[string]any{"id": c.ID, "name": c.Name, "type": c.Type}}
}

// importAudit describes an import for the audit log by the names it
// created, updated and deleted.
func importAudit(created, updated, deleted []string, deleteMissing bool) audit.Entry {
	return audit.Entry{Action: "collection.import", Detail: map[string]any{
		"created": nonNil(created), "updated": nonNil(updated), "deleted": nonNil(deleted),
		"deleteMissing": deleteMissing}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
