package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/api/graphql"
)

func TestGraphQLFlags(t *testing.T) {
	env := map[string]string{"BASALT_GRAPHQL_MAX_DEPTH": "7", "BASALT_GRAPHQL_INTROSPECTION": "false", "BASALT_GRAPHQL_TIMEOUT": "3s"}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var l graphql.Limits
	if err := graphqlFlags(fs, func(k string) string { return env[k] }, &l); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--graphql-max-aliases", "4"}); err != nil {
		t.Fatal(err)
	}
	want := graphql.DefaultLimits()
	want.MaxDepth, want.Introspection, want.Timeout, want.MaxAliases = 7, false, 3*time.Second, 4
	if l != want {
		t.Errorf("got %+v, want %+v", l, want)
	}
	for _, bad := range []map[string]string{{"BASALT_GRAPHQL_MAX_DEPTH": "-1"}, {"BASALT_GRAPHQL_INTROSPECTION": "maybe"}, {"BASALT_GRAPHQL_TIMEOUT": "soon"}} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		if err := graphqlFlags(fs, func(k string) string { return bad[k] }, &l); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// A collection created or changed through one replica is in the GraphQL
// schema of the others without a restart.
func TestReplicasGraphQLSchemaFollows(t *testing.T) {
	addrs, token := startReplicas(t, 2)
	a, b := addrs[0], addrs[1]
	query := func(addr, q string) string {
		st, body := call(t, http.MethodPost, addr, "/api/graphql", "", map[string]any{"query": q})
		if st != http.StatusOK || body["errors"] != nil {
			return fmt.Sprintf("%d %v", st, body["errors"])
		}
		return ""
	}
	if msg := query(b, `{ gnotesList { totalItems } }`); msg == "" {
		t.Fatal("gnotes is queryable before it exists")
	}
	status, body := call(t, http.MethodPost, a, "/api/collections", token, map[string]any{
		"name": "gnotes", "type": "base", "listRule": "", "fields": []map[string]any{{"name": "title", "type": "text"}},
	})
	if status != http.StatusOK {
		t.Fatalf("create collection on A: %d %v", status, body)
	}
	if took, msg := within(time.Second, func() string { return query(b, `{ gnotesList { items { title } } }`) }); msg != "" {
		t.Fatalf("collection created on A not in B's schema after %v: %s", took, msg)
	}
	status, body = call(t, http.MethodPatch, a, "/api/collections/gnotes", token, map[string]any{
		"fields": []map[string]any{{"name": "title", "type": "text"}, {"name": "rank", "type": "number"}},
	})
	if status != http.StatusOK {
		t.Fatalf("add a field on A: %d %v", status, body)
	}
	if took, msg := within(time.Second, func() string { return query(b, `{ gnotesList { items { rank } } }`) }); msg != "" {
		t.Fatalf("field added on A not in B's schema after %v: %s", took, msg)
	}
}
