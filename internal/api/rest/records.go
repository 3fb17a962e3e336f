package rest

import (
	"net/http"
	"strconv"

	"github.com/basalt-dev/basalt/internal/record"
)

func (s *server) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := record.ListOptions{
		Page:      atoi(q.Get("page")),
		PerPage:   atoi(q.Get("perPage")),
		Sort:      q.Get("sort"),
		Filter:    q.Get("filter"),
		Expand:    q.Get("expand"),
		SkipTotal: isTrue(q.Get("skipTotal")),
	}
	req := s.request(r)
	res, err := s.Records.List(r.Context(), req, r.PathValue("collection"), opts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respondList(w, r, res, req)
}

func (s *server) viewRecord(w http.ResponseWriter, r *http.Request) {
	req := s.request(r)
	it, err := s.Records.View(r.Context(), req, r.PathValue("collection"), r.PathValue("id"), r.URL.Query().Get("expand"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respondItem(w, r, it, req)
}

func (s *server) createRecord(w http.ResponseWriter, r *http.Request) {
	s.writeRecord(w, r, func(req *record.Request, collection string, in record.Input, expand string) (*record.Item, error) {
		return s.Records.Create(r.Context(), req, collection, in, expand)
	})
}

func (s *server) updateRecord(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.writeRecord(w, r, func(req *record.Request, collection string, in record.Input, expand string) (*record.Item, error) {
		return s.Records.Update(r.Context(), req, collection, id, in, expand)
	})
}

// writeRecord decodes a create or update body (sized for the collection's
// file fields), runs op and answers with the record as the caller sees it.
func (s *server) writeRecord(w http.ResponseWriter, r *http.Request,
	op func(req *record.Request, collection string, in record.Input, expand string) (*record.Item, error)) {
	c, err := s.Records.Collection(r.PathValue("collection"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := s.readBody(r, s.maxBodyFor(c))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := s.request(r)
	it, err := op(req, c.ID, in, r.URL.Query().Get("expand"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respondItem(w, r, it, req)
}

func (s *server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	if err := s.Records.Delete(r.Context(), s.request(r), r.PathValue("collection"), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// respond writes a 2xx JSON body after applying the "fields" query parameter.
func (s *server) respond(w http.ResponseWriter, r *http.Request, status int, v any) {
	if fields := r.URL.Query().Get("fields"); fields != "" {
		picked, err := pickFields(v, fields)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v = picked
	}
	writeJSON(w, status, v)
}

// atoi parses a non-negative query integer; anything else is 0 (the default).
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
