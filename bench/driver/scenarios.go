package main

import (
	"context"
	"errors"
	"net/url"
)

// scenario is one measured workload against a Basalt instance.
type scenario struct {
	name string
	// load builds the wrk run against in; nil when custom measures it.
	load func(in *instance) load
	// custom measures scenarios that wrk cannot drive alone.
	custom func(ctx context.Context, b *bench, in *instance) (*result, error)
}

const recordsPath = "/api/collections/posts/records"

// filteredQuery is the filtered and sorted list: views is not indexed, so
// SQLite scans the table and sorts the matches.
var filteredQuery = url.Values{
	"perPage": {"30"},
	"filter":  {"views>500 && published=true"},
	"sort":    {"-views"},
}.Encode()

// scenarios in the order they run. Creates go to a twin of posts, so that
// the reads of every round see the same 10,000 posts.
var scenarios = []scenario{
	{name: "view", load: func(in *instance) load {
		return load{url: in.base + recordsPath + "/x", script: "view.lua", args: []string{in.idsFile, recordsPath + "/"}}
	}},
	{name: "grpc-get", custom: grpcGet},
	{name: "list", load: func(in *instance) load {
		return load{url: in.base + recordsPath + "?perPage=30", script: "get.lua"}
	}},
	{name: "list-skiptotal", load: func(in *instance) load {
		return load{url: in.base + recordsPath + "?perPage=30&skipTotal=1", script: "get.lua"}
	}},
	{name: "list-filtered", load: func(in *instance) load {
		return load{url: in.base + recordsPath + "?" + filteredQuery, script: "get.lua"}
	}},
	{name: "create", load: func(in *instance) load {
		return load{url: in.base + "/api/collections/" + createCollection + "/records", script: "create.lua"}
	}},
	{name: "login", load: func(in *instance) load {
		return load{url: in.base + "/api/collections/users/auth-with-password", script: "login.lua",
			args: []string{userEmail, userPass}}
	}},
	{name: "rest-expand", load: func(in *instance) load {
		return load{url: in.base + articlesPath + restExpandQuery, script: "get.lua"}
	}},
	{name: "graphql-list", load: func(in *instance) load {
		return load{url: in.base + "/api/graphql", script: "post.lua", args: []string{in.graphqlFile}}
	}},
	{name: "realtime", custom: realtimeFanout},
}

// errNotMeasured marks a scenario a target cannot serve.
var errNotMeasured = errors.New("not measured yet")

func knownScenario(name string) bool {
	for _, s := range scenarios {
		if s.name == name {
			return true
		}
	}
	return name == "bare"
}

func scenarioNames() []string {
	names := []string{"bare"}
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return names
}
