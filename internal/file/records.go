package file

import (
	"context"

	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// ForRecords returns s as the record service's Files port: uploads are
// validated and named here and stored under the record's key prefix.
func (s *Service) ForRecords() record.Files { return recordFiles{s} }

type recordFiles struct{ files *Service }

func toUploads(list []record.Upload) []Upload {
	out := make([]Upload, len(list))
	for i, u := range list {
		out[i] = Upload{Name: u.Filename(), Size: u.Size(), Open: u.Open}
	}
	return out
}

func (f recordFiles) Prepare(field *schema.Field, uploads []record.Upload) ([]string, error) {
	if err := Validate(field, toUploads(uploads)); err != nil {
		return nil, err
	}
	names := make([]string, len(uploads))
	for i, u := range uploads {
		names[i] = f.files.Name(u.Filename())
	}
	return names, nil
}

func (f recordFiles) Save(ctx context.Context, collectionID, recordID string, names []string, uploads []record.Upload) error {
	for i, u := range toUploads(uploads) {
		if err := f.files.Save(ctx, collectionID, recordID, names[i], u); err != nil {
			return err
		}
	}
	return nil
}

func (f recordFiles) Delete(ctx context.Context, collectionID, recordID string, names ...string) error {
	return f.files.Delete(ctx, collectionID, recordID, names...)
}

func (f recordFiles) DeleteRecord(ctx context.Context, collectionID, recordID string) error {
	return f.files.DeleteRecord(ctx, collectionID, recordID)
}
