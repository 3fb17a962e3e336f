package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
	"github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1/basaltv1connect"
)

// h2cClient speaks HTTP/2 without TLS, as gRPC clients do on a plain port.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

// authed wraps msg in a request carrying token as authorization metadata.
func authed[T any](msg *T, token string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", token)
	return req
}

func mustStructOf(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServeRPC: the served port answers gRPC over h2c next to HTTP/1.1
// REST, and a Watch stream outlives the write timeout, as realtime streams
// do.
func TestServeRPC(t *testing.T) {
	dir := t.TempDir()
	createSuperuser(t, dir)
	// The sign-in (a bcrypt check, seconds under -race on a busy machine)
	// and the setup happen on a first server without the short write
	// timeout; its token stays valid for the second.
	first, stopFirst := serveWith(t, dir, nil)
	token := superuserLogin(t, first)
	if status, body := call(t, "POST", first, "/api/collections", token, map[string]any{"name": "notes", "type": "base",
		"fields": []any{map[string]any{"name": "title", "type": "text"}}}); status != 200 {
		t.Fatalf("creating notes: %d %v", status, body)
	}
	stopFirst()
	addr, _ := serveWith(t, dir, nil, "--write-timeout", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := basaltv1connect.NewRecordServiceClient(h2cClient(), "http://"+addr, connect.WithGRPC())
	stream, err := c.Watch(ctx, authed(&basaltv1.WatchRequest{Collection: "notes"}, token))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() || stream.Msg().Action != basaltv1.Action_ACTION_READY {
		t.Fatalf("Watch: %v", stream.Err())
	}
	time.Sleep(1500 * time.Millisecond) // past the write timeout

	created, err := c.Create(ctx, authed(&basaltv1.CreateRequest{Collection: "notes", Data: mustStructOf(t, map[string]any{"title": "over h2c"})}, token))
	if err != nil {
		t.Fatalf("Create over h2c: %v", err)
	}
	id := created.Msg.Record.AsMap()["id"]
	if !stream.Receive() {
		t.Fatalf("Watch after the write timeout: %v", stream.Err())
	}
	if m := stream.Msg(); m.Action != basaltv1.Action_ACTION_CREATE || m.Record.AsMap()["id"] != id {
		t.Errorf("Watch: %v", m)
	}
	// REST over HTTP/1.1 on the same port sees the record.
	if status, body := call(t, "GET", addr, "/api/collections/notes/records/"+id.(string), token, nil); status != 200 || body["title"] != "over h2c" {
		t.Errorf("REST view: %d %v", status, body)
	}

	grpcurl := grpcurlPath(t)
	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, grpcurl, args...).CombinedOutput()
		return string(out), err
	}
	out, err := run("-plaintext", addr, "list")
	if err != nil || !strings.Contains(out, "basalt.v1.RecordService") || !strings.Contains(out, "grpc.reflection.v1.ServerReflection") {
		t.Errorf("grpcurl list: %v\n%s", err, out)
	}
	out, err = run("-plaintext", addr, "describe", "basalt.v1.RecordService")
	if err != nil || !strings.Contains(out, "rpc Get ( .basalt.v1.GetRequest ) returns ( .basalt.v1.GetResponse )") ||
		!strings.Contains(out, "rpc Watch ( .basalt.v1.WatchRequest ) returns ( stream .basalt.v1.WatchResponse )") {
		t.Errorf("grpcurl describe: %v\n%s", err, out)
	}
	out, err = run("-plaintext", "-H", "authorization: "+token, "-d", `{"collection":"notes","id":"`+id.(string)+`"}`, addr, "basalt.v1.RecordService/Get")
	if err != nil || !strings.Contains(out, `"title": "over h2c"`) || !strings.Contains(out, `"id": "`+id.(string)+`"`) {
		t.Errorf("grpcurl Get: %v\n%s", err, out)
	}
	// A guest may not view notes (null rules): the service's answer, not
	// the record, comes back.
	out, err = run("-plaintext", "-d", `{"collection":"notes","id":"`+id.(string)+`"}`, addr, "basalt.v1.RecordService/Get")
	if err == nil || !strings.Contains(out, "Code: PermissionDenied") || strings.Contains(out, "over h2c") {
		t.Errorf("grpcurl Get as a guest: %v\n%s", err, out)
	}
}

// grpcurlPath finds grpcurl (installed by .ci/run); without it the test is
// skipped, except under CI, where it must run.
func grpcurlPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "grpcurl")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("grpcurl is not installed: .ci/run installs it (go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3)")
	}
	t.Skip("grpcurl is not installed; go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3 to run this test")
	return ""
}

// TestServeRPCOverTLS: with TLS on, gRPC runs over HTTP/2 negotiated by
// ALPN.
func TestServeRPCOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := writeCert(t, certFile, keyFile, 1)
	addr, _ := serveWith(t, dir, tlsClient(cert), "--tls-cert", certFile, "--tls-key", keyFile)
	c := basaltv1connect.NewRecordServiceClient(tlsClient(cert), "https://"+addr, connect.WithGRPC())
	// users lists nobody to a guest: the call went through and the rule
	// answered.
	list, err := c.List(context.Background(), connect.NewRequest(&basaltv1.ListRequest{Collection: "users"}))
	if err != nil || len(list.Msg.Items) != 0 {
		t.Fatalf("List over TLS: %v %v", list, err)
	}
	res, err := c.List(context.Background(), connect.NewRequest(&basaltv1.ListRequest{Collection: "nope"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("List of an unknown collection over TLS: %v %v", res, err)
	}
}

// TestRPCWatchAcrossReplicas: a Watch stream on one replica receives the
// changes written through another, and both replicas answer Get the same.
func TestRPCWatchAcrossReplicas(t *testing.T) {
	addrs, token := startReplicas(t, 2)
	if status, body := call(t, "POST", addrs[1], "/api/collections", token, map[string]any{"name": "notes", "type": "base",
		"fields": []any{map[string]any{"name": "title", "type": "text"}}}); status != 200 {
		t.Fatalf("creating notes: %d %v", status, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clients := make([]basaltv1connect.RecordServiceClient, len(addrs))
	for i, addr := range addrs {
		clients[i] = basaltv1connect.NewRecordServiceClient(h2cClient(), "http://"+addr, connect.WithGRPC())
	}
	stream, err := clients[0].Watch(ctx, authed(&basaltv1.WatchRequest{Collection: "notes"}, token))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() || stream.Msg().Action != basaltv1.Action_ACTION_READY {
		t.Fatalf("Watch: %v", stream.Err())
	}
	created, err := clients[1].Create(ctx, authed(&basaltv1.CreateRequest{Collection: "notes", Data: mustStructOf(t, map[string]any{"title": "from replica 2"})}, token))
	if err != nil {
		t.Fatalf("Create on replica 2: %v", err)
	}
	id := created.Msg.Record.AsMap()["id"].(string)
	received := make(chan *basaltv1.WatchResponse, 1)
	go func() {
		if stream.Receive() {
			received <- stream.Msg()
		}
		close(received)
	}()
	select {
	case m := <-received:
		if m == nil || m.Action != basaltv1.Action_ACTION_CREATE || m.Record.AsMap()["id"] != id {
			t.Fatalf("replica 1 watched %v (%v)", m, stream.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replica 1 did not deliver the create made on replica 2")
	}
	got, err := clients[0].Get(ctx, authed(&basaltv1.GetRequest{Collection: "notes", Id: id}, token))
	if err != nil || got.Msg.Record.AsMap()["title"] != "from replica 2" {
		t.Errorf("Get on replica 1: %v %v", got, err)
	}
}
