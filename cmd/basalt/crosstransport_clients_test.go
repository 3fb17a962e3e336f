package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
	"github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1/basaltv1connect"
)

// Verdicts: every transport's answer to an operation maps to one of these.
//
//	verdict          REST / batch (sub-response)  gRPC               GraphQL
//	allowed          200, 204                     OK                 data, no error
//	invalid          400                          INVALID_ARGUMENT   extensions.code "invalid" with a path
//	unauthenticated  401                          UNAUTHENTICATED    extensions.code "unauthenticated"
//	forbidden        403                          PERMISSION_DENIED  extensions.code "forbidden", or the
//	                                                                 field or input type is absent from
//	                                                                 the caller's schema (a null rule)
//	not_found        404                          NOT_FOUND          extensions.code "not_found"
//
// A list never fails because of rows: it hides them. A view, update or
// delete of a row the rule hides is not_found, as in PocketBase; a create
// whose rule fails is invalid (400 "Failed to create record.").
const (
	vAllowed         = "allowed"
	vInvalid         = "invalid"
	vUnauthenticated = "unauthenticated"
	vForbidden       = "forbidden"
	vNotFound        = "not_found"
)

// xtCaller is one identity of the matrix.
type xtCaller struct {
	name, token, id string
	super           bool
}

// xtOutcome is what one operation through one transport gave.
type xtOutcome struct {
	verdict string
	rows    []map[string]any // projected records: the list, the viewed or written record
	detail  string           // the raw answer, for failure messages
}

// xtTransport performs record operations through one transport; list and
// view are nil for transports that only write (batch).
type xtTransport struct {
	name   string
	list   func(c xtCaller, coll, filter string) xtOutcome
	view   func(c xtCaller, coll, id string) xtOutcome
	create func(c xtCaller, coll string, data map[string]any) xtOutcome
	update func(c xtCaller, coll, id string, data map[string]any) xtOutcome
	delete func(c xtCaller, coll, id string) xtOutcome
}

// xtFields are the record keys the matrix compares.
var xtFields = []string{"id", "title", "owner", "published", "secret"}

// xtProject keeps the compared keys of a record.
func xtProject(rec map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range xtFields {
		if v, ok := rec[k]; ok {
			out[k] = v
		}
	}
	return out
}

// xtClient sends JSON over HTTP/1.1 to the server under test.
type xtClient struct {
	t    *testing.T
	addr string
	hc   *http.Client
}

func (c *xtClient) do(method, path, token string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+c.addr+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// xtHTTPVerdict maps a REST status to a verdict.
func xtHTTPVerdict(status int) string {
	switch status {
	case http.StatusOK, http.StatusNoContent:
		return vAllowed
	case http.StatusBadRequest:
		return vInvalid
	case http.StatusUnauthorized:
		return vUnauthenticated
	case http.StatusForbidden:
		return vForbidden
	case http.StatusNotFound:
		return vNotFound
	}
	return "status " + strconv.Itoa(status)
}

// xtREST speaks the REST API.
func xtREST(c *xtClient) xtTransport {
	one := func(status int, raw []byte) xtOutcome {
		o := xtOutcome{verdict: xtHTTPVerdict(status), detail: string(raw)}
		var rec map[string]any
		if o.verdict == vAllowed && json.Unmarshal(raw, &rec) == nil && rec != nil {
			o.rows = []map[string]any{xtProject(rec)}
		}
		return o
	}
	path := func(coll string) string { return "/api/collections/" + coll + "/records" }
	return xtTransport{
		name: "rest",
		list: func(u xtCaller, coll, filter string) xtOutcome {
			status, raw := c.do("GET", path(coll)+"?perPage=500&filter="+xtQueryEscape(filter), u.token, nil)
			o := xtOutcome{verdict: xtHTTPVerdict(status), detail: string(raw)}
			var page struct{ Items []map[string]any }
			if o.verdict == vAllowed {
				if err := json.Unmarshal(raw, &page); err != nil {
					o.verdict = "undecodable: " + err.Error()
				}
				for _, it := range page.Items {
					o.rows = append(o.rows, xtProject(it))
				}
			}
			return o
		},
		view: func(u xtCaller, coll, id string) xtOutcome {
			return one(c.do("GET", path(coll)+"/"+id, u.token, nil))
		},
		create: func(u xtCaller, coll string, data map[string]any) xtOutcome {
			return one(c.do("POST", path(coll), u.token, data))
		},
		update: func(u xtCaller, coll, id string, data map[string]any) xtOutcome {
			return one(c.do("PATCH", path(coll)+"/"+id, u.token, data))
		},
		delete: func(u xtCaller, coll, id string) xtOutcome {
			return one(c.do("DELETE", path(coll)+"/"+id, u.token, nil))
		},
	}
}

// xtBatch sends each write as a batch of one; a refused
// sub-request fails the batch with 400 and its own status in
// data.requests.0.response.status, which gives the verdict.
func xtBatch(c *xtClient) xtTransport {
	send := func(u xtCaller, method, url string, body map[string]any) xtOutcome {
		sub := map[string]any{"method": method, "url": url}
		if body != nil {
			sub["body"] = body
		}
		status, raw := c.do("POST", "/api/batch", u.token, map[string]any{"requests": []any{sub}})
		o := xtOutcome{detail: string(raw)}
		switch status {
		case http.StatusOK:
			var items []struct {
				Status int
				Body   map[string]any
			}
			if err := json.Unmarshal(raw, &items); err != nil || len(items) != 1 {
				o.verdict = fmt.Sprintf("undecodable batch answer: %v", err)
				return o
			}
			o.verdict = xtHTTPVerdict(items[0].Status)
			if items[0].Body != nil {
				o.rows = []map[string]any{xtProject(items[0].Body)}
			}
		case http.StatusBadRequest:
			var env struct {
				Data struct {
					Requests map[string]struct {
						Response struct{ Status int }
					}
				}
			}
			_ = json.Unmarshal(raw, &env)
			sub, ok := env.Data.Requests["0"]
			if !ok {
				o.verdict = "batch refused as a whole"
				return o
			}
			o.verdict = xtHTTPVerdict(sub.Response.Status)
		default:
			o.verdict = "batch " + xtHTTPVerdict(status)
		}
		return o
	}
	path := func(coll string) string { return "/api/collections/" + coll + "/records" }
	return xtTransport{
		name: "batch",
		create: func(u xtCaller, coll string, data map[string]any) xtOutcome {
			return send(u, "POST", path(coll), data)
		},
		update: func(u xtCaller, coll, id string, data map[string]any) xtOutcome {
			return send(u, "PATCH", path(coll)+"/"+id, data)
		},
		delete: func(u xtCaller, coll, id string) xtOutcome {
			return send(u, "DELETE", path(coll)+"/"+id, nil)
		},
	}
}

// xtRPCVerdict maps a gRPC status to a verdict.
func xtRPCVerdict(err error) string {
	if err == nil {
		return vAllowed
	}
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument:
		return vInvalid
	case connect.CodeUnauthenticated:
		return vUnauthenticated
	case connect.CodePermissionDenied:
		return vForbidden
	case connect.CodeNotFound:
		return vNotFound
	}
	return "grpc " + err.Error()
}

// xtGRPC speaks gRPC over h2c with the generated client.
func xtGRPC(t *testing.T, addr string) xtTransport {
	rc := basaltv1connect.NewRecordServiceClient(h2cClient(), "http://"+addr, connect.WithGRPC())
	ctx := context.Background()
	data := func(m map[string]any) *structpb.Struct {
		s, err := structpb.NewStruct(m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	one := func(rec *structpb.Struct, err error) xtOutcome {
		o := xtOutcome{verdict: xtRPCVerdict(err)}
		if err != nil {
			o.detail = err.Error()
		}
		if rec != nil {
			o.rows = []map[string]any{xtProject(rec.AsMap())}
		}
		return o
	}
	return xtTransport{
		name: "grpc",
		list: func(u xtCaller, coll, filter string) xtOutcome {
			res, err := rc.List(ctx, authed(&basaltv1.ListRequest{Collection: coll, PerPage: 500, Filter: filter}, u.token))
			o := xtOutcome{verdict: xtRPCVerdict(err)}
			if err != nil {
				o.detail = err.Error()
				return o
			}
			for _, it := range res.Msg.Items {
				o.rows = append(o.rows, xtProject(it.AsMap()))
			}
			return o
		},
		view: func(u xtCaller, coll, id string) xtOutcome {
			res, err := rc.Get(ctx, authed(&basaltv1.GetRequest{Collection: coll, Id: id}, u.token))
			if err != nil {
				return one(nil, err)
			}
			return one(res.Msg.Record, nil)
		},
		create: func(u xtCaller, coll string, d map[string]any) xtOutcome {
			res, err := rc.Create(ctx, authed(&basaltv1.CreateRequest{Collection: coll, Data: data(d)}, u.token))
			if err != nil {
				return one(nil, err)
			}
			return one(res.Msg.Record, nil)
		},
		update: func(u xtCaller, coll, id string, d map[string]any) xtOutcome {
			res, err := rc.Update(ctx, authed(&basaltv1.UpdateRequest{Collection: coll, Id: id, Data: data(d)}, u.token))
			if err != nil {
				return one(nil, err)
			}
			return one(res.Msg.Record, nil)
		},
		delete: func(u xtCaller, coll, id string) xtOutcome {
			_, err := rc.Delete(ctx, authed(&basaltv1.DeleteRequest{Collection: coll, Id: id}, u.token))
			return one(nil, err)
		},
	}
}

// xtGQLType is the GraphQL type name of a collection (docs/graphql.md).
func xtGQLType(coll string) string { return strings.ToUpper(coll[:1]) + coll[1:] }

// xtGQLSelection selects the compared fields a caller's schema holds: the
// hidden field exists only in the superusers' schema.
func xtGQLSelection(u xtCaller, coll string) string {
	sel := "id title owner"
	if coll == "posts" {
		sel += " published"
		if u.super {
			sel += " secret"
		}
	}
	return sel
}

// xtGQLAnswer is a GraphQL response.
type xtGQLAnswer struct {
	Data   map[string]json.RawMessage
	Errors []struct {
		Message    string
		Path       []any
		Extensions struct{ Code string }
	}
}

// verdict maps the first error to a verdict. An error without a path is a
// validation error: the field or type is absent from the caller's schema,
// which is how GraphQL expresses a null rule.
func (a xtGQLAnswer) verdict() string {
	if len(a.Errors) == 0 {
		return vAllowed
	}
	for _, e := range a.Errors {
		if e.Path == nil && e.Extensions.Code == vInvalid &&
			(strings.Contains(e.Message, "Cannot query field") || strings.Contains(e.Message, "Unknown type")) {
			return vForbidden
		}
	}
	e := a.Errors[0]
	switch e.Extensions.Code {
	case vInvalid, vUnauthenticated, vForbidden, vNotFound:
		return e.Extensions.Code
	}
	return "graphql " + e.Message
}

// xtGraphQL sends queries and mutations to /api/graphql.
func xtGraphQL(c *xtClient) xtTransport {
	ask := func(u xtCaller, query string, vars map[string]any, root string) (xtOutcome, json.RawMessage) {
		status, raw := c.do("POST", "/api/graphql", u.token, map[string]any{"query": query, "variables": vars})
		o := xtOutcome{detail: string(raw)}
		var a xtGQLAnswer
		if status != http.StatusOK || json.Unmarshal(raw, &a) != nil {
			o.verdict = "graphql " + xtHTTPVerdict(status)
			return o, nil
		}
		o.verdict = a.verdict()
		return o, a.Data[root]
	}
	one := func(o xtOutcome, data json.RawMessage) xtOutcome {
		var rec map[string]any
		if o.verdict == vAllowed && json.Unmarshal(data, &rec) == nil && rec != nil {
			o.rows = []map[string]any{xtProject(rec)}
		}
		return o
	}
	return xtTransport{
		name: "graphql",
		list: func(u xtCaller, coll, filter string) xtOutcome {
			o, data := ask(u, fmt.Sprintf("query($f: String) {%sList(perPage: 500, filter: $f) { items { %s } }}", coll, xtGQLSelection(u, coll)), map[string]any{"f": filter}, coll+"List")
			if o.verdict == vAllowed {
				var page struct{ Items []map[string]any }
				if err := json.Unmarshal(data, &page); err != nil {
					o.verdict = "undecodable: " + err.Error()
				}
				for _, it := range page.Items {
					o.rows = append(o.rows, xtProject(it))
				}
			}
			return o
		},
		view: func(u xtCaller, coll, id string) xtOutcome {
			return one(ask(u, fmt.Sprintf("query($id: ID!) {%s(id: $id) { %s }}", coll, xtGQLSelection(u, coll)), map[string]any{"id": id}, coll))
		},
		create: func(u xtCaller, coll string, d map[string]any) xtOutcome {
			q := fmt.Sprintf("mutation($d: %sCreateInput!) {create%s(data: $d) { %s }}", xtGQLType(coll), xtGQLType(coll), xtGQLSelection(u, coll))
			return one(ask(u, q, map[string]any{"d": d}, "create"+xtGQLType(coll)))
		},
		update: func(u xtCaller, coll, id string, d map[string]any) xtOutcome {
			q := fmt.Sprintf("mutation($id: ID!, $d: %sUpdateInput!) {update%s(id: $id, data: $d) { %s }}", xtGQLType(coll), xtGQLType(coll), xtGQLSelection(u, coll))
			return one(ask(u, q, map[string]any{"id": id, "d": d}, "update"+xtGQLType(coll)))
		},
		delete: func(u xtCaller, coll, id string) xtOutcome {
			o, _ := ask(u, fmt.Sprintf("mutation($id: ID!) {delete%s(id: $id)}", xtGQLType(coll)), map[string]any{"id": id}, "delete"+xtGQLType(coll))
			return o
		},
	}
}

// xtQueryEscape is url.QueryEscape, named for the filter values it quotes.
func xtQueryEscape(s string) string { return url.QueryEscape(s) }
