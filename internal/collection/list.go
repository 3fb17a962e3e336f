package collection

import (
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Matching returns the collections that satisfy a filter expression over
// their id, name, type, system, created and updated keys ("" matches all).
func (s *Service) Matching(expr string) ([]*schema.Collection, error) {
	all := s.registry.All()
	if strings.TrimSpace(expr) == "" {
		return all, nil
	}
	e, err := filter.Parse(expr)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, "Invalid filter parameters.", err)
	}
	out := make([]*schema.Collection, 0, len(all))
	for _, c := range all {
		ok, err := filter.Eval(e, filter.ResolverFunc(func(id *filter.Identifier) (filter.Value, error) {
			return collectionKey(c, id)
		}))
		if err != nil {
			return nil, apperr.Wrap(apperr.Invalid, "Invalid filter parameters.", err)
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func collectionKey(c *schema.Collection, id *filter.Identifier) (filter.Value, error) {
	if id.Len() == 1 {
		switch id.Segment(0) {
		case "id":
			return filter.Column(filter.Text(c.ID), filter.AffinityText), nil
		case "name":
			return filter.Column(filter.Text(c.Name), filter.AffinityText), nil
		case "type":
			return filter.Column(filter.Text(c.Type), filter.AffinityText), nil
		case "created":
			return filter.Column(filter.Text(c.Created), filter.AffinityText), nil
		case "updated":
			return filter.Column(filter.Text(c.Updated), filter.AffinityText), nil
		case "system":
			return filter.Column(filter.Bool(c.System), filter.AffinityNumeric), nil
		}
	}
	return filter.Value{}, apperr.New(apperr.Invalid, "Unknown filter field "+id.Name()+".")
}
