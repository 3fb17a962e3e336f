package rest_test

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPasswordBcryptCostIsConfigurable sets the bcrypt cost of a password
// field through the collections API and checks new hashes use it, while the
// default is bcrypt's cost 10.
func TestPasswordBcryptCostIsConfigurable(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.t = t
	costOf := func(id string) int {
		t.Helper()
		n, err := bcrypt.Cost([]byte(m.stored(t, "users", id).String("password")))
		if err != nil {
			t.Fatalf("stored password of %s is not a bcrypt hash: %v", id, err)
		}
		return n
	}
	if got := costOf(m.vars["userId"]); got != 10 {
		t.Errorf("default cost = %d, want 10", got)
	}
	col := m.mustJSON("GET", "/api/collections/users", "superuser", nil, 200)
	fields := col["fields"].([]any)
	for _, f := range fields {
		if f := f.(map[string]any); f["name"] == "password" {
			f["cost"] = 11
		}
	}
	m.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{"fields": fields}, 200)
	rec := m.mustJSON("POST", "/api/collections/users/records", "", map[string]any{
		"email": "costly@example.com", "password": "costly-pass-123", "passwordConfirm": "costly-pass-123"}, 200)
	if got := costOf(rec["id"].(string)); got != 11 {
		t.Errorf("cost after setting 11 = %d", got)
	}
	// An existing hash keeps its cost until the password changes; sign-in
	// works with either.
	m.login("users", userEmail, userPass)
	m.login("users", "costly@example.com", "costly-pass-123")
	m.mustJSON("PATCH", "/api/collections/users/records/"+m.vars["userId"], "user", map[string]any{
		"oldPassword": userPass, "password": "alice-new-pass-1", "passwordConfirm": "alice-new-pass-1"}, 200)
	if got := costOf(m.vars["userId"]); got != 11 {
		t.Errorf("cost after a password change = %d, want 11", got)
	}
}
