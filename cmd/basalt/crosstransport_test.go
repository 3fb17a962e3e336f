package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
)

// TestCrossTransportAuthorization is the one authorization truth: callers
// (guest, owner, other user, superuser) × collections with different rules
// × operations (list, view, create, update, delete, subscribe), each run
// through every transport that has it (REST, batch, GraphQL, gRPC, realtime
// SSE, GraphQL subscriptions, gRPC Watch), must give the same verdict
// (crosstransport_clients_test.go says how each transport expresses one),
// the same rows and fields, the same stored data after a write and the same
// events. An oracle written from the rules checks the shared answer too, so
// a rule bug common to every transport fails as well.
func TestCrossTransportAuthorization(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { runCrossTransport(t, nil) })
	t.Run("postgres", func(t *testing.T) { runCrossTransport(t, []string{"--db", pgtest.NewDatabase(t)}) })
}

// xtColls are the matrix's collections and their rules (nil: superusers
// only).
var xtColls = []struct {
	name  string
	rules map[string]any
}{
	{"pub", xtRules("", "", "", "", "")},
	{"mine", xtRules("owner = @request.auth.id", "owner = @request.auth.id",
		`@request.auth.id != "" && owner = @request.auth.id`, "owner = @request.auth.id", "owner = @request.auth.id")},
	{"members", xtRules(`@request.auth.id != ""`, `@request.auth.id != ""`, `@request.auth.id != ""`, `@request.auth.id != ""`, `@request.auth.id != ""`)},
	{"vault", xtRules(nil, nil, nil, nil, nil)},
	{"posts", xtRules("published = true", "published = true", `@request.auth.id != ""`, "owner = @request.auth.id", "owner = @request.auth.id")},
}

func xtRules(list, view, create, update, del any) map[string]any {
	return map[string]any{"listRule": list, "viewRule": view, "createRule": create, "updateRule": update, "deleteRule": del}
}

// xtBadToken is the caller whose token does not authenticate.
const xtBadToken = "bad token"

// xtEnv is the server under test and its identities.
type xtEnv struct {
	t       *testing.T
	addr    string
	http    *xtClient
	callers []xtCaller // guest, owner, other, superuser, bad token
	super   xtCaller
	ownerID string
	seeded  map[string][]map[string]any // collection → seeded records (projected)
	cases   atomic.Int64                // caller × collection × operation (× row) cases
	checks  atomic.Int64                // operations performed through a transport
}

func runCrossTransport(t *testing.T, extra []string) {
	start := time.Now()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"superuser", "upsert", "root@example.com", "root-pass-123", "--dir", dir}, extra...), noEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, errOut.String())
	}
	addr, _ := serveWith(t, dir, nil, extra...)
	e := &xtEnv{t: t, addr: addr, http: &xtClient{t: t, addr: addr, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}}
	phases := []string{}
	lap := time.Now()
	phase := func(name string) {
		phases = append(phases, fmt.Sprintf("%s %v", name, time.Since(lap).Round(time.Millisecond)))
		lap = time.Now()
	}
	e.setup()
	phase("setup")
	rest, batch, gql, grpc := xtREST(e.http), xtBatch(e.http), xtGraphQL(e.http), xtGRPC(t, addr)
	e.reads([]xtTransport{rest, grpc, gql})
	phase("reads")
	e.writes([]xtTransport{rest, batch, grpc, gql})
	phase("writes")
	e.subscribe()
	phase("subscribe")
	t.Logf("cross-transport matrix: %d cases (%d callers × %d collections × list, list filtered by title, view of each of 4 rows, create, create for another, update, delete; a list filtered by the hidden field per caller; %d subscribers × %d collections × subscribe), %d transport operations, in %v (%s)",
		e.cases.Load(), len(e.callers), len(xtColls), len(e.subscribers()), len(xtColls), e.checks.Load(), time.Since(start).Round(time.Millisecond), strings.Join(phases, ", "))
}

// must sends a superuser request that has to succeed and decodes its answer.
func (e *xtEnv) must(method, path, token string, body any) map[string]any {
	e.t.Helper()
	status, raw := e.http.do(method, path, token, body)
	if status != http.StatusOK && status != http.StatusNoContent {
		e.t.Fatalf("%s %s: %d %s", method, path, status, raw)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// setup creates the users, the collections and the seeded rows.
func (e *xtEnv) setup() {
	tok := e.must("POST", "/api/collections/_superusers/auth-with-password", "", map[string]any{"identity": "root@example.com", "password": "root-pass-123"})["token"].(string)
	// A batch times out after 3 s by default: too short for a busy machine under -race.
	e.must("PATCH", "/api/settings", tok, map[string]any{"batch": map[string]any{"enabled": true, "timeout": 60}})
	e.super = xtCaller{name: "superuser", token: tok, super: true}
	// bcrypt at its lowest cost for the users: hashing at the default cost
	// takes seconds under -race on a busy machine.
	users := e.must("GET", "/api/collections/users", tok, nil)
	fields, _ := users["fields"].([]any)
	for _, f := range fields {
		if f, ok := f.(map[string]any); ok && f["type"] == "password" {
			f["cost"] = 4
		}
	}
	e.must("PATCH", "/api/collections/users", tok, map[string]any{"fields": fields})
	e.callers = []xtCaller{{name: "guest"}}
	for _, name := range []string{"owner", "other"} {
		email := name + "@example.com"
		rec := e.must("POST", "/api/collections/users/records", tok, map[string]any{"email": email, "password": "user-pass-123", "passwordConfirm": "user-pass-123"})
		login := e.must("POST", "/api/collections/users/auth-with-password", "", map[string]any{"identity": email, "password": "user-pass-123"})
		e.callers = append(e.callers, xtCaller{name: name, token: login["token"].(string), id: rec["id"].(string)})
	}
	// A token that does not authenticate leaves every call a guest's, as
	// in PocketBase (docs/rpc.md); GraphQL subscriptions refuse it instead
	// (the socket closes with 4403), so it does not subscribe.
	e.callers = append(e.callers, e.super, xtCaller{name: xtBadToken, token: "not-a-token"})
	e.ownerID = e.callers[1].id
	e.seeded = map[string][]map[string]any{}
	for _, c := range xtColls {
		fields := []any{map[string]any{"name": "title", "type": "text"}, map[string]any{"name": "owner", "type": "text"}}
		if c.name == "posts" {
			fields = append(fields, map[string]any{"name": "published", "type": "bool"}, map[string]any{"name": "secret", "type": "text", "hidden": true})
		}
		body := map[string]any{"name": c.name, "type": "base", "fields": fields}
		for k, v := range c.rules {
			body[k] = v
		}
		e.must("POST", "/api/collections", tok, body)
	}
	var seeds []xtNew
	for _, c := range xtColls {
		for _, u := range e.callers[1:3] {
			for _, suffix := range []string{"a", "b"} {
				seeds = append(seeds, xtNew{c.name, e.row(c.name, "seed "+u.name+" "+suffix, u.id, suffix == "a", true)})
			}
		}
	}
	for i, rec := range e.createAll(seeds) {
		e.seeded[seeds[i].coll] = append(e.seeded[seeds[i].coll], xtProject(rec))
	}
}

// xtNew is a record for the superuser to create.
type xtNew struct {
	coll string
	data map[string]any
}

// createAll creates records as the superuser, in batches, and returns them.
func (e *xtEnv) createAll(recs []xtNew) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for len(recs) > 0 {
		n := min(len(recs), 40)
		var subs []any
		for _, r := range recs[:n] {
			subs = append(subs, map[string]any{"method": "POST", "url": "/api/collections/" + r.coll + "/records", "body": r.data})
		}
		status, raw := e.http.do("POST", "/api/batch", e.super.token, map[string]any{"requests": subs})
		var items []struct{ Body map[string]any }
		if status != http.StatusOK || json.Unmarshal(raw, &items) != nil || len(items) != n {
			e.t.Fatalf("creating %d records: %d %s", n, status, raw)
		}
		for _, it := range items {
			out = append(out, it.Body)
		}
		recs = recs[n:]
	}
	return out
}

// row is the data of a new record: posts get published and, when written
// by a superuser, a secret (the hidden field is absent from the GraphQL
// input types of everyone else; REST drops it).
func (e *xtEnv) row(coll, title, owner string, published, super bool) map[string]any {
	d := map[string]any{"title": title, "owner": owner}
	if coll == "posts" {
		d["published"] = published
		if super {
			d["secret"] = "kept from non-superusers"
		} else {
			d["secret"] = ""
		}
	}
	return d
}

// xtVisible is the oracle of list and view rules for a seeded or fresh row.
func xtVisible(u xtCaller, coll string, rec map[string]any) bool {
	switch {
	case u.super || coll == "pub":
		return true
	case coll == "mine":
		return u.id != "" && rec["owner"] == u.id
	case coll == "members":
		return u.id != ""
	case coll == "posts":
		return rec["published"] == true
	}
	return false
}

// writeVerdict is the oracle of create (owned by the caller), create for
// another (owned by another user), update and delete (of a row of the
// owner).
func (e *xtEnv) writeVerdict(u xtCaller, coll, op string) string {
	switch {
	case u.super || coll == "pub":
		return vAllowed
	case coll == "vault":
		return vForbidden
	case op == "create" || op == "create for another":
		if u.id == "" || (coll == "mine" && op != "create") {
			return vInvalid // 400: the create rule failed
		}
		return vAllowed
	case coll == "members" && u.id != "", u.id == e.ownerID:
		return vAllowed
	}
	return vNotFound
}

// xtParallel runs fn for each of n items on a few goroutines.
func xtParallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// xtByID sorts projected rows by id, for comparison.
func xtByID(rows []map[string]any) []map[string]any {
	out := append([]map[string]any(nil), rows...)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]["id"]) < fmt.Sprint(out[j]["id"]) })
	return out
}

// checkFields fails when a non-superuser received the hidden field or a
// superuser did not.
func (e *xtEnv) checkFields(what string, u xtCaller, coll string, rows []map[string]any) {
	for _, r := range rows {
		_, has := r["secret"]
		if has != (u.super && coll == "posts") {
			e.t.Errorf("%s: hidden field present=%v in %v", what, has, r)
		}
	}
}

// reads runs list and view for every caller and collection.
func (e *xtEnv) reads(trs []xtTransport) {
	type job struct {
		u      xtCaller
		coll   string
		rec    map[string]any // nil: list
		filter string
	}
	var jobs []job
	for _, u := range e.callers {
		for _, c := range xtColls {
			jobs = append(jobs, job{u, c.name, nil, ""}, job{u, c.name, nil, xtOwnTitles})
			if c.name == "posts" {
				jobs = append(jobs, job{u, c.name, nil, xtSecretFilter})
			}
			for _, rec := range e.seeded[c.name] {
				jobs = append(jobs, job{u, c.name, rec, ""})
			}
		}
	}
	xtParallel(len(jobs), func(i int) {
		j := jobs[i]
		e.cases.Add(1)
		var want xtOutcome
		op := "list"
		if j.filter != "" {
			op = "list filtered by " + j.filter
		}
		if j.rec == nil {
			switch {
			case j.coll == "vault" && !j.u.super:
				want.verdict = vForbidden
			case j.filter == xtSecretFilter && !j.u.super:
				want.verdict = vInvalid // 400: the hidden field cannot be filtered
			default:
				want.verdict = vAllowed
			}
			for _, rec := range e.seeded[j.coll] {
				if want.verdict == vAllowed && xtVisible(j.u, j.coll, rec) && xtMatches(j.u, j.filter, rec) {
					want.rows = append(want.rows, e.shown(j.u, j.coll, rec))
				}
			}
		} else {
			op = "view " + j.rec["title"].(string)
			switch {
			case j.coll == "vault" && !j.u.super:
				want.verdict = vForbidden
			case xtVisible(j.u, j.coll, j.rec):
				want = xtOutcome{verdict: vAllowed, rows: []map[string]any{e.shown(j.u, j.coll, j.rec)}}
			default:
				want.verdict = vNotFound
			}
		}
		for _, tr := range trs {
			e.checks.Add(1)
			var got xtOutcome
			if j.rec == nil {
				got = tr.list(j.u, j.coll, j.filter)
			} else {
				got = tr.view(j.u, j.coll, j.rec["id"].(string))
			}
			what := fmt.Sprintf("%s × %s × %s via %s", j.u.name, j.coll, op, tr.name)
			if got.verdict != want.verdict {
				e.t.Errorf("%s: verdict %s, want %s (%s)", what, got.verdict, want.verdict, got.detail)
				continue
			}
			if g, w := xtByID(got.rows), xtByID(want.rows); !(len(g) == 0 && len(w) == 0) && !reflect.DeepEqual(g, w) {
				e.t.Errorf("%s: rows\n got %v\nwant %v", what, g, w)
			}
			e.checkFields(what, j.u, j.coll, got.rows)
		}
	})
}

// The filters of filtered lists: one on a visible field, one on the hidden
// field, which only a superuser's filter may read.
const (
	xtOwnTitles    = `title ~ "owner"`
	xtSecretFilter = `secret = "kept from non-superusers"`
)

// xtMatches is the oracle of the filters a client sends.
func xtMatches(u xtCaller, filter string, rec map[string]any) bool {
	switch filter {
	case xtOwnTitles:
		return strings.Contains(rec["title"].(string), "owner")
	case xtSecretFilter:
		return u.super // the others' filter is refused
	}
	return true
}

// shown is a seeded record as caller u receives it: without the hidden field
// unless u is a superuser.
func (e *xtEnv) shown(u xtCaller, coll string, rec map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range rec {
		if k != "secret" || u.super {
			out[k] = v
		}
	}
	return out
}
