package realtime

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/basalt-dev/basalt/internal/record"
)

// OAuth2Topic is the topic a client subscribes to while it waits for the
// result of an OAuth2 popup flow; the redirect endpoint publishes the
// provider's answer to it (the client id doubles as the OAuth2 state).
const OAuth2Topic = "@oauth2"

// subscription is one parsed topic of a client.
type subscription struct {
	// raw is the topic exactly as the client wrote it, options included:
	// the name of the SSE events it receives.
	raw string
	// collection names the collection (by name or id) for record topics,
	// "" for other topics.
	collection string
	// recordID is the record of a "collection/id" topic; "" for
	// "collection/*" and the legacy "collection".
	recordID string
	// options is the raw "options" parameter, which keys the per-event
	// cache of access checks (with the client's auth and the rule).
	options string
	query   map[string]string
	headers map[string]string
	// after is the outbox position when the subscription began: events
	// with a Seq at most after were committed before it and are not
	// delivered to it (the dispatcher may still be on its way with them).
	after int64
}

// rule is the access rule the topic is checked against.
func (s *subscription) rule() record.Rule {
	if s.recordID != "" {
		return record.ViewRule
	}
	return record.ListRule
}

// subscriptionOptions is the JSON of a topic's "options" parameter.
type subscriptionOptions struct {
	Query   map[string]any `json:"query"`
	Headers map[string]any `json:"headers"`
}

// parseTopic parses a subscription topic: "coll/*", "coll/RECORD_ID" or the
// legacy "coll" (by collection name or id), optionally followed by
// "?options=" and URL-encoded JSON {"query":{...},"headers":{...}}; any other
// topic (such as "@oauth2") is kept as a plain name. Options that do not
// parse are ignored, as PocketBase ignores them.
func parseTopic(raw string) *subscription {
	s := &subscription{raw: raw}
	topic, rawQuery, _ := strings.Cut(raw, "?")
	if rawQuery != "" {
		if values, err := url.ParseQuery(rawQuery); err == nil {
			s.options = values.Get("options")
		}
	}
	if s.options != "" {
		var opts subscriptionOptions
		if json.Unmarshal([]byte(s.options), &opts) == nil {
			s.query = make(map[string]string, len(opts.Query))
			for k, v := range opts.Query {
				s.query[k] = stringOf(v)
			}
			s.headers = make(map[string]string, len(opts.Headers))
			for k, v := range opts.Headers {
				s.headers[headerKey(k)] = stringOf(v)
			}
		}
	}
	if strings.HasPrefix(topic, "@") {
		return s
	}
	coll, id, hasID := strings.Cut(topic, "/")
	if coll == "" || (hasID && (id == "" || strings.Contains(id, "/"))) {
		return s
	}
	s.collection = coll
	if hasID && id != "*" {
		s.recordID = id
	}
	return s
}

// stringOf renders an option value as PocketBase does: query and header
// values are single strings.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64, bool:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// headerKey turns a header name into its @request.headers key: lower case,
// with every character other than a letter or digit turned into "_"
// ("X-Token" becomes "x_token").
func headerKey(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
