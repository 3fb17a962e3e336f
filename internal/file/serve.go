package file

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/blob"
)

// Response headers for served files. The CSP is PocketBase's: even an
// uploaded HTML or SVG file opened directly runs no script and cannot reach
// the API origin (sandbox gives it an opaque origin).
const (
	filesCSP     = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
	cacheControl = "max-age=2592000, stale-while-revalidate=86400" // 30 days, as PocketBase
)

// Serve writes the file <collectionID>/<recordID>/<name> to w, with Range,
// HEAD and If-Modified-Since handled by http.ServeContent. The caller has
// already checked that the record exists, owns the file and may be read.
//
// Content-Type comes from the content and name (see ContentType). The file
// is shown inline only when download is false and its type is passive
// (images other than SVG, audio, video, PDF); anything else, HTML and SVG
// included, is an attachment. Every response carries a sandboxing
// Content-Security-Policy and X-Content-Type-Options: nosniff. A
// Cache-Control the caller set beforehand is kept (for example "private"
// for protected files); otherwise it is PocketBase's 30-day one.
//
// When the file is missing or name is not a valid file name, Serve writes
// nothing and returns a not_found *apperr.Error for the transport to encode;
// other storage failures are returned as they are. A nil error means a
// response was written.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, collectionID, recordID, name string, download bool) error {
	obj, err := s.open(r, collectionID, recordID, name)
	if err != nil {
		return err
	}
	defer obj.Close()
	return serveObject(w, r, obj, name, download)
}

// open opens a record file, mapping a bad name to not_found.
func (s *Service) open(r *http.Request, collectionID, recordID, name string) (*blob.Object, error) {
	key, err := Key(collectionID, recordID, name)
	if err != nil {
		return nil, notFound(err)
	}
	obj, err := s.store.Open(r.Context(), key)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil, notFound(err)
		}
		return nil, fmt.Errorf("opening file %s: %w", key, err)
	}
	return obj, nil
}

func notFound(cause error) error {
	return apperr.Wrap(apperr.NotFound, "The requested resource wasn't found.", cause)
}

// serveObject writes obj under the given name (used for Content-Type and
// Content-Disposition).
func serveObject(w http.ResponseWriter, r *http.Request, obj *blob.Object, name string, download bool) error {
	head, err := readHead(obj)
	if err != nil {
		return fmt.Errorf("serving %s: %w", name, err)
	}
	ct := ContentType(head, name)
	disposition := "attachment"
	if !download && inline(ct) {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", filesCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", cacheControl)
	}
	http.ServeContent(w, r, name, obj.ModTime, obj)
	return nil
}

// readHead reads the first sniffLen bytes of obj and rewinds it.
func readHead(obj io.ReadSeeker) ([]byte, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(obj, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if _, err := obj.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return head[:n], nil
}
