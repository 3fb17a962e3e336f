package webhook

import (
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/store"
)

// saveAudit describes a created or updated webhook for the audit log: its
// settings without the signing secrets, and whether the secret changed.
func saveAudit(action string, w *store.Webhook, rotated bool) audit.Entry {
	actions := make([]string, len(w.Actions))
	for i, a := range w.Actions {
		actions[i] = string(a)
	}
	return audit.Entry{Action: action, Target: w.ID, Detail: map[string]any{
		"url": w.URL, "collections": nonNil(w.Collections), "actions": actions,
		"filter": w.Filter, "enabled": w.Enabled, "secretChanged": rotated}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
