package graphql_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/api/graphql"
)

func TestLimits(t *testing.T) {
	t.Parallel()
	l := graphql.DefaultLimits()
	l.MaxDepth, l.MaxComplexity, l.MaxAliases, l.MaxRootFields, l.MaxQuerySize = 6, 500, 3, 2, 2000
	e := newEnv(t, l)
	tests := []struct {
		name, query, code, message string
	}{
		{"depth", `{ postsList { items { author { posts_via_author { author { posts_via_author { id } } } } } } }`, "too_large", "levels deep"},
		{"depth through fragments", `{ postsList { ...A } } fragment A on PostsList { items { author { ...B } } } fragment B on Users { posts_via_author { author { posts_via_author { id } } } }`, "too_large", "levels deep"},
		{"complexity", `{ postsList(perPage: 500) { items { id title } } }`, "too_large", "complexity"},
		{"complexity from a variable", `query($n: Int) { postsList(perPage: $n) { items { id title } } }`, "too_large", "complexity"},
		{"aliases", `{ a: postsList { b: page c: perPage d: totalItems } }`, "too_large", "aliases"},
		{"root fields", `{ postsList { page } tagsList { page } usersList { page } }`, "too_large", "root fields"},
		{"size", "{ postsList { page " + strings.Repeat(" ", 2000) + "} }", "too_large", "bytes"},
		{"within limits", `{ postsList(perPage: 10) { items { id author { name } } } }`, "", ""},
		{"fragment cycle", `{ postsList { ...A } } fragment A on PostsList { ...B } fragment B on PostsList { ...A }`, "invalid", "ycle"},
		{"syntax", `{ postsList { `, "invalid", "Syntax Error"},
		{"unknown operation", `query A { postsList { page } }`, "", ""},
	}
	for _, tc := range tests {
		vars := map[string]any{"n": 400}
		res := e.do("", tc.query, vars)
		if tc.code == "" {
			if len(res.Errors) > 0 {
				t.Errorf("%s: got %s", tc.name, res.raw)
			}
			continue
		}
		if res.code() != tc.code || !strings.Contains(res.Errors[0].Message, tc.message) {
			t.Errorf("%s: got %s, want code %s with %q", tc.name, res.raw, tc.code, tc.message)
		}
		if tc.code == "too_large" && res.Data != nil {
			t.Errorf("%s: a refused query has data: %s", tc.name, res.raw)
		}
	}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	// The introspection query clients send passes the limits.
	res := e.do("", introspectionQuery, nil)
	if len(res.Errors) > 0 || !strings.Contains(res.raw, `"PostsCreateInput"`) {
		t.Fatalf("introspection: got %.300s", res.raw)
	}
	// Nesting introspection lists beyond what clients need is refused.
	res = e.do("", `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`, nil)
	if res.code() != "too_large" {
		t.Errorf("nested introspection: got %.300s", res.raw)
	}
	if res := e.do("", `{ postsList { item { id } } }`, nil); !strings.Contains(res.raw, "Did you mean") {
		t.Errorf("no suggestion with introspection on: got %s", res.raw)
	}
	off := graphql.DefaultLimits()
	off.Introspection = false
	e = newEnv(t, off)
	res = e.do("", `{ __schema { types { name } } }`, nil)
	if res.code() != "forbidden" {
		t.Errorf("introspection off: got %s", res.raw)
	}
	// Validation errors suggest no names when introspection is off.
	if res := e.do("", `{ postsList { item { id } } }`, nil); res.code() != "invalid" || strings.Contains(res.raw, "Did you mean") {
		t.Errorf("suggestion with introspection off: got %s", res.raw)
	}
	if res := e.do("", `{ postsList { __typename } }`, nil); len(res.Errors) > 0 {
		t.Errorf("__typename with introspection off: got %s", res.raw)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	l := graphql.DefaultLimits()
	l.Timeout = 100 * time.Millisecond
	e := newEnv(t, l)
	e.store.delay.Store(int64(2 * time.Second))
	start := time.Now()
	res := e.do("", `{ postsList { totalItems } }`, nil)
	if res.code() != "unavailable" || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("got %s after %v", res.raw, time.Since(start))
	}
	e.store.delay.Store(0)
}

// Hostile requests get a clear error in the documented shape, never a
// server error or a leak of internals.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	deep := strings.Repeat("{ a ", 5000) + strings.Repeat("}", 5000)
	tests := []struct {
		name, method, contentType, body string
		status                          int
	}{
		{"not JSON", "POST", "application/json", "{", 400},
		{"JSON array", "POST", "application/json", "[]", 400},
		{"no query", "POST", "application/json", "{}", 200},
		{"deep nesting", "POST", "application/json", mustJSON(map[string]any{"query": deep}), 200},
		{"variables of the wrong type", "POST", "application/json", `{"query":"query($n: Int) { postsList(perPage: $n) { page } }","variables":{"n":"x"}}`, 200},
		{"PUT", "PUT", "application/json", "{}", 405},
		{"huge body", "POST", "application/json", `{"query":"` + strings.Repeat("a", 9<<20) + `"}`, 413},
	}
	for _, tc := range tests {
		res := e.send("", tc.method, "/api/graphql", tc.contentType, []byte(tc.body))
		if res.status != tc.status || len(res.Errors) == 0 || res.code() == "" || res.code() == "internal" {
			t.Errorf("%s: got %d %.300s", tc.name, res.status, res.raw)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// introspectionQuery is the query graphql-js's getIntrospectionQuery
// sends (graphql 16/17, default options).
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`

// The playground is a self-contained page: no external scripts or styles.
func TestPlayground(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	req, _ := http.NewRequest("GET", e.url+"/api/graphql", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), "Basalt GraphQL") || strings.Contains(string(body), "src=") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Errorf("got %d %v\n%.200s", res.StatusCode, res.Header, body)
	}
	// Without text/html, a GET without a query is a GraphQL error.
	if r := e.send("", "GET", "/api/graphql", "", nil); r.code() != "invalid" {
		t.Errorf("GET without a query: got %s", r.raw)
	}
}
