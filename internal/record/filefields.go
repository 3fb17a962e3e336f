package record

import (
	"context"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// pendingFiles are uploads accepted for one field, with their stored names.
type pendingFiles struct {
	field   *schema.Field
	names   []string
	uploads []Upload
}

// prepareFiles computes the new value of every file field of r from the
// file changes, validates the uploads and returns what must be stored.
// A plain key replaces the field's files (listed existing names are kept),
// "field+"/"+field" append/prepend uploads and "field-" removes names.
func (s *Service) prepareFiles(r, prev *schema.Record, chs []change, fe apperr.FieldErrors) ([]pendingFiles, error) {
	var pending []pendingFiles
	for _, f := range r.Collection.Fields {
		if f.Type != schema.TypeFile {
			continue
		}
		var current []string
		if prev != nil {
			current = schema.AsStrings(prev.Data[f.Name])
		}
		existing := map[string]bool{}
		for _, n := range current {
			existing[n] = true
		}
		next := append([]string{}, current...)
		var added pendingFiles
		added.field = f
		touched := false
		for _, ch := range chs {
			if ch.field != f {
				continue
			}
			touched = true
			var names []string
			if len(ch.files) > 0 {
				if s.files == nil {
					fe.Add(f.Name, "validation_invalid_value", "File uploads are not available.")
					continue
				}
				var err error
				names, err = s.files.Prepare(f, ch.files)
				if err != nil {
					if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
						fe.Add(f.Name, "validation_invalid_file", e.Message)
						if p, ok := e.Data[f.Name].(apperr.Field); ok {
							fe[f.Name] = p
						}
						continue
					}
					return nil, err
				}
				added.names = append(added.names, names...)
				added.uploads = append(added.uploads, ch.files...)
			}
			switch ch.mod {
			case modSet:
				var keep []string
				if ch.value != nil {
					v, problem := (&schema.Field{Type: schema.TypeFile, MaxSelect: 1 << 20}).Normalize(ch.value)
					if problem != nil {
						fe.Add(f.Name, problem.Code, problem.Message)
						continue
					}
					for _, n := range schema.AsStrings(v) {
						if existing[n] {
							keep = append(keep, n)
						}
					}
				}
				next = append(keep, names...)
			case modAppend:
				next = append(next, names...)
			case modPrepend:
				next = append(append([]string{}, names...), next...)
			case modSubtract:
				v, _ := (&schema.Field{Type: schema.TypeFile, MaxSelect: 1 << 20}).Normalize(ch.value)
				drop := map[string]bool{}
				for _, n := range schema.AsStrings(v) {
					drop[n] = true
				}
				next = dropNames(next, drop)
			}
		}
		if !touched {
			continue
		}
		if !f.IsMulti() && len(next) > 1 {
			// A single file field keeps the last submitted file.
			next = next[len(next)-1:]
		}
		v, problem := f.Normalize(next)
		if problem != nil {
			fe.Add(f.Name, problem.Code, problem.Message)
			continue
		}
		if p := f.Validate(v); p != nil {
			fe.Add(f.Name, p.Code, p.Message)
			continue
		}
		r.Data[f.Name] = v
		if len(added.names) > 0 {
			pending = append(pending, added)
		}
	}
	// Required file fields that were never touched.
	for _, f := range r.Collection.Fields {
		if f.Type == schema.TypeFile && f.Required && schema.IsEmpty(r.Data[f.Name]) {
			fe.Add(f.Name, "validation_required", "Cannot be blank.")
		}
	}
	return pending, nil
}

func dropNames(list []string, drop map[string]bool) []string {
	out := list[:0:0]
	for _, v := range list {
		if !drop[v] {
			out = append(out, v)
		}
	}
	return out
}

// saveFiles stores accepted uploads that ended up in r's value.
func (s *Service) saveFiles(ctx context.Context, fx *effects, r *schema.Record, pending []pendingFiles) error {
	for _, p := range pending {
		kept := map[string]bool{}
		for _, n := range schema.AsStrings(r.Data[p.field.Name]) {
			kept[n] = true
		}
		var names []string
		var uploads []Upload
		for i, n := range p.names {
			if kept[n] {
				names = append(names, n)
				uploads = append(uploads, p.uploads[i])
			}
		}
		if len(names) == 0 {
			continue
		}
		// Recorded first so a partial failure is cleaned up on rollback.
		for _, n := range names {
			fx.saved = append(fx.saved, fileRef{r.Collection.ID, r.ID(), n})
		}
		if err := s.files.Save(ctx, r.Collection.ID, r.ID(), names, uploads); err != nil {
			return err
		}
	}
	return nil
}
