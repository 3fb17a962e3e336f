package apperr

import "net/http"

// HTTPStatus is the HTTP status of an error with this code, as PocketBase
// answers it: a conflict that names its fields (a unique violation) is a
// validation error (400), like PocketBase's; anything unknown is a 500.
// The REST API and function routes answer with it.
func (c Code) HTTPStatus(hasFields bool) int {
	switch c {
	case Invalid:
		return http.StatusBadRequest
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		if hasFields {
			return http.StatusBadRequest
		}
		return http.StatusConflict
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case TooManyRequests:
		return http.StatusTooManyRequests
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
