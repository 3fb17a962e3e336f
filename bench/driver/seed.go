package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	serverenv "github.com/basalt-dev/basalt/bench/launch"
)

// Accounts and data every instance is set up with.
const (
	suEmail   = "bench@example.com"
	suPass    = "bench-secret-123"
	userEmail = "reader@example.com"
	userPass  = "reader-secret-123"
	// seedBatch is how many creates one /api/batch request carries.
	seedBatch = 500
)

// loremBody is every post's body: one length for all, so that every view
// response has about the size of the bare handler's body.
const loremBody = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " +
	"Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."

// instance is one Basalt server under test with its seeded data.
type instance struct {
	target
	dir     string
	proc    *process
	base    string // http://host:port
	token   string // superuser
	idsFile string // one posts id a line
	// graphqlFile holds the body of the graphql-list scenario's request.
	graphqlFile string
	ids         []string
	idleRSS     float64
}

// launch creates the superuser on a fresh data directory, then starts the
// server on it.
func launch(ctx context.Context, t target, root string) (*instance, error) {
	dir := filepath.Join(root, t.label)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	in := &instance{target: t, dir: dir}
	cmd := exec.CommandContext(ctx, t.bin, "superuser", "upsert", suEmail, suPass, "--dir", filepath.Join(dir, "data"))
	cmd.Env = serverenv.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: superuser upsert: %w\n%s", t.label, err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	in.base = "http://" + addr
	// The login scenario signs one user in over 32 connections at once:
	// the brute-force throttle takes a token per attempt in flight and
	// would refuse most of them, so it is off here.
	if err := evictFromPageCache(t.bin); err != nil {
		return nil, fmt.Errorf("%s: %w", t.label, err)
	}
	args := []string{"serve", "--http", addr, "--dir", filepath.Join(dir, "data"),
		"--auth-throttle-login-identity", "off", "--auth-throttle-login-ip", "off"}
	in.proc, err = start(ctx, t.label, t.bin, append(args, t.serveArgs...),
		addr, filepath.Join(dir, "server.log"), in.base+"/api/health")
	if err != nil {
		return nil, err
	}
	// Let the start settle before reading the idle footprint.
	time.Sleep(500 * time.Millisecond)
	in.idleRSS, _ = in.proc.rssMiB()
	return in, nil
}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil). A status other than 200 is an error quoting the body.
func (in *instance) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, in.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if in.token != "" {
		req.Header.Set("Authorization", in.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// postsCollection is the benchmark's collection: public list, view and
// create rules; no index on views, so the filtered list scans.
var postsCollection = map[string]any{
	"type": "base",
	"fields": []map[string]any{
		{"name": "title", "type": "text", "max": 200},
		{"name": "body", "type": "text"},
		{"name": "views", "type": "number", "onlyInt": true},
		{"name": "published", "type": "bool"},
		{"name": "created", "type": "autodate", "onCreate": true},
		{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
	},
	"listRule": "", "viewRule": "", "createRule": "",
}

// createCollection is the twin of posts that the create scenario writes to,
// so that every round's reads see the same seeded posts.
const createCollection = "posts_created"

// seed signs in as the superuser, creates the posts collection and its twin
// for creates, a users record for the login scenario and n posts (through
// /api/batch, which it enables), and writes the posts ids to a file. With
// articles it also seeds the articles and authors of the expand scenarios
// (which need a server with GraphQL).
func (in *instance) seed(ctx context.Context, n int, articles bool) error {
	var auth struct {
		Token string `json:"token"`
	}
	err := in.call(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password",
		map[string]any{"identity": suEmail, "password": suPass}, &auth)
	if err != nil {
		return err
	}
	in.token = auth.Token
	defer func() { in.token = "" }()

	settings := map[string]any{"batch": map[string]any{"enabled": true, "maxRequests": seedBatch, "timeout": 60}}
	if err := in.call(ctx, http.MethodPatch, "/api/settings", settings, nil); err != nil {
		return err
	}
	for _, name := range []string{"posts", createCollection} {
		def := maps.Clone(postsCollection)
		def["name"] = name
		if err := in.call(ctx, http.MethodPost, "/api/collections", def, nil); err != nil {
			return err
		}
	}
	user := map[string]any{"email": userEmail, "password": userPass, "passwordConfirm": userPass, "verified": true}
	if err := in.call(ctx, http.MethodPost, "/api/collections/users/records", user, nil); err != nil {
		return err
	}

	if articles {
		if err := in.seedArticles(ctx); err != nil {
			return err
		}
	}

	// The same pseudo-random data for every instance of a run.
	rng := rand.New(rand.NewPCG(7, 7))
	for done := 0; done < n; {
		size := min(seedBatch, n-done)
		reqs := make([]map[string]any, size)
		for i := range reqs {
			k := done + i
			reqs[i] = map[string]any{
				"method": "POST",
				"url":    "/api/collections/posts/records",
				"body": map[string]any{
					"title":     fmt.Sprintf("Post number %d", k),
					"body":      loremBody,
					"views":     rng.IntN(1000),
					"published": rng.IntN(2) == 0,
				},
			}
		}
		var res []struct {
			Status int `json:"status"`
			Body   struct {
				ID string `json:"id"`
			} `json:"body"`
		}
		if err := in.call(ctx, http.MethodPost, "/api/batch", map[string]any{"requests": reqs}, &res); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
		for _, r := range res {
			if r.Status != http.StatusOK || r.Body.ID == "" {
				return fmt.Errorf("seeding: a batch item answered %d", r.Status)
			}
			in.ids = append(in.ids, r.Body.ID)
		}
		done += size
	}
	in.idsFile = filepath.Join(in.dir, "ids.txt")
	return os.WriteFile(in.idsFile, []byte(strings.Join(in.ids, "\n")+"\n"), 0o640)
}

// viewBody returns the exact bytes of one record view, the body the bare
// handler answers with.
func (in *instance) viewBody(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.base+"/api/collections/posts/records/"+in.ids[0], nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("view: status %d", res.StatusCode)
	}
	return io.ReadAll(res.Body)
}
