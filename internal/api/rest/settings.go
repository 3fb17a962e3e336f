package rest

import (
	"net/http"
)

func (s *server) getSettings(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusOK, toJSONValue(s.Settings.Public()))
}

func (s *server) updateSettings(w http.ResponseWriter, r *http.Request) {
	body, err := readRaw(r, s.maxBody())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.Settings.Update(r.Context(), body); err != nil {
		s.fail(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, toJSONValue(s.Settings.Public()))
}
