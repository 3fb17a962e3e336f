package rest

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// backupRoutes registers PocketBase's /api/backups endpoints.
func (s *server) backupRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/backups", s.requireSuperuser(s.noBackups(s.listBackups)))
	mux.HandleFunc("POST /api/backups", s.requireSuperuser(s.noBackups(s.createBackup)))
	mux.HandleFunc("POST /api/backups/upload", s.requireSuperuser(s.noBackups(s.uploadBackup)))
	// Downloads are links: the superuser's file token authorizes them.
	mux.HandleFunc("GET /api/backups/{key}", s.noBackups(s.downloadBackup))
	mux.HandleFunc("DELETE /api/backups/{key}", s.requireSuperuser(s.noBackups(s.deleteBackup)))
	mux.HandleFunc("POST /api/backups/{key}/restore", s.requireSuperuser(s.noBackups(s.restoreBackup)))
}

// noBackups answers 404 when the server runs without the backup service.
func (s *server) noBackups(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Backups == nil {
			s.notFound(w, r)
			return
		}
		next(w, r)
	}
}

func (s *server) listBackups(w http.ResponseWriter, r *http.Request) {
	list, err := s.Backups.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, b := range list {
		out = append(out, map[string]any{"key": b.Key, "size": b.Size, "modified": b.Modified.UTC().Format(schema.DateLayout)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) createBackup(w http.ResponseWriter, r *http.Request) {
	body, _, err := decodeBody(r, s.maxBody())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := ""
	if v, ok := body["name"]; ok && v != nil {
		str, isStr := v.(string)
		if !isStr {
			s.fail(w, r, apperr.Fields("Failed to create backup.", map[string]apperr.Field{
				"name": {Code: "validation_invalid_string", Message: "Must be a valid string."}}))
			return
		}
		name = str
	}
	if _, err := s.Backups.Create(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// uploadBackup streams the multipart "file" part to the backup service,
// which bounds its size and checks it before storing it.
func (s *server) uploadBackup(w http.ResponseWriter, r *http.Request) {
	missing := apperr.Fields("Failed to upload backup.", map[string]apperr.Field{
		"file": {Code: "validation_required", Message: "Cannot be blank."}})
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		s.fail(w, r, missing)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, apperr.Wrap(apperr.Invalid, msgInvalidBody, err))
		return
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			s.fail(w, r, missing)
			return
		}
		if err != nil {
			s.fail(w, r, apperr.Wrap(apperr.Invalid, msgInvalidBody, err))
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		err = s.Backups.Upload(r.Context(), part.FileName(), part)
		part.Close()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
}

func (s *server) downloadBackup(w http.ResponseWriter, r *http.Request) {
	forbidden := apperr.New(apperr.Forbidden, "Insufficient permissions to access the resource.")
	tok := r.URL.Query().Get("token")
	if tok == "" {
		s.fail(w, r, forbidden)
		return
	}
	holder, err := s.Auth.FileTokenRecord(r.Context(), tok)
	if err != nil || holder == nil || holder.Collection.ID != schema.SuperusersID {
		s.fail(w, r, forbidden)
		return
	}
	f, info, err := s.Backups.Open(r.Context(), r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": info.Key}))
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, info.Key, info.Modified, f)
}

func (s *server) deleteBackup(w http.ResponseWriter, r *http.Request) {
	if err := s.Backups.Delete(r.Context(), r.PathValue("key")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// restoreBackup stages the restore and answers; the process then stops
// serving, swaps the data in and serves the restored data (docs/backups.md).
func (s *server) restoreBackup(w http.ResponseWriter, r *http.Request) {
	if err := s.Backups.Restore(r.Context(), r.PathValue("key")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
