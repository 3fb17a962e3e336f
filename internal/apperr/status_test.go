package apperr

import "testing"

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code      Code
		hasFields bool
		want      int
	}{
		{Invalid, true, 400}, {Unauthenticated, false, 401}, {Forbidden, false, 403}, {NotFound, false, 404},
		{Conflict, false, 409}, {Conflict, true, 400}, {TooLarge, false, 413}, {TooManyRequests, false, 429},
		{Unavailable, false, 503}, {Internal, false, 500}, {Code("other"), false, 500},
	} {
		if got := tc.code.HTTPStatus(tc.hasFields); got != tc.want {
			t.Errorf("%s.HTTPStatus(%v) = %d, want %d", tc.code, tc.hasFields, got, tc.want)
		}
	}
}
