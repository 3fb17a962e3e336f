package postgres

import (
	"sync"

	"github.com/basalt-dev/basalt/internal/schema"
)

// tableCacheSize bounds the collection layouts a store remembers.
const tableCacheSize = 256

// tableCache remembers the layouts tableOf builds for the collections reads
// are made on, so that a hot read does not validate names and build its
// column list again. A cached layout is used only while the collection still
// has what it was built from (its name, and each field's pointer, name, type
// and multiplicity): a collection changed in place gets a fresh layout, so
// the cache never answers differently from tableOf. A nil cache builds a
// layout every time.
type tableCache struct {
	mu      sync.RWMutex
	entries map[*schema.Collection]*tableEntry
}

type tableEntry struct {
	tbl    *table
	name   string
	fields []fieldShape
}

// fieldShape is what tableOf reads from a field.
type fieldShape struct {
	field *schema.Field
	name  string
	typ   string
	multi bool
}

func newTableCache() *tableCache {
	return &tableCache{entries: map[*schema.Collection]*tableEntry{}}
}

// tableOf returns tableOf(c), from the cache when c is unchanged.
func (tc *tableCache) tableOf(c *schema.Collection) (*table, error) {
	if tc == nil || c == nil {
		return tableOf(c)
	}
	tc.mu.RLock()
	e := tc.entries[c]
	tc.mu.RUnlock()
	if e != nil && e.matches(c) {
		return e.tbl, nil
	}
	tbl, err := tableOf(c)
	if err != nil {
		return nil, err
	}
	e = &tableEntry{tbl: tbl, name: c.Name, fields: make([]fieldShape, len(c.Fields))}
	for i, f := range c.Fields {
		e.fields[i] = fieldShape{field: f, name: f.Name, typ: f.Type, multi: f.IsMulti()}
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if _, ok := tc.entries[c]; !ok && len(tc.entries) >= tableCacheSize {
		for old := range tc.entries { // map iteration starts at random
			delete(tc.entries, old)
			break
		}
	}
	tc.entries[c] = e
	return tbl, nil
}

// matches reports whether c still has what e's layout was built from.
func (e *tableEntry) matches(c *schema.Collection) bool {
	if c.Name != e.name || len(c.Fields) != len(e.fields) {
		return false
	}
	for i, f := range c.Fields {
		s := &e.fields[i]
		if f != s.field || f.Name != s.name || f.Type != s.typ || f.IsMulti() != s.multi {
			return false
		}
	}
	return true
}
