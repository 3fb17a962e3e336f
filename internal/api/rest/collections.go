package rest

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// readRaw reads a JSON request body of at most max bytes.
func readRaw(r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, "Failed to read the request body.", err)
	}
	if int64(len(body)) > max {
		return nil, apperr.New(apperr.TooLarge, "Request entity too large.")
	}
	if !json.Valid(body) || len(strings.TrimSpace(string(body))) == 0 || strings.TrimSpace(string(body))[0] != '{' {
		return nil, apperr.New(apperr.Invalid, "Failed to load the submitted data due to invalid formatting.")
	}
	return body, nil
}

func (s *server) listCollections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := s.Collections.Matching(q.Get("filter"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := sortCollections(list, q.Get("sort")); err != nil {
		s.fail(w, r, err)
		return
	}
	page, perPage := atoi(q.Get("page")), atoi(q.Get("perPage"))
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = 30
	}
	if perPage > 1000 {
		perPage = 1000
	}
	total := len(list)
	start := (page - 1) * perPage
	if start > total {
		start = total
	}
	end := start + perPage
	if end > total {
		end = total
	}
	items := make([]any, 0, end-start)
	for _, c := range list[start:end] {
		items = append(items, c.Public())
	}
	totalItems, totalPages := total, (total+perPage-1)/perPage
	if isTrue(q.Get("skipTotal")) {
		totalItems, totalPages = -1, -1
	}
	s.respond(w, r, http.StatusOK, toJSONValue(map[string]any{
		"page": page, "perPage": perPage, "totalItems": totalItems, "totalPages": totalPages, "items": items,
	}))
}

// sortCollections sorts by "name", "created", "updated", "type", "system" or
// "id" keys, "-" for descending.
func sortCollections(list []*schema.Collection, expr string) error {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	keys := strings.Split(expr, ",")
	for i := len(keys) - 1; i >= 0; i-- {
		k := strings.TrimSpace(keys[i])
		desc := strings.HasPrefix(k, "-")
		k = strings.TrimLeft(k, "+-")
		get, ok := collectionKeys[k]
		if !ok {
			return apperr.New(apperr.Invalid, "Invalid sort field "+k+".")
		}
		sort.SliceStable(list, func(a, b int) bool {
			if desc {
				return get(list[b]) < get(list[a])
			}
			return get(list[a]) < get(list[b])
		})
	}
	return nil
}

var collectionKeys = map[string]func(*schema.Collection) string{
	"id":      func(c *schema.Collection) string { return c.ID },
	"name":    func(c *schema.Collection) string { return c.Name },
	"type":    func(c *schema.Collection) string { return c.Type },
	"created": func(c *schema.Collection) string { return c.Created },
	"updated": func(c *schema.Collection) string { return c.Updated },
	"system": func(c *schema.Collection) string {
		if c.System {
			return "1"
		}
		return "0"
	},
}

func (s *server) viewCollection(w http.ResponseWriter, r *http.Request) {
	c, err := s.Collections.Find(r.PathValue("collection"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, toJSONValue(c.Public()))
}

func (s *server) createCollection(w http.ResponseWriter, r *http.Request) {
	body, err := readRaw(r, s.maxBody())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if isTrue(r.URL.Query().Get("dryRun")) {
		s.checked(w, r, s.Collections.CheckCreate(r.Context(), body))
		return
	}
	c, err := s.Collections.Create(r.Context(), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, toJSONValue(c.Public()))
}

func (s *server) updateCollection(w http.ResponseWriter, r *http.Request) {
	body, err := readRaw(r, s.maxBody())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if isTrue(r.URL.Query().Get("dryRun")) {
		s.checked(w, r, s.Collections.CheckUpdate(r.Context(), r.PathValue("collection"), body))
		return
	}
	c, err := s.Collections.Update(r.Context(), r.PathValue("collection"), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, toJSONValue(c.Public()))
}

// checked answers a dry run (?dryRun=true, a Basalt extension): 204 when
// the definition would be saved, else the error saving would give.
func (s *server) checked(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) deleteCollection(w http.ResponseWriter, r *http.Request) {
	if err := s.Collections.Delete(r.Context(), r.PathValue("collection")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) truncateCollection(w http.ResponseWriter, r *http.Request) {
	c, err := s.Collections.Find(r.PathValue("collection"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Records.Truncate(r.Context(), c.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) importCollections(w http.ResponseWriter, r *http.Request) {
	body, err := readRaw(r, s.maxBody())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Collections   []json.RawMessage `json:"collections"`
		DeleteMissing bool              `json:"deleteMissing"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.fail(w, r, apperr.Wrap(apperr.Invalid, "Failed to load the submitted data due to invalid formatting.", err))
		return
	}
	if err := s.Collections.Import(r.Context(), in.Collections, in.DeleteMissing); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) scaffolds(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusOK, toJSONValue(s.Collections.Scaffolds()))
}

// toJSONValue round-trips v through JSON so the fields picker sees plain
// maps and slices.
func toJSONValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}
