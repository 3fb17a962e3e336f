package sqlfilter

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"

	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Data gives the in-memory resolver the records it may need besides the one
// being evaluated: related records, back-related records and @collection
// rows.
type Data interface {
	// Records returns every record of c, always in the same order.
	Records(c *schema.Collection) []*schema.Record
}

// MemoryResolver is a [filter.Resolver] for one record that reads values the
// way the compiled SQL reads them from the SQLite store, so that
// [filter.Env.Eval] with it and the compiled filter agree.
type MemoryResolver struct {
	Source *Source
	Data   Data
	Record *schema.Record
	// Client marks the evaluated expression as client input, held to what
	// the client may read as Input.Client is; otherwise it is trusted, as
	// Input.Trusted is. A private email's items are [filter.Item.Masked]
	// where the record does not show it.
	Client bool
}

var _ filter.Resolver = (*MemoryResolver)(nil)

// frame is one joined row while walking a path: the current record (nil for
// the NULL row of a LEFT JOIN) and the multi-row joins it came through.
type frame struct {
	rec  *schema.Record
	rows []filter.Row
	item filter.Scalar // stepEach, stepBodyEach
}

// Resolve implements filter.Resolver.
func (m *MemoryResolver) Resolve(id *filter.Identifier) (filter.Value, error) {
	p, err := planOf(m.Source, id, m.Client)
	if err != nil {
		return filter.Value{}, err
	}
	if p.isConst() {
		return filter.Constant(p.constant), nil
	}
	frames := []frame{{rec: m.Record}}
	for _, s := range p.steps {
		var next []frame
		for _, f := range frames {
			next = append(next, m.step(s, f)...)
		}
		frames = next
	}
	v := filter.Value{Multi: p.multi(), Affinity: p.affinity(), Strict: p.strict()}
	for _, f := range frames {
		sc := m.value(p, f)
		if p.lower && !sc.IsNull() {
			sc = filter.Text(asciiLower(filter.SQLText(sc)))
		}
		v.Items = append(v.Items, filter.Item{Scalar: sc, Rows: f.rows, Masked: p.private && !shown(p, f.rec)})
	}
	return v, nil
}

// shown reports whether rec's visibility field is true, as the SQL guard of a
// private email tests it; the NULL row of a LEFT JOIN shows nothing.
func shown(p *plan, rec *schema.Record) bool {
	if rec == nil || p.visibility == nil {
		return false
	}
	v := StoredScalar(p.visibility, rec.Data[p.visibility.Name])
	return v.Kind() == filter.KindInt && v.Int() == 1
}

func (m *MemoryResolver) find(c *schema.Collection, id string) *schema.Record {
	if c == nil || id == "" {
		return nil
	}
	for _, r := range m.Data.Records(c) {
		if r.ID() == id {
			return r
		}
	}
	return nil
}

func with(rows []filter.Row, key string, i int) []filter.Row {
	return append(slices.Clip(rows), filter.Row{Join: key, Index: i})
}

// spread turns the candidate records of a multi-row join into frames, one
// NULL frame when there are none.
func spread(f frame, key string, recs []*schema.Record) []frame {
	if len(recs) == 0 {
		return []frame{{rows: with(f.rows, key, -1)}}
	}
	out := make([]frame, len(recs))
	for i, r := range recs {
		out[i] = frame{rec: r, rows: with(f.rows, key, i)}
	}
	return out
}

func (m *MemoryResolver) step(s step, f frame) []frame {
	switch s.kind {
	case stepRel:
		var ids []string
		if f.rec != nil {
			ids = schema.AsStrings(f.rec.Data[s.field.Name])
		}
		if !s.multi {
			var id string
			if len(ids) > 0 {
				id = ids[0]
			}
			return []frame{{rec: m.find(s.coll, id), rows: f.rows}}
		}
		if len(ids) == 0 {
			return []frame{{rows: with(f.rows, s.key, -1)}}
		}
		out := make([]frame, len(ids))
		for i, id := range ids {
			out[i] = frame{rec: m.find(s.coll, id), rows: with(f.rows, s.key, i)}
		}
		return out
	case stepBack:
		var recs []*schema.Record
		if f.rec != nil {
			for _, r := range m.Data.Records(s.coll) {
				if slices.Contains(schema.AsStrings(r.Data[s.field.Name]), f.rec.ID()) {
					recs = append(recs, r)
				}
			}
		}
		return spread(f, s.key, recs)
	case stepEach:
		var items []string
		if f.rec != nil {
			items = schema.AsStrings(f.rec.Data[s.field.Name])
		}
		if len(items) == 0 {
			return []frame{{rows: with(f.rows, s.key, -1)}}
		}
		out := make([]frame, len(items))
		for i, it := range items {
			out[i] = frame{item: filter.Text(it), rows: with(f.rows, s.key, i)}
		}
		return out
	case stepCollection:
		return spread(f, s.key, m.Data.Records(s.coll))
	case stepAuth:
		return []frame{{rec: m.find(s.coll, s.ids[0]), rows: f.rows}}
	case stepBodyRel:
		var recs []*schema.Record
		for _, r := range m.Data.Records(s.coll) {
			if slices.Contains(s.ids, r.ID()) {
				recs = append(recs, r)
			}
		}
		if !s.multi {
			var r *schema.Record
			if len(recs) > 0 {
				r = recs[0]
			}
			return []frame{{rec: r, rows: f.rows}}
		}
		return spread(f, s.key, recs)
	case stepBodyEach:
		if len(s.items) == 0 {
			return []frame{{rows: with(f.rows, s.key, -1)}}
		}
		out := make([]frame, len(s.items))
		for i, it := range s.items {
			out[i] = frame{item: filter.ScalarOf(it), rows: with(f.rows, s.key, i)}
		}
		return out
	}
	return []frame{f}
}

// value is the value at the end of the path for one frame.
func (m *MemoryResolver) value(p *plan, f frame) filter.Scalar {
	if p.kind == valEach {
		return f.item
	}
	if f.rec == nil {
		return filter.Null
	}
	raw := f.rec.Data[p.field.Name]
	switch p.kind {
	case valLength:
		return filter.Int(int64(len(schema.AsStrings(raw))))
	case valOne:
		return filter.Bool(len(schema.AsStrings(raw)) > 0 && schema.AsStrings(raw)[0] != "")
	case valJSON:
		return jsonExtract(raw, p.jsonPath)
	}
	return StoredScalar(p.field, raw)
}

// StoredScalar is the SQL value the SQLite store keeps for a canonical field
// value: NUMERIC columns keep integral numbers as integers, bools are 0/1,
// lists are JSON arrays, everything else is text.
func StoredScalar(f *schema.Field, v any) filter.Scalar {
	switch f.Type {
	case schema.TypeNumber:
		n, _ := v.(float64)
		if n == math.Trunc(n) && math.Abs(n) < 1<<63 {
			return filter.Int(int64(n))
		}
		return filter.Real(n)
	case schema.TypeBool:
		b, _ := v.(bool)
		return filter.Bool(b)
	case schema.TypeJSON:
		raw, _ := v.(json.RawMessage)
		if raw == nil {
			return filter.Null
		}
		return filter.Text(string(raw))
	}
	if f.IsMulti() {
		list := schema.AsStrings(v)
		if list == nil {
			list = []string{}
		}
		b, _ := json.Marshal(list)
		return filter.Text(string(b))
	}
	s, _ := v.(string)
	return filter.Text(s)
}

// jsonExtract is SQLite's json_extract(raw, path) for the paths the planner
// builds ($, .key and [index] steps).
func jsonExtract(v any, path string) filter.Scalar {
	raw, _ := v.(json.RawMessage)
	if raw == nil {
		return filter.Null
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return filter.Null
	}
	cur := doc
	for i := 1; i < len(path); {
		switch path[i] {
		case '.':
			j := i + 1
			for j < len(path) && path[j] != '.' && path[j] != '[' {
				j++
			}
			obj, ok := cur.(map[string]any)
			if !ok {
				return filter.Null
			}
			if cur, ok = obj[path[i+1:j]]; !ok {
				return filter.Null
			}
			i = j
		case '[':
			j := i + 1
			n := 0
			for j < len(path) && path[j] != ']' {
				n = n*10 + int(path[j]-'0')
				j++
			}
			arr, ok := cur.([]any)
			if !ok || n >= len(arr) {
				return filter.Null
			}
			cur = arr[n]
			i = j + 1
		default:
			return filter.Null
		}
	}
	switch x := cur.(type) {
	case nil:
		return filter.Null
	case bool:
		return filter.Bool(x)
	case string:
		return filter.Text(x)
	case json.Number:
		return filter.ScalarOf(x)
	}
	b, _ := json.Marshal(cur)
	return filter.Text(string(b))
}
