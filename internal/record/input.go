package record

import (
	"fmt"
	"sort"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Input is the submitted data of a create or update: decoded body values by
// key (keys may carry the modifiers "field+", "+field" and "field-") and
// uploaded files by the same kind of key.
type Input struct {
	Data  map[string]any
	Files map[string][]Upload
	// ahead is the password work done before the transaction (nil: none).
	ahead *passwordWork
}

type modifier int

const (
	modSet modifier = iota
	modPrepend
	modAppend
	modSubtract
)

type change struct {
	field *schema.Field
	mod   modifier
	value any
	files []Upload
}

// splitKey returns the field name and modifier of a body key.
func splitKey(key string) (string, modifier) {
	switch {
	case strings.HasPrefix(key, "+"):
		return key[1:], modPrepend
	case strings.HasSuffix(key, "+"):
		return key[:len(key)-1], modAppend
	case strings.HasSuffix(key, "-"):
		return key[:len(key)-1], modSubtract
	}
	return key, modSet
}

// changes turns input into per-field changes in application order: plain
// sets first, then prepends, appends and removals. Keys that name no field
// are ignored; system-managed fields cannot be set, and hidden fields (other
// than passwords) only by superusers, so a client cannot grant itself a
// hidden role or flag that rules rely on.
func changes(c *schema.Collection, in Input, superuser bool) ([]change, apperr.FieldErrors) {
	fe := apperr.FieldErrors{}
	var out []change
	add := func(key string, value any, files []Upload) {
		name, mod := splitKey(key)
		f := c.Field(name)
		if f == nil || f.Type == schema.TypeAutodate || (f.Name == "tokenKey" && c.IsAuth()) {
			return
		}
		if f.Hidden && f.Type != schema.TypePassword && !superuser {
			return
		}
		if mod != modSet && !f.IsMulti() && f.Type != schema.TypeNumber && !(f.Type == schema.TypeFile && mod == modSubtract) {
			fe.Add(name, "validation_invalid_modifier", "The modifier is not supported by this field.")
			return
		}
		if f.Type == schema.TypeNumber && (mod == modPrepend) {
			fe.Add(name, "validation_invalid_modifier", "The modifier is not supported by this field.")
			return
		}
		if files != nil && f.Type != schema.TypeFile {
			fe.Add(name, "validation_invalid_value", "Files can only be uploaded to file fields.")
			return
		}
		out = append(out, change{field: f, mod: mod, value: value, files: files})
	}
	keys := make([]string, 0, len(in.Data))
	for k := range in.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, in.Data[k], nil)
	}
	fileKeys := make([]string, 0, len(in.Files))
	for k := range in.Files {
		fileKeys = append(fileKeys, k)
	}
	sort.Strings(fileKeys)
	for _, k := range fileKeys {
		add(k, nil, in.Files[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].mod < out[j].mod })
	return out, fe
}

// apply applies one change to r. Files are handled separately.
func apply(r *schema.Record, ch change) *apperr.Field {
	f := ch.field
	if ch.files != nil || f.Type == schema.TypeFile {
		return nil // see prepareFiles
	}
	if f.Type == schema.TypeNumber && ch.mod != modSet {
		delta, problem := f.Normalize(ch.value)
		if problem != nil {
			return problem
		}
		cur, _ := r.Data[f.Name].(float64)
		if ch.mod == modAppend {
			r.Data[f.Name] = cur + delta.(float64)
		} else {
			r.Data[f.Name] = cur - delta.(float64)
		}
		return nil
	}
	if f.Type == schema.TypePassword {
		// Passwords are hashed by the caller; keep the plain text for now.
		s, problem := f.Normalize(ch.value)
		if problem != nil {
			return problem
		}
		r.Data[f.Name] = s
		return nil
	}
	v, problem := f.Normalize(ch.value)
	if problem != nil {
		return problem
	}
	if ch.mod == modSet {
		r.Data[f.Name] = v
		return nil
	}
	cur := schema.AsStrings(r.Data[f.Name])
	vals := schema.AsStrings(v)
	var next []string
	switch ch.mod {
	case modPrepend:
		next = append(append([]string{}, vals...), cur...)
	case modAppend:
		next = append(append([]string{}, cur...), vals...)
	case modSubtract:
		drop := map[string]bool{}
		for _, s := range vals {
			drop[s] = true
		}
		for _, s := range cur {
			if !drop[s] {
				next = append(next, s)
			}
		}
	}
	nv, problem := f.Normalize(next)
	if problem != nil {
		return problem
	}
	r.Data[f.Name] = nv
	return nil
}

func fieldProblem(fe apperr.FieldErrors, name string, p *apperr.Field) {
	if p != nil {
		fe.Add(name, p.Code, p.Message)
	}
}

func describe(ids []string) string {
	if len(ids) > 5 {
		return fmt.Sprintf("%s and %d more", strings.Join(ids[:5], ", "), len(ids)-5)
	}
	return strings.Join(ids, ", ")
}
