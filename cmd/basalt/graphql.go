package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/basalt-dev/basalt/internal/api/graphql"
	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/schema"
)

// graphqlFlags registers the GraphQL limit flags (docs/graphql.md) on fs,
// each defaulting to its BASALT_* environment variable.
func graphqlFlags(fs *flag.FlagSet, getenv func(string) string, l *graphql.Limits) error {
	*l = graphql.DefaultLimits()
	ints := []struct {
		name, env string
		p         *int
		usage     string
	}{
		{"graphql-max-query-size", "BASALT_GRAPHQL_MAX_QUERY_SIZE", &l.MaxQuerySize, "longest GraphQL query text, in bytes (0: no limit)"},
		{"graphql-max-depth", "BASALT_GRAPHQL_MAX_DEPTH", &l.MaxDepth, "deepest nesting of a GraphQL query's selections (0: no limit)"},
		{"graphql-max-complexity", "BASALT_GRAPHQL_MAX_COMPLEXITY", &l.MaxComplexity, "highest GraphQL query cost: 1 per field, lists multiplied by their length (0: no limit)"},
		{"graphql-max-aliases", "BASALT_GRAPHQL_MAX_ALIASES", &l.MaxAliases, "most aliases in a GraphQL document (0: no limit)"},
		{"graphql-max-root-fields", "BASALT_GRAPHQL_MAX_ROOT_FIELDS", &l.MaxRootFields, "most root fields in a GraphQL operation (0: no limit)"},
	}
	for _, i := range ints {
		v := *i.p
		if s := getenv(i.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return fmt.Errorf("%s: want a count, got %q", i.env, s)
			}
			v = n
		}
		fs.IntVar(i.p, i.name, v, i.usage)
	}
	timeout := l.Timeout
	if s := getenv("BASALT_GRAPHQL_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("BASALT_GRAPHQL_TIMEOUT: %w", err)
		}
		timeout = d
	}
	fs.DurationVar(&l.Timeout, "graphql-timeout", timeout, "time limit of one GraphQL query or mutation (0: none)")
	intro := l.Introspection
	if s := getenv("BASALT_GRAPHQL_INTROSPECTION"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("BASALT_GRAPHQL_INTROSPECTION: %w", err)
		}
		intro = b
	}
	fs.BoolVar(&l.Introspection, "graphql-introspection", intro, "answer GraphQL introspection queries (__schema, __type)")
	return nil
}

// graphqlMounts returns the /api/graphql transport, mounted behind the
// REST middleware; subscriptions read the realtime broker's feed.
func graphqlMounts(a *app, broker *realtime.Broker, limits graphql.Limits, logger *slog.Logger) map[string]http.Handler {
	return map[string]http.Handler{graphql.Path: graphql.New(graphql.Deps{
		Records: a.records, Collections: a.collections, Logger: logger, Limits: limits,
		Subscriptions: broker,
		Authenticate: func(ctx context.Context, header string) (*schema.Record, error) {
			rec, _, err := a.auth.Authenticate(ctx, header)
			return rec, err
		},
	})}
}
