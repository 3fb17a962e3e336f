package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/blob/local"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/versioned"
)

// benchServer is the REST handler wired like cmd/basalt over a posts
// collection of n records shaped like the load benchmark's (bench/), and
// the ids of those records, and a function that turns the read cache
// (record.ReadCache, which `basalt serve` has by default) on or off.
func benchServer(b *testing.B, n int) (http.Handler, []string, func(on bool)) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	logger := slog.New(slog.DiscardHandler)
	engine, err := sqlite.Open(ctx, filepath.Join(dir, "data.db"), logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { engine.Close() })
	st := versioned.Wrap(engine)
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := local.New(filepath.Join(dir, "storage"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blobs.Close() })
	files := file.New(blobs, func(n int) string { return random.String(random.LowerAlnum, n) })
	records := record.New(st, cols, files.ForRecords(), time.Now, func() string { return random.RecordID(time.Now()) })
	authSvc := auth.New(st, cols, records, time.Now)
	h := rest.NewServer(rest.Deps{
		Logger: logger, Collections: cols, Records: records, Auth: authSvc, Settings: sets, Files: files,
	})
	if err := authSvc.UpsertSuperuser(ctx, suEmail, suPassword); err != nil {
		b.Fatal(err)
	}

	call := func(method, path, token string, body any) []byte {
		b.Helper()
		raw, _ := json.Marshal(body)
		req := httptest.NewRequest(method, path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	var login struct{ Token string }
	json.Unmarshal(call("POST", "/api/collections/_superusers/auth-with-password", "",
		map[string]any{"identity": suEmail, "password": suPassword}), &login)
	call("PATCH", "/api/settings", login.Token, map[string]any{"batch": map[string]any{"enabled": true, "maxRequests": 1000}})
	call("POST", "/api/collections", login.Token, map[string]any{
		"name": "posts",
		"fields": []map[string]any{
			{"name": "title", "type": "text", "max": 200},
			{"name": "body", "type": "text"},
			{"name": "views", "type": "number", "onlyInt": true},
			{"name": "published", "type": "bool"},
			{"name": "created", "type": "autodate", "onCreate": true},
			{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
		},
		"listRule": "", "viewRule": "", "createRule": "",
	})
	var ids []string
	for done := 0; done < n; done += 1000 {
		reqs := make([]map[string]any, min(1000, n-done))
		for i := range reqs {
			k := done + i
			reqs[i] = map[string]any{"method": "POST", "url": "/api/collections/posts/records", "body": map[string]any{
				"title": fmt.Sprintf("Post number %d", k), "body": benchPostBody,
				"views": (k * 7919) % 1000, "published": k%2 == 0,
			}}
		}
		var res []struct{ Body struct{ ID string } }
		json.Unmarshal(call("POST", "/api/batch", login.Token, map[string]any{"requests": reqs}), &res)
		for _, r := range res {
			ids = append(ids, r.Body.ID)
		}
	}
	cache := func(on bool) {
		records.Cache = nil
		if on {
			records.Cache = record.NewReadCache(st.Version, 10000)
		}
	}
	return h, ids, cache
}

const benchPostBody = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " +
	"Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."

// BenchmarkServe runs the load benchmark's scenarios (bench/run) through
// the REST handler in process, without the network: the part of a
// request's cost that Basalt controls. Profile with -cpuprofile.
func BenchmarkServe(b *testing.B) {
	h, ids, cache := benchServer(b, 10000)
	filtered := url.Values{"perPage": {"30"}, "filter": {"views>500 && published=true"}, "sort": {"-views"}}.Encode()
	get := func(path func(i int) string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			defer cpuMetric(b)()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", path(i), nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
				i++
			}
		}
	}
	reads := func(b *testing.B) {
		b.Run("view", get(func(i int) string { return "/api/collections/posts/records/" + ids[(i*7919)%len(ids)] }))
		b.Run("list", get(func(int) string { return "/api/collections/posts/records?perPage=30" }))
		b.Run("list-skiptotal", get(func(int) string { return "/api/collections/posts/records?perPage=30&skipTotal=1" }))
		b.Run("list-filtered", get(func(int) string { return "/api/collections/posts/records?" + filtered }))
	}
	reads(b)
	// The same reads served by the read cache, as `basalt serve` does by default.
	cache(true)
	b.Run("cached", reads)
	cache(false)
	b.Run("create", func(b *testing.B) {
		body := []byte(`{"title":"Load test post","body":"` + benchPostBody + `","views":42,"published":true}`)
		b.ReportAllocs()
		defer cpuMetric(b)()
		for b.Loop() {
			req := httptest.NewRequest("POST", "/api/collections/posts/records", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
	// Concurrent creates, as under load: they share write transactions.
	b.Run("create-parallel", func(b *testing.B) {
		body := []byte(`{"title":"Load test post","body":"` + benchPostBody + `","views":42,"published":true}`)
		b.ReportAllocs()
		b.SetParallelism(16)
		defer cpuMetric(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest("POST", "/api/collections/posts/records", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Errorf("%d %s", w.Code, w.Body)
					return
				}
			}
		})
	})
}

// cpuMetric reports the process's CPU time per operation ("cpu-ns/op") of
// the loop it brackets: call it right before the loop and the returned
// function right after. On a shared machine wall time per op swings with
// other load; CPU time much less. It reads /proc/self/stat (Linux, 10 ms
// ticks: run for a second or more) and reports nothing elsewhere.
func cpuMetric(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// processCPU returns user+system CPU time of the process in nanoseconds.
func processCPU() (int64, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (utime + stime) * int64(10*time.Millisecond), true // USER_HZ is 100
}
