// Package graphql is Basalt's GraphQL transport, served at /api/graphql. Its
// schema is generated from the live collections and rebuilt when they
// change; each collection gets a typed object (relations and back-relations
// as nested fields), list and one-by-id queries, create/update/delete
// mutations and a change subscription over the graphql-transport-ws
// WebSocket protocol. Queries are checked against configurable limits
// (size, depth, complexity, aliases, root fields, time) before they run.
//
// The package is thin: it decodes a request, calls internal/record's
// service (where rules, validation, expansion and field visibility live)
// and encodes the result, so a rule hides the same rows and fields here as
// over REST. It wraps github.com/graphql-go/graphql, which no other package
// imports. graphql imports services, leaf packages and other transports
// (caller, realtime); never adapters.
package graphql
