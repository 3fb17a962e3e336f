package logs

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/jsonenc"
)

// entry is a queued log record. The request path only clones the record;
// the writer turns it into a stored row (id, JSON data) off that path.
type entry struct {
	rec       slog.Record
	h         *handler // bound attributes and open groups
	requestID string
	// noIP and noAuthID leave the client IPs and the auth id out of the
	// stored data (logIP and logAuthId settings when it was queued).
	noIP, noAuthID bool
}

// dropped reports whether a top-level key is left out of the stored data.
func (e *entry) dropped(key string) bool {
	switch key {
	case "userIP", "remoteIP":
		return e.noIP
	case "authId":
		return e.noAuthID
	}
	return false
}

// kv is a top-level attribute of a flat entry.
type kv struct {
	key string
	val slog.Value
}

// flatKeys is the writer's scratch space for flat entries: their
// attributes, and the order in which the last entry's keys sort. Entries
// of one kind (the request log's) come with the same keys in the same
// order, so the order is worked out once and then only checked: sorting
// the keys of every entry cost a tenth of the writer's time.
type flatKeys struct {
	kvs []kv
	// keys are the keys of the entry perm was made for, perm the
	// positions of its attributes in ascending key order (stable).
	keys []string
	perm []int
}

// sorted returns the positions of f.kvs in ascending key order, equal keys
// in the order given.
func (f *flatKeys) sorted() []int {
	if len(f.keys) == len(f.kvs) {
		same := true
		for i, a := range f.kvs {
			if a.key != f.keys[i] {
				same = false
				break
			}
		}
		if same {
			return f.perm
		}
	}
	f.keys, f.perm = f.keys[:0], f.perm[:0]
	for i, a := range f.kvs {
		f.keys = append(f.keys, a.key)
		f.perm = append(f.perm, i)
	}
	slices.SortStableFunc(f.perm, func(x, y int) int { return strings.Compare(f.keys[x], f.keys[y]) })
	return f.perm
}

// appendData appends e's data as a JSON object to b. Flat records (no
// groups, the request log's shape) are encoded straight from their
// attributes, with f as scratch space; others go through a map. Either way
// keys are sorted and the last of duplicate keys wins, as when they were
// put in a map.
func (e *entry) appendData(b []byte, f *flatKeys) []byte {
	f.kvs = f.kvs[:0]
	flat := len(e.h.bound) == 0 && len(e.h.groups) == 0
	if flat {
		e.rec.Attrs(func(a slog.Attr) bool {
			v := a.Value.Resolve()
			if v.Kind() == slog.KindGroup {
				flat = false
				return false
			}
			if a.Key != "" && !e.dropped(a.Key) {
				f.kvs = append(f.kvs, kv{a.Key, v})
			}
			return true
		})
	}
	if !flat {
		data := e.h.data(e.rec, e.requestID)
		for _, k := range []string{"userIP", "remoteIP", "authId"} {
			if e.dropped(k) {
				delete(data, k)
			}
		}
		enc, err := json.Marshal(data)
		if err != nil {
			return append(b, "{}"...)
		}
		return append(b, enc...)
	}
	if e.requestID != "" {
		f.kvs = append(f.kvs, kv{RequestIDKey, slog.StringValue(e.requestID)})
	}
	perm := f.sorted()
	b = append(b, '{')
	first := true
	for i, p := range perm {
		a := f.kvs[p]
		if i+1 < len(perm) && f.kvs[perm[i+1]].key == a.key {
			continue // a later value replaces this one
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonenc.AppendString(b, a.key)
		b = append(b, ':')
		b = appendValue(b, a.val)
	}
	return append(b, '}')
}

// appendValue appends v as JSON, as plain converts it.
func appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return jsonenc.AppendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendFloat(b, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	}
	x := plain(v)
	if s, ok := x.(string); ok {
		return jsonenc.AppendString(b, s)
	}
	enc, err := json.Marshal(x)
	if err != nil {
		return jsonenc.AppendString(b, fmt.Sprint(x))
	}
	return append(b, enc...)
}

// appendFloat formats f as encoding/json does; NaN and infinities, which
// JSON cannot hold, become null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return jsonenc.AppendFloat(b, f)
}
