package record

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Expansion limits.
const (
	maxExpandDepth     = 6
	maxExpandPaths     = 20
	maxBackRelationLen = 1000
	// backRelationChunk is how many records one back-relation query
	// looks up at once.
	backRelationChunk = 100
)

// expandTree is a parsed expand parameter: each key expands one relation and
// its children expand relations of the expanded records.
type expandTree map[string]expandTree

func parseExpand(s string) (expandTree, error) {
	root := expandTree{}
	paths := strings.Split(s, ",")
	if len(paths) > maxExpandPaths {
		return nil, apperr.New(apperr.Invalid, "Too many expand paths.")
	}
	for _, p := range paths {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		parts := strings.Split(p, ".")
		if len(parts) > maxExpandDepth {
			return nil, apperr.New(apperr.Invalid, "Expand paths can be at most 6 levels deep.")
		}
		node := root
		for _, part := range parts {
			if part == "" || !isIdent(part) {
				return nil, apperr.New(apperr.Invalid, "Invalid expand path "+p+".")
			}
			child, ok := node[part]
			if !ok {
				child = expandTree{}
				node[part] = child
			}
			node = child
		}
	}
	return root, nil
}

func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// expand fills items' Expand maps. Relations that cannot be resolved
// (unknown names, hidden targets) are silently left out, as clients expect.
func (s *Service) expand(ctx context.Context, req *Request, items []*Item, param string) error {
	tree, err := parseExpand(param)
	if err != nil {
		return err
	}
	return s.expandLevel(ctx, req, items, tree)
}

func (s *Service) expandLevel(ctx context.Context, req *Request, items []*Item, tree expandTree) error {
	if len(items) == 0 {
		return nil
	}
	c := items[0].Record.Collection
	names := make([]string, 0, len(tree))
	for name := range tree {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var err error
		if f := c.Field(name); f != nil && f.Type == schema.TypeRelation {
			err = s.expandRelation(ctx, req, items, f, tree[name])
		} else if target, field, ok := strings.Cut(name, "_via_"); ok {
			err = s.expandBack(ctx, req, items, name, target, field, tree[name])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// visible fetches records of c by id that req may view.
func (s *Service) visible(ctx context.Context, req *Request, c *schema.Collection, ids []string, extra []string, limit int) ([]*schema.Record, error) {
	filters, err := ruleFilters(c.ViewRule, req)
	if err != nil {
		return nil, nil // superusers-only target: not expandable for req
	}
	sub := *req
	sub.Context = "expand"
	q := s.query(c, &sub)
	q.IDs, q.Filters, q.Limit = ids, append(filters, extra...), limit
	return s.store.FindRecords(ctx, q)
}

func (s *Service) expandRelation(ctx context.Context, req *Request, items []*Item, f *schema.Field, children expandTree) error {
	target := s.cols.Lookup(f.CollectionID)
	if target == nil {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, it := range items {
		for _, id := range schema.AsStrings(it.Record.Data[f.Name]) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	found, err := s.visible(ctx, req, target, ids, nil, 0)
	if err != nil {
		return err
	}
	byID := make(map[string]*Item, len(found))
	related := make([]*Item, 0, len(found))
	for _, r := range found {
		it := &Item{Record: r}
		byID[r.ID()] = it
		related = append(related, it)
	}
	if len(children) > 0 {
		if err := s.expandLevel(ctx, req, related, children); err != nil {
			return err
		}
	}
	for _, it := range items {
		var list []*Item
		for _, id := range schema.AsStrings(it.Record.Data[f.Name]) {
			if rel, ok := byID[id]; ok {
				list = append(list, rel)
			}
		}
		if len(list) == 0 {
			continue
		}
		if it.Expand == nil {
			it.Expand = map[string]any{}
		}
		if f.IsMulti() {
			it.Expand[f.Name] = list
		} else {
			it.Expand[f.Name] = list[0]
		}
	}
	return nil
}

// expandBack expands "<target>_via_<field>": the records of target whose
// relation field points at each item.
func (s *Service) expandBack(ctx context.Context, req *Request, items []*Item, key, targetName, fieldName string, children expandTree) error {
	target := s.cols.Lookup(targetName)
	if target == nil {
		return nil
	}
	f := target.Field(fieldName)
	if f == nil || f.Type != schema.TypeRelation || f.CollectionID != items[0].Record.Collection.ID {
		return nil
	}
	filters, err := ruleFilters(target.ViewRule, req)
	if err != nil {
		return nil // superusers-only target: not expandable for req
	}
	// A unique single relation back-points to at most one record.
	single := !f.IsMulti() && hasUniqueIndexOn(target, f.Name)
	// One query per chunk of items (not per item): the records of target
	// pointing at any of them, grouped by the item they point at.
	for start := 0; start < len(items); start += backRelationChunk {
		chunk := items[start:min(start+backRelationChunk, len(items))]
		byID := make(map[string]*Item, len(chunk))
		conds := make([]string, 0, len(chunk))
		params := make(map[string]any, len(chunk))
		for i, it := range chunk {
			id := it.Record.ID()
			if _, dup := byID[id]; dup {
				continue
			}
			byID[id] = it
			p := "basalt_via_" + strconv.Itoa(i)
			conds = append(conds, f.Name+" ?= {:"+p+"}")
			params[p] = id
		}
		sub := *req
		sub.Context = "expand"
		q := s.query(target, &sub)
		q.Filters = append(append([]string(nil), filters...), strings.Join(conds, " || "))
		q.Params = params
		q.Limit = maxBackRelationLen * len(byID)
		found, err := s.store.FindRecords(ctx, q)
		if err != nil {
			return err
		}
		related := map[string][]*Item{}
		var all []*Item
		for _, r := range found {
			rel := &Item{Record: r}
			all = append(all, rel)
			for _, id := range schema.AsStrings(r.Data[f.Name]) {
				if _, ok := byID[id]; ok && len(related[id]) < maxBackRelationLen {
					related[id] = append(related[id], rel)
				}
			}
		}
		if len(children) > 0 && len(all) > 0 {
			if err := s.expandLevel(ctx, req, all, children); err != nil {
				return err
			}
		}
		for _, it := range chunk {
			list := related[it.Record.ID()]
			if len(list) == 0 {
				continue
			}
			if it.Expand == nil {
				it.Expand = map[string]any{}
			}
			if single {
				it.Expand[key] = list[0]
			} else {
				it.Expand[key] = list
			}
		}
	}
	return nil
}

func hasUniqueIndexOn(c *schema.Collection, field string) bool {
	for _, idx := range c.Indexes {
		u := strings.ToUpper(idx)
		if strings.Contains(u, "UNIQUE") && (strings.Contains(idx, "(`"+field+"`)") || strings.Contains(idx, "("+field+")")) {
			return true
		}
	}
	return false
}
