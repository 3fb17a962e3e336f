package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
	"github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1/basaltv1connect"
)

// grpcGet measures RecordService.Get over gRPC (HTTP/2 without TLS): the
// same records, drawn at random, as the view scenario reads over REST, as a
// guest, with as many connections as wrk opens (one client with one
// HTTP/2 connection each, calls in sequence on it). wrk speaks no HTTP/2, so
// the load comes from goroutines in this process; a Go client costs more
// CPU than wrk, which the server shares on a small machine, so req/s
// understates the server and its CPU per request is the fairer comparison.
func grpcGet(ctx context.Context, b *bench, in *instance) (*result, error) {
	clients := make([]basaltv1connect.RecordServiceClient, b.cfg.connections)
	for i := range clients {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: p}}
		defer hc.CloseIdleConnections()
		clients[i] = basaltv1connect.NewRecordServiceClient(hc, in.base, connect.WithGRPC())
	}
	_, err := clients[0].Get(ctx, connect.NewRequest(&basaltv1.GetRequest{Collection: "posts", Id: in.ids[0]}))
	switch code := connect.CodeOf(err); {
	case err == nil:
	case code == connect.CodeUnimplemented || code == connect.CodeUnknown || code == connect.CodeUnavailable:
		return nil, fmt.Errorf("%w: %s serves no gRPC API (%v)", errNotMeasured, in.label, err)
	default:
		return nil, fmt.Errorf("grpc get: %w", err)
	}
	if b.cfg.warmup > 0 {
		w, err := b.grpcLoad(ctx, clients, in, b.cfg.warmup)
		if err != nil {
			return nil, err
		}
		if w.errors > 0 {
			return &result{failed: fmt.Sprintf("warm-up: %d calls, %d failed", w.requests, w.errors)}, nil
		}
	}
	r, err := b.grpcLoad(ctx, clients, in, b.cfg.duration)
	if err != nil {
		return nil, err
	}
	if r.errors > 0 {
		r.failed = fmt.Sprintf("%d failed calls", r.errors)
	}
	return r, nil
}

// grpcLoad calls Get on every client in a loop for d and measures the
// server's CPU time meanwhile.
func (b *bench) grpcLoad(ctx context.Context, clients []basaltv1connect.RecordServiceClient, in *instance, d time.Duration) (*result, error) {
	cpu0, err := in.proc.cpuSeconds()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var failed atomic.Int64
	latencies := make([][]time.Duration, len(clients))
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			for ctx.Err() == nil {
				t0 := time.Now()
				_, err := c.Get(ctx, connect.NewRequest(&basaltv1.GetRequest{Collection: "posts", Id: in.ids[rng.IntN(len(in.ids))]}))
				if ctx.Err() != nil {
					return // the run ended during the call
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				latencies[i] = append(latencies[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	cpu1, err := in.proc.cpuSeconds()
	if err != nil {
		return nil, err
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	r := &result{requests: int64(len(all)), duration: took, errors: failed.Load(), cpuSeconds: cpu1 - cpu0}
	if n := len(all); n > 0 {
		r.p50, r.p99, r.max = all[n/2], all[min(n-1, n*99/100)], all[n-1]
		r.rps = float64(n) / took.Seconds()
		r.cpuPer1k = r.cpuSeconds / float64(n) * 1000
	}
	return r, nil
}
