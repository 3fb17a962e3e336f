package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
)

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCRUD runs create, get, list, update and delete over each protocol.
func TestCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, p := range protocols() {
		t.Run(p.name, func(t *testing.T) {
			c := e.client(p)
			created, err := c.Create(ctx, as(e, "alice", &basaltv1.CreateRequest{Collection: "posts", Expand: "owner", Data: mustStruct(t, map[string]any{
				"title": "hello " + p.name, "n": 42, "tags": []any{"a", map[string]any{"b": true}}, "owner": e.ids["alice"],
			})}))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			rec := created.Msg.Record.AsMap()
			id, _ := rec["id"].(string)
			if len(id) != 15 || rec["title"] != "hello "+p.name || rec["n"] != 42.0 || rec["collectionName"] != "posts" {
				t.Fatalf("created: %v", rec)
			}
			if owner, _ := rec["expand"].(map[string]any)["owner"].(map[string]any); owner["name"] != "alice" {
				t.Errorf("expanded owner: %v", rec["expand"])
			}
			if tags, _ := json.Marshal(rec["tags"]); string(tags) != `["a",{"b":true}]` {
				t.Errorf("tags: %s", tags)
			}

			got, err := c.Get(ctx, as(e, "alice", &basaltv1.GetRequest{Collection: "posts", Id: id}))
			if err != nil || got.Msg.Record.AsMap()["title"] != "hello "+p.name {
				t.Fatalf("Get: %v %v", got, err)
			}

			list, err := c.List(ctx, as(e, "alice", &basaltv1.ListRequest{Collection: "posts", Filter: "title = 'hello " + p.name + "'", Sort: "-created", PerPage: 5}))
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if m := list.Msg; m.Page != 1 || m.PerPage != 5 || m.TotalItems != 1 || m.TotalPages != 1 || len(m.Items) != 1 || m.Items[0].AsMap()["id"] != id {
				t.Fatalf("List: %v", m)
			}
			skip, err := c.List(ctx, as(e, "alice", &basaltv1.ListRequest{Collection: "posts", SkipTotal: true}))
			if err != nil || skip.Msg.TotalItems != -1 || skip.Msg.TotalPages != -1 {
				t.Fatalf("List skip_total: %v %v", skip, err)
			}

			upd, err := c.Update(ctx, as(e, "alice", &basaltv1.UpdateRequest{Collection: "posts", Id: id, Data: mustStruct(t, map[string]any{"title": "edited", "n+": 1})}))
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if r := upd.Msg.Record.AsMap(); r["title"] != "edited" || r["n"] != 43.0 {
				t.Errorf("updated: %v", r)
			}

			if _, err := c.Delete(ctx, as(e, "alice", &basaltv1.DeleteRequest{Collection: "posts", Id: id})); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := c.Get(ctx, as(e, "alice", &basaltv1.GetRequest{Collection: "posts", Id: id})); codeOf(err) != connect.CodeNotFound {
				t.Errorf("Get after Delete: %v, want not_found", err)
			}
		})
	}
}

// TestRulesMatchREST: every caller sees over RPC exactly the records, and
// the same JSON, as over REST.
func TestRulesMatchREST(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for _, p := range []struct {
		owner  string
		public bool
	}{{"alice", false}, {"alice", true}, {"bob", false}, {"bob", true}} {
		var rec map[string]any
		e.rest("POST", "/api/collections/posts/records", p.owner, map[string]any{"title": p.owner, "public": p.public, "owner": e.ids[p.owner]}, 200, &rec)
		ids = append(ids, rec["id"].(string))
	}
	for _, p := range protocols() {
		c := e.client(p)
		for _, user := range []string{"", "alice", "bob", "su"} {
			var page struct{ Items []map[string]any }
			status, body := e.restStatus("GET", "/api/collections/posts/records?sort=created&expand=owner", user, nil)
			if status == 200 {
				json.Unmarshal(body, &page)
			}
			res, err := c.List(ctx, as(e, user, &basaltv1.ListRequest{Collection: "posts", Sort: "created", Expand: "owner"}))
			if status != 200 {
				t.Fatalf("%s %q: REST list answered %d", p.name, user, status)
			}
			if err != nil {
				t.Fatalf("%s %q: List: %v", p.name, user, err)
			}
			got := make([]map[string]any, len(res.Msg.Items))
			for i, it := range res.Msg.Items {
				got[i] = it.AsMap()
			}
			if !sameJSON(got, page.Items) {
				t.Errorf("%s %q: List %v, REST %v", p.name, user, got, page.Items)
			}
			for _, id := range ids {
				status, body := e.restStatus("GET", "/api/collections/posts/records/"+id, user, nil)
				res, err := c.Get(ctx, as(e, user, &basaltv1.GetRequest{Collection: "posts", Id: id}))
				switch {
				case status == 200 && err == nil:
					var want map[string]any
					json.Unmarshal(body, &want)
					if !sameJSON(res.Msg.Record.AsMap(), want) {
						t.Errorf("%s %q Get %s: %v, REST %s", p.name, user, id, res.Msg.Record.AsMap(), body)
					}
				case status == 404 && codeOf(err) == connect.CodeNotFound:
				default:
					t.Errorf("%s %q Get %s: %v, REST %d", p.name, user, id, err, status)
				}
			}
		}
	}
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestErrors: service errors arrive with their status codes, client-safe
// messages and field problems, over every protocol.
func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.rest("POST", "/api/collections", "su", map[string]any{"name": "secrets", "type": "base", "fields": []any{map[string]any{"name": "v", "type": "text"}}}, 200, nil)
	var post map[string]any
	e.rest("POST", "/api/collections/posts/records", "alice", map[string]any{"title": "a", "owner": e.ids["alice"]}, 200, &post)
	nan := &structpb.Struct{Fields: map[string]*structpb.Value{"title": structpb.NewNumberValue(math.NaN())}}
	noKind := &structpb.Struct{Fields: map[string]*structpb.Value{"title": {}}}
	huge := mustStruct(t, map[string]any{"title": strings.Repeat("x", 2<<20)})
	tests := []struct {
		name   string
		call   func(c clientT) error
		code   connect.Code
		fields map[string]string // field -> reason
		// binary: values JSON cannot carry, which a JSON client refuses
		// to send
		binary bool
	}{
		{"unknown collection", func(c clientT) error {
			_, err := c.List(ctx, as(e, "alice", &basaltv1.ListRequest{Collection: "nope"}))
			return err
		}, connect.CodeNotFound, nil, false},
		{"missing record", func(c clientT) error {
			_, err := c.Get(ctx, as(e, "alice", &basaltv1.GetRequest{Collection: "posts", Id: "missing00000000"}))
			return err
		}, connect.CodeNotFound, nil, false},
		{"superusers only", func(c clientT) error {
			_, err := c.List(ctx, as(e, "alice", &basaltv1.ListRequest{Collection: "secrets"}))
			return err
		}, connect.CodePermissionDenied, nil, false},
		{"bad filter", func(c clientT) error {
			_, err := c.List(ctx, as(e, "alice", &basaltv1.ListRequest{Collection: "posts", Filter: "title ==="}))
			return err
		}, connect.CodeInvalidArgument, nil, false},
		{"required field", func(c clientT) error {
			_, err := c.Create(ctx, as(e, "alice", &basaltv1.CreateRequest{Collection: "posts", Data: mustStruct(t, map[string]any{"n": 1})}))
			return err
		}, connect.CodeInvalidArgument, map[string]string{"title": "validation_required"}, false},
		{"NaN", func(c clientT) error {
			_, err := c.Create(ctx, as(e, "alice", &basaltv1.CreateRequest{Collection: "posts", Data: nan}))
			return err
		}, connect.CodeInvalidArgument, map[string]string{"title": "validation_invalid_value"}, true},
		{"value without kind", func(c clientT) error {
			_, err := c.Update(ctx, as(e, "alice", &basaltv1.UpdateRequest{Collection: "posts", Id: post["id"].(string), Data: noKind}))
			return err
		}, connect.CodeInvalidArgument, map[string]string{"title": "validation_invalid_value"}, true},
		{"huge message", func(c clientT) error {
			_, err := c.Create(ctx, as(e, "alice", &basaltv1.CreateRequest{Collection: "posts", Data: huge}))
			return err
		}, connect.CodeResourceExhausted, nil, false},
		{"other's record", func(c clientT) error {
			_, err := c.Delete(ctx, as(e, "bob", &basaltv1.DeleteRequest{Collection: "posts", Id: post["id"].(string)}))
			return err
		}, connect.CodeNotFound, nil, false},
		{"watch without collection", func(c clientT) error {
			s, err := c.Watch(ctx, as(e, "alice", &basaltv1.WatchRequest{}))
			if err != nil {
				return err
			}
			defer s.Close()
			for s.Receive() {
			}
			return s.Err()
		}, connect.CodeInvalidArgument, map[string]string{"collection": "validation_required"}, false},
		{"watch a topic-breaking id", func(c clientT) error {
			s, err := c.Watch(ctx, as(e, "alice", &basaltv1.WatchRequest{Collection: "posts", Id: "x/../y?options=z"}))
			if err != nil {
				return err
			}
			defer s.Close()
			for s.Receive() {
			}
			return s.Err()
		}, connect.CodeInvalidArgument, map[string]string{"id": "validation_invalid_value"}, false},
	}
	for _, p := range protocols() {
		c := e.client(p)
		for _, tt := range tests {
			if tt.binary && p.name == "connect" {
				continue
			}
			err := tt.call(c)
			if codeOf(err) != tt.code {
				t.Errorf("%s %s: %v, want %v", p.name, tt.name, err, tt.code)
				continue
			}
			var ce *connect.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%s %s: %T", p.name, tt.name, err)
			}
			mustNotContain(t, ce.Message(), "sqlite", "SQL", "panic", "runtime")
			got := map[string]string{}
			for _, d := range ce.Details() {
				v, err := d.Value()
				if err != nil {
					t.Fatalf("%s %s: detail: %v", p.name, tt.name, err)
				}
				if br, ok := v.(*errdetails.BadRequest); ok {
					for _, fv := range br.FieldViolations {
						got[fv.Field] = fv.Reason
						if fv.Description == "" {
							t.Errorf("%s %s: violation without description", p.name, tt.name)
						}
					}
				}
			}
			if tt.fields != nil && !sameJSON(got, tt.fields) {
				t.Errorf("%s %s: field violations %v, want %v", p.name, tt.name, got, tt.fields)
			}
		}
	}
}

type clientT = interface {
	List(context.Context, *connect.Request[basaltv1.ListRequest]) (*connect.Response[basaltv1.ListResponse], error)
	Get(context.Context, *connect.Request[basaltv1.GetRequest]) (*connect.Response[basaltv1.GetResponse], error)
	Create(context.Context, *connect.Request[basaltv1.CreateRequest]) (*connect.Response[basaltv1.CreateResponse], error)
	Update(context.Context, *connect.Request[basaltv1.UpdateRequest]) (*connect.Response[basaltv1.UpdateResponse], error)
	Delete(context.Context, *connect.Request[basaltv1.DeleteRequest]) (*connect.Response[basaltv1.DeleteResponse], error)
	Watch(context.Context, *connect.Request[basaltv1.WatchRequest]) (*connect.ServerStreamForClient[basaltv1.WatchResponse], error)
}

// TestRecordsAsREST: a record's Struct is the JSON REST answers, field for
// field (protojson of the Struct is that JSON object).
func TestRecordsAsREST(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var rec map[string]any
	e.rest("POST", "/api/collections/posts/records", "alice", map[string]any{"title": "x", "tags": map[string]any{"k": []any{1, "two", nil}}, "owner": e.ids["alice"]}, 200, &rec)
	c := e.client(protocols()[0])
	res, err := c.Get(context.Background(), as(e, "alice", &basaltv1.GetRequest{Collection: "posts", Id: rec["id"].(string)}))
	if err != nil {
		t.Fatal(err)
	}
	data, err := protojson.Marshal(res.Msg.Record)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(data, &got)
	if !sameJSON(got, rec) {
		t.Errorf("record %s, REST %v", data, rec)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Contains(keys, "created") || !slices.Contains(keys, "collectionId") {
		t.Errorf("keys %v", keys)
	}
}
