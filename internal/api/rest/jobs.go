package rest

import (
	"encoding/json"
	"net/http"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// jobRoutes registers Basalt's /api/jobs endpoints and PocketBase's
// /api/crons endpoints, all for superusers only.
func (s *server) jobRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/jobs", s.requireSuperuser(s.noJobs(s.listJobs)))
	mux.HandleFunc("GET /api/jobs/{id}", s.requireSuperuser(s.noJobs(s.viewJob)))
	mux.HandleFunc("POST /api/jobs/{id}/retry", s.requireSuperuser(s.noJobs(s.retryJob)))
	mux.HandleFunc("DELETE /api/jobs/{id}", s.requireSuperuser(s.noJobs(s.deleteJob)))
	mux.HandleFunc("GET /api/crons", s.requireSuperuser(s.noCrons(s.listCrons)))
	mux.HandleFunc("POST /api/crons/{id}", s.requireSuperuser(s.noCrons(s.runCron)))
}

// noJobs answers 404 when the server runs without the job queue.
func (s *server) noJobs(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Jobs == nil {
			s.notFound(w, r)
			return
		}
		next(w, r)
	}
}

// noCrons answers 404 when the server runs without the cron scheduler.
func (s *server) noCrons(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Crons == nil {
			s.notFound(w, r)
			return
		}
		next(w, r)
	}
}

// jobJSON is the API view of a job.
func jobJSON(j *store.Job) map[string]any {
	until := ""
	if !j.LeaseUntil.IsZero() {
		until = schema.FormatTime(j.LeaseUntil)
	}
	return map[string]any{
		"id": j.ID, "name": j.Name, "payload": json.RawMessage(j.Payload), "state": string(j.State),
		"priority": j.Priority, "idempotencyKey": j.IdempotencyKey, "attempts": j.Attempts, "maxAttempts": j.MaxAttempts,
		"runAt": schema.FormatTime(j.RunAt), "lastError": j.LastError, "worker": j.LeaseOwner, "leaseUntil": until,
		"created": schema.FormatTime(j.Created), "updated": schema.FormatTime(j.Updated),
	}
}

// jobStates are the values of the state filter.
var jobStates = map[string]bool{
	"": true, string(store.JobQueued): true, string(store.JobRunning): true, string(store.JobFailed): true,
	string(store.JobSucceeded): true, string(store.JobDead): true,
}

func (s *server) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if !jobStates[state] {
		s.fail(w, r, apperr.Fields("Invalid job filter.", map[string]apperr.Field{
			"state": {Code: "validation_invalid_value", Message: "Must be queued, running, failed, succeeded or dead."}}))
		return
	}
	page, perPage := atoi(q.Get("page")), atoi(q.Get("perPage"))
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = 30
	}
	perPage = min(perPage, 500)
	list, total, err := s.Jobs.Jobs(r.Context(), store.JobFilter{
		State: store.JobState(state), Name: q.Get("name"), Limit: perPage, Offset: (page - 1) * perPage})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]any, len(list))
	for i, j := range list {
		items[i] = jobJSON(j)
	}
	writePage(w, page, perPage, total, items)
}

func (s *server) viewJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.Jobs.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobJSON(j))
}

func (s *server) retryJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.Jobs.Retry(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobJSON(j))
}

func (s *server) deleteJob(w http.ResponseWriter, r *http.Request) {
	if err := s.Jobs.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listCrons answers PocketBase's [{id, expression}] list.
func (s *server) listCrons(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Crons.List())
}

// runCron starts a cron job now, as PocketBase does, without waiting for it.
func (s *server) runCron(w http.ResponseWriter, r *http.Request) {
	if err := s.Crons.RunNow(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
