package file

import (
	"bytes"
	"io"
	"mime/multipart"
)

// Upload is one file sent by a client, not yet stored.
type Upload struct {
	// Name is the client's file name, untrusted; Name(u.Name) makes the
	// stored name from it.
	Name string
	// Size is the exact content length in bytes.
	Size int64
	// Open returns a fresh reader of the whole content each time it is
	// called (validation sniffs the start, Save reads it all).
	Open func() (io.ReadCloser, error)
}

// FromMultipart returns the Upload for one part of a multipart form.
func FromMultipart(fh *multipart.FileHeader) Upload {
	return Upload{
		Name: fh.Filename,
		Size: fh.Size,
		Open: func() (io.ReadCloser, error) { return fh.Open() },
	}
}

// FromBytes returns an Upload holding b in memory (for files made by the
// server, functions or tests).
func FromBytes(name string, b []byte) Upload {
	return Upload{
		Name: name,
		Size: int64(len(b)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
	}
}
