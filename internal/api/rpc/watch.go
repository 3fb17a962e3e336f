package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/connect"

	"github.com/basalt-dev/basalt/internal/api/caller"
	"github.com/basalt-dev/basalt/internal/api/realtime"
	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
	"github.com/basalt-dev/basalt/internal/apperr"
)

// action returns the stream's action for a realtime action.
func action(a string) basaltv1.Action {
	switch a {
	case "create":
		return basaltv1.Action_ACTION_CREATE
	case "update":
		return basaltv1.Action_ACTION_UPDATE
	case "delete":
		return basaltv1.Action_ACTION_DELETE
	}
	return basaltv1.Action_ACTION_UNSPECIFIED
}

// Watch streams the changes of a collection or record through the realtime
// broker's feed (realtime.Broker.Watch): the topic "collection/*" (list
// rule) or "collection/id" (view rule), with the request's filter, expand,
// fields and headers as the topic's options, so a watcher receives what an
// SSE subscriber with the same auth receives. The first message is
// ACTION_READY. The stream ends when the client goes away, with
// ResourceExhausted when it reads too slowly, and with Unavailable at
// server shutdown.
func (s *service) Watch(ctx context.Context, in *connect.Request[basaltv1.WatchRequest], stream *connect.ServerStream[basaltv1.WatchResponse]) error {
	if s.watcher == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("Watching is not available on this server."))
	}
	topic, err := s.topic(in.Msg, in.Header())
	if err != nil {
		return s.fail(ctx, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed, err := s.watcher.Watch(ctx, caller.Auth(ctx), []string{topic})
	if err != nil {
		return s.fail(ctx, err)
	}
	if err := stream.Send(&basaltv1.WatchResponse{Action: basaltv1.Action_ACTION_READY}); err != nil {
		return err
	}
	for m := range feed {
		switch {
		case errors.Is(m.Err, realtime.ErrTooSlow):
			return connect.NewError(connect.CodeResourceExhausted, errors.New("The client read changes too slowly and fell behind."))
		case m.Err != nil:
			return connect.NewError(connect.CodeUnavailable, errors.New("The server is shutting down."))
		}
		change, err := m.Decode()
		if err != nil {
			return s.fail(ctx, err)
		}
		rec, err := encodeRecord(change.Record)
		if err != nil {
			return s.fail(ctx, err)
		}
		if err := stream.Send(&basaltv1.WatchResponse{Action: action(change.Action), Record: rec}); err != nil {
			return err // the client went away
		}
	}
	return ctx.Err()
}

// topic returns the realtime topic of a watch request, checking that the
// collection exists.
func (s *service) topic(m *basaltv1.WatchRequest, h http.Header) (string, error) {
	fe := apperr.FieldErrors{}
	if m.Collection == "" {
		fe.Add("collection", "validation_required", "Cannot be blank.")
	}
	// The topic syntax reserves these characters.
	if strings.ContainsAny(m.Collection, "/?@") {
		fe.Add("collection", "validation_invalid_value", "Invalid collection name or id.")
	}
	if strings.ContainsAny(m.Id, "/?*\r\n") {
		fe.Add("id", "validation_invalid_value", "Invalid record id.")
	}
	if err := fe.Err("Something went wrong while processing your request."); err != nil {
		return "", err
	}
	c, err := s.records.Collection(m.Collection)
	if err != nil {
		return "", err
	}
	topic := c.Name + "/*"
	if m.Id != "" {
		topic = c.Name + "/" + m.Id
	}
	query := map[string]string{}
	addQuery(query, "filter", m.Filter)
	addQuery(query, "expand", m.Expand)
	addQuery(query, "fields", m.Fields)
	headers := make(map[string]string, len(h))
	for k, v := range h {
		// Credentials stay out of the topic, which delivery problems log.
		if len(v) > 0 && k != "Authorization" && k != "Cookie" {
			headers[k] = v[0]
		}
	}
	opts, err := json.Marshal(map[string]any{"query": query, "headers": headers})
	if err != nil {
		return "", err
	}
	return topic + "?options=" + url.QueryEscape(string(opts)), nil
}
