package rest

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/basalt-dev/basalt/internal/jsonenc"
	"github.com/basalt-dev/basalt/internal/record"
)

// Records are the bulk of most responses. They are encoded straight from
// the service's records through a record.Exporter, byte for byte what
// encoding the map of record.Export gives, without building that map and
// sorting its keys per record. Responses that apply "fields" still go
// through the map (pickFields works on it).

// appendItem appends the JSON object of it as e's caller sees it. A
// cached record is encoded once per view and then copied from its Memo.
func appendItem(dst []byte, e *record.Exporter, it *record.Item, depth int) ([]byte, error) {
	if it.Memo == nil {
		return encodeItem(dst, e, it, depth)
	}
	view, ok := e.View(it)
	if !ok {
		return encodeItem(dst, e, it, depth)
	}
	if data := it.Memo.Load(view); data != nil {
		return append(dst, data...), nil
	}
	start := len(dst)
	dst, err := encodeItem(dst, e, it, depth)
	if err == nil {
		it.Memo.Store(view, slices.Clone(dst[start:]))
	}
	return dst, err
}

// encodeItem appends the JSON object of it as e's caller sees it.
func encodeItem(dst []byte, e *record.Exporter, it *record.Item, depth int) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	err := e.Each(it, func(key string, v any) error {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonenc.AppendString(dst, key)
		dst = append(dst, ':')
		var err error
		if key == "expand" {
			dst, err = appendExpand(dst, e, it.Expand, depth+1)
		} else {
			dst, err = jsonenc.Append(dst, v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return append(dst, '}'), nil
}

// appendExpand appends the "expand" object of a record: its keys sorted,
// each an item or a list of items. Its depth is bounded by the service's
// expand depth limit.
func appendExpand(dst []byte, e *record.Exporter, expand map[string]any, depth int) ([]byte, error) {
	keys := make([]string, 0, len(expand))
	for k, v := range expand {
		switch v.(type) {
		case *record.Item, []*record.Item:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		switch x := expand[k].(type) {
		case *record.Item:
			dst, err = appendItem(dst, e, x, depth+1)
		case []*record.Item:
			dst, err = appendItems(dst, e, x, depth+1)
		}
		if err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendItems appends a JSON array of items.
func appendItems(dst []byte, e *record.Exporter, items []*record.Item, depth int) ([]byte, error) {
	dst = append(dst, '[')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendItem(dst, e, it, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

// respondItem answers 200 with one record as req's caller sees it.
func (s *server) respondItem(w http.ResponseWriter, r *http.Request, it *record.Item, req *record.Request) {
	if r.URL.Query().Has("fields") {
		s.respond(w, r, http.StatusOK, record.Export(it, req))
		return
	}
	e := s.Records.NewExporter(req)
	writeEncoded(w, http.StatusOK, func(dst []byte) ([]byte, error) { return appendItem(dst, e, it, 0) })
}

// respondList answers 200 with a page of records as req's caller sees
// them, in the list envelope (keys in encoding/json's order).
func (s *server) respondList(w http.ResponseWriter, r *http.Request, res *record.ListResult, req *record.Request) {
	if r.URL.Query().Has("fields") {
		items := make([]any, len(res.Items))
		for i, it := range res.Items {
			items[i] = record.Export(it, req)
		}
		s.respond(w, r, http.StatusOK, map[string]any{
			"page": res.Page, "perPage": res.PerPage, "totalItems": res.TotalItems,
			"totalPages": res.TotalPages, "items": items,
		})
		return
	}
	e := s.Records.NewExporter(req)
	writeEncoded(w, http.StatusOK, func(dst []byte) ([]byte, error) {
		dst = append(dst, `{"items":`...)
		dst, err := appendItems(dst, e, res.Items, 0)
		if err != nil {
			return nil, err
		}
		dst = append(dst, `,"page":`...)
		dst = strconv.AppendInt(dst, int64(res.Page), 10)
		dst = append(dst, `,"perPage":`...)
		dst = strconv.AppendInt(dst, int64(res.PerPage), 10)
		dst = append(dst, `,"totalItems":`...)
		dst = strconv.AppendInt(dst, res.TotalItems, 10)
		dst = append(dst, `,"totalPages":`...)
		dst = strconv.AppendInt(dst, res.TotalPages, 10)
		return append(dst, '}'), nil
	})
}
