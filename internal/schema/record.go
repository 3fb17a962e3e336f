package schema

// Record is one row of a collection. Data holds canonical values by field
// name (see Normalize); every field of the collection has an entry.
type Record struct {
	Collection *Collection
	Data       map[string]any
}

// NewRecord returns a record of c with every field at its zero value.
func NewRecord(c *Collection) *Record {
	r := &Record{Collection: c, Data: make(map[string]any, len(c.Fields))}
	for _, f := range c.Fields {
		r.Data[f.Name] = f.Zero()
	}
	return r
}

// ID returns the record's id.
func (r *Record) ID() string {
	s, _ := r.Data["id"].(string)
	return s
}

// String returns the value of a text-like field, or "".
func (r *Record) String(name string) string {
	s, _ := r.Data[name].(string)
	return s
}

// Bool returns the value of a bool field, or false.
func (r *Record) Bool(name string) bool {
	b, _ := r.Data[name].(bool)
	return b
}

// Clone returns a copy of r whose Data map (and list values) can be changed
// without affecting r.
func (r *Record) Clone() *Record {
	out := &Record{Collection: r.Collection, Data: make(map[string]any, len(r.Data))}
	for k, v := range r.Data {
		if list, ok := v.([]string); ok {
			v = append([]string{}, list...)
		}
		out.Data[k] = v
	}
	return out
}
