package rpc

import (
	"context"
	"net/http"
	"strconv"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/basalt-dev/basalt/internal/api/caller"
	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
	"github.com/basalt-dev/basalt/internal/record"
)

// List is GET /api/collections/{collection}/records.
func (s *service) List(ctx context.Context, in *connect.Request[basaltv1.ListRequest]) (*connect.Response[basaltv1.ListResponse], error) {
	m := in.Msg
	opts := record.ListOptions{
		Page: nonNegative(m.Page), PerPage: nonNegative(m.PerPage),
		Sort: m.Sort, Filter: m.Filter, Expand: m.Expand, SkipTotal: m.SkipTotal,
	}
	query := map[string]string{}
	addQuery(query, "filter", m.Filter)
	addQuery(query, "sort", m.Sort)
	addQuery(query, "expand", m.Expand)
	if m.Page != 0 {
		query["page"] = strconv.Itoa(int(m.Page))
	}
	if m.PerPage != 0 {
		query["perPage"] = strconv.Itoa(int(m.PerPage))
	}
	if m.SkipTotal {
		query["skipTotal"] = "true"
	}
	req := s.request(ctx, in.Header(), http.MethodGet, query)
	res, err := s.records.List(ctx, req, m.Collection, opts)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &basaltv1.ListResponse{
		Page: int32(res.Page), PerPage: int32(res.PerPage),
		TotalItems: int64(res.TotalItems), TotalPages: int64(res.TotalPages),
		Items: make([]*structpb.Struct, len(res.Items)),
	}
	exp := s.records.NewExporter(req)
	for i, it := range res.Items {
		if out.Items[i], err = encodeItem(exp, it); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	return connect.NewResponse(out), nil
}

// Get is GET /api/collections/{collection}/records/{id}.
func (s *service) Get(ctx context.Context, in *connect.Request[basaltv1.GetRequest]) (*connect.Response[basaltv1.GetResponse], error) {
	m := in.Msg
	query := map[string]string{}
	addQuery(query, "expand", m.Expand)
	req := s.request(ctx, in.Header(), http.MethodGet, query)
	it, err := s.records.View(ctx, req, m.Collection, m.Id, m.Expand)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	rec, err := encodeItem(s.records.NewExporter(req), it)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return connect.NewResponse(&basaltv1.GetResponse{Record: rec}), nil
}

// Create is POST /api/collections/{collection}/records with a JSON body.
func (s *service) Create(ctx context.Context, in *connect.Request[basaltv1.CreateRequest]) (*connect.Response[basaltv1.CreateResponse], error) {
	m := in.Msg
	rec, err := s.write(ctx, in.Header(), http.MethodPost, m.Data, m.Expand, func(req *record.Request, data record.Input) (*record.Item, error) {
		return s.records.Create(ctx, req, m.Collection, data, m.Expand)
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&basaltv1.CreateResponse{Record: rec}), nil
}

// Update is PATCH /api/collections/{collection}/records/{id}.
func (s *service) Update(ctx context.Context, in *connect.Request[basaltv1.UpdateRequest]) (*connect.Response[basaltv1.UpdateResponse], error) {
	m := in.Msg
	rec, err := s.write(ctx, in.Header(), http.MethodPatch, m.Data, m.Expand, func(req *record.Request, data record.Input) (*record.Item, error) {
		return s.records.Update(ctx, req, m.Collection, m.Id, data, m.Expand)
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&basaltv1.UpdateResponse{Record: rec}), nil
}

// write decodes data, runs op and encodes its record as the caller sees it.
func (s *service) write(ctx context.Context, h http.Header, method string, data *structpb.Struct, expand string,
	op func(req *record.Request, in record.Input) (*record.Item, error)) (*structpb.Struct, error) {
	fields, err := decodeData(data)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	query := map[string]string{}
	addQuery(query, "expand", expand)
	req := s.request(ctx, h, method, query)
	it, err := op(req, record.Input{Data: fields})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	rec, err := encodeItem(s.records.NewExporter(req), it)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return rec, nil
}

// Delete is DELETE /api/collections/{collection}/records/{id}.
func (s *service) Delete(ctx context.Context, in *connect.Request[basaltv1.DeleteRequest]) (*connect.Response[basaltv1.DeleteResponse], error) {
	req := s.request(ctx, in.Header(), http.MethodDelete, nil)
	if err := s.records.Delete(ctx, req, in.Msg.Collection, in.Msg.Id); err != nil {
		return nil, s.fail(ctx, err)
	}
	return connect.NewResponse(&basaltv1.DeleteResponse{}), nil
}

// request describes the caller to the record service as the REST
// transport does for the equivalent request: the method REST would see,
// the query parameters REST would carry, the request's headers (gRPC
// metadata included) and the authenticated record.
func (s *service) request(ctx context.Context, h http.Header, method string, query map[string]string) *record.Request {
	headers := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			headers[caller.HeaderKey(k)] = v[0]
		}
	}
	req := &record.Request{Method: method, Context: "default", Query: query, Headers: headers, Auth: caller.Auth(ctx)}
	s.records.Visibility(ctx, req)
	return req
}

func addQuery(q map[string]string, key, value string) {
	if value != "" {
		q[key] = value
	}
}

// nonNegative treats a negative page or page size as unset, as REST does.
func nonNegative(n int32) int {
	return int(max(n, 0))
}
