package rpc_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
)

// BenchmarkGet compares one record read over gRPC (h2c) with the REST view
// of the same record, through the same middleware, as a guest.
func BenchmarkGet(b *testing.B) {
	e := newEnv(b)
	e.rest("PATCH", "/api/collections/posts", "su", map[string]any{"viewRule": ""}, 200, nil)
	var rec map[string]any
	e.rest("POST", "/api/collections/posts/records", "alice", map[string]any{"title": "a post of a typical size", "n": 12, "public": true,
		"tags": []any{"x", "y"}, "owner": e.ids["alice"]}, 200, &rec)
	id := rec["id"].(string)
	for _, p := range []protocol{protocols()[0], {"connect-http1", &http.Client{Transport: &http.Transport{}}, nil}} {
		b.Run(p.name, func(b *testing.B) {
			c := e.client(p)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Get(ctx, as(e, "", &basaltv1.GetRequest{Collection: "posts", Id: id})); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	for name, hc := range map[string]*http.Client{"rest-http1": {Transport: &http.Transport{}}, "rest-h2c": {Transport: &http.Transport{Protocols: h2c}}} {
		b.Run(name, func(b *testing.B) { benchREST(b, hc, e.url+"/api/collections/posts/records/"+id) })
	}
}

func benchREST(b *testing.B, hc *http.Client, url string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := hc.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatal(res.Status)
			}
		}
	})
}
