package rest

import (
	"net/http"
)

// serveFile streams a record's file, or a thumbnail of it with ?thumb=WxH.
// The record must exist and the file must belong to one of its file fields;
// protected files are not served until file tokens land (they answer 404
// rather than leak).
func (s *server) serveFile(w http.ResponseWriter, r *http.Request) {
	if s.Files == nil {
		s.notFound(w, r)
		return
	}
	c, err := s.Records.Collection(r.PathValue("collection"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	name := r.PathValue("filename")
	rec, field, err := s.Records.FileOwner(r.Context(), c.ID, r.PathValue("record"), name)
	if err != nil {
		s.notFound(w, r)
		return
	}
	q := r.URL.Query()
	download := isTrue(q.Get("download"))
	if thumb := q.Get("thumb"); thumb != "" {
		err = s.Files.ServeThumb(w, r, c.ID, rec.ID(), name, field, thumb, download)
	} else {
		err = s.Files.Serve(w, r, c.ID, rec.ID(), name, download)
	}
	if err != nil {
		s.fail(w, r, err)
	}
}
