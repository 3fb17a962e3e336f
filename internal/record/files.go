package record

import (
	"context"
	"io"

	"github.com/basalt-dev/basalt/internal/schema"
)

// Upload is one uploaded file.
type Upload interface {
	// Filename is the client's name for the file.
	Filename() string
	// Size is the file's size in bytes.
	Size() int64
	// Open returns the file's content.
	Open() (io.ReadCloser, error)
}

// Files stores the files of file fields. It is implemented by the file
// service.
type Files interface {
	// Prepare validates uploads for field and returns the stored names they
	// will get, in order.
	Prepare(field *schema.Field, uploads []Upload) ([]string, error)
	// Save stores uploads under the names Prepare returned.
	Save(ctx context.Context, collectionID, recordID string, names []string, uploads []Upload) error
	// Delete removes files of a record; missing files are not an error.
	Delete(ctx context.Context, collectionID, recordID string, names ...string) error
	// DeleteRecord removes every file of a record.
	DeleteRecord(ctx context.Context, collectionID, recordID string) error
}
