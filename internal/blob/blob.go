// Package blob declares Basalt's object storage port: the small interface that
// the file service (and backups) use to keep uploaded objects, and the key
// rules every adapter enforces. Adapters live in sub-packages (blob/local,
// later blob/s3).
//
// blob is a port: it imports only leaf packages (apperr), never services,
// adapters or transports.
package blob

import (
	"context"
	"io"
	"time"
)

// Store keeps objects under slash-separated keys such as
// "<collectionId>/<recordId>/<file>". Every method validates its key with
// ValidateKey and returns an invalid error for a bad one before touching the
// backend. Implementations are safe for concurrent use.
type Store interface {
	// Put stores everything read from r under key, replacing any object
	// already there. The new object becomes visible only once fully written:
	// readers see the old content or the new one, never a partial write.
	// Returns an invalid error for a bad key and the reader's or backend's
	// error otherwise; on error nothing is stored.
	Put(ctx context.Context, key string, r io.Reader) error

	// Open returns the object at key for reading. The caller must Close it.
	// Returns not_found if no object is stored at key.
	Open(ctx context.Context, key string) (*Object, error)

	// Delete removes the object at key. A missing object is not an error.
	Delete(ctx context.Context, key string) error

	// DeletePrefix removes every object whose key starts with prefix + "/",
	// as if prefix were a directory. prefix must be a valid key (a trailing
	// "/" is allowed); an empty prefix is refused so that a bug cannot wipe
	// the whole store. Nothing stored under prefix is not an error.
	DeletePrefix(ctx context.Context, prefix string) error
}

// Object is an open stored object: its content, which can be read and seeked
// (as http.ServeContent needs for Range requests), plus its size and last
// modification time.
type Object struct {
	io.ReadSeekCloser
	Size    int64
	ModTime time.Time
}
