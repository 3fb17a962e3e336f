// Package fnroute serves the HTTP routes that function files register
// (basalt.route) under one prefix, /api/fn/: it decodes the request, gives
// the caller the REST middleware authenticated (package caller) to the
// function service and encodes its answer, or its error in PocketBase's
// {status, message, data} shape.
//
// fnroute is a transport: it imports the function service, the caller
// package and leaves; never adapters.
package fnroute

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/basalt-dev/basalt/internal/api/caller"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/function"
)

// Prefix is where function routes are served: a route registered as
// /hello/{name} answers at /api/fn/hello/{name}.
const Prefix = "/api/fn"

// MaxBody bounds a request body.
const MaxBody = 1 << 20

// Handler returns the handler to mount at Prefix + "/".
func Handler(fns *function.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.EscapedPath(), Prefix)
		if path == "" {
			path = "/"
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, apperr.New(apperr.TooLarge, "The request body is too large."))
				return
			}
			writeError(w, apperr.Wrap(apperr.Invalid, "Failed to read the request body.", err))
			return
		}
		req := caller.Request(r)
		res, err := fns.ServeRoute(r.Context(), &function.RouteRequest{
			Method: r.Method, Path: path, Query: req.Query, Headers: req.Headers, Body: body, Auth: req.Auth,
		})
		if err != nil {
			writeError(w, err)
			return
		}
		for k, v := range res.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(res.Status)
		if r.Method != http.MethodHead && res.Status != http.StatusNoContent {
			_, _ = w.Write(res.Body)
		}
	})
}

// writeError answers err in PocketBase's error envelope. Internal errors
// say nothing of their cause (the function service logged it).
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	message := "Something went wrong while processing your request."
	data := map[string]any{}
	if e := apperr.As(err); e != nil && e.Code != apperr.Internal {
		status = e.Code.HTTPStatus(len(e.Data) > 0)
		message = e.Message
		for k, v := range e.Data {
			if f, ok := v.(apperr.Field); ok {
				data[k] = f
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "message": message, "data": data})
}
