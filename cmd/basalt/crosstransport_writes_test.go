package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// stored reads a record as the superuser: its projection without id, or nil
// once it is gone.
func (e *xtEnv) stored(coll, id string) map[string]any {
	status, raw := e.http.do("GET", "/api/collections/"+coll+"/records/"+id, e.super.token, nil)
	if status == http.StatusNotFound {
		return nil
	}
	var rec map[string]any
	if status != http.StatusOK || json.Unmarshal(raw, &rec) != nil {
		e.t.Errorf("reading %s/%s as the superuser: %d %s", coll, id, status, raw)
		return nil
	}
	p := xtProject(rec)
	delete(p, "id")
	return p
}

// findByTitle reads the records of coll titled title as the superuser.
func (e *xtEnv) findByTitle(coll, title string) []map[string]any {
	status, raw := e.http.do("GET", "/api/collections/"+coll+"/records?filter="+xtQueryEscape(fmt.Sprintf("title = %q", title)), e.super.token, nil)
	var page struct{ Items []map[string]any }
	if status != http.StatusOK || json.Unmarshal(raw, &page) != nil {
		e.t.Errorf("finding %q in %s: %d %s", title, coll, status, raw)
	}
	var out []map[string]any
	for _, it := range page.Items {
		p := xtProject(it)
		delete(p, "id")
		p["title"] = "(per transport)"
		out = append(out, p)
	}
	return out
}

// writes runs create, update and delete for every caller and collection
// through every transport, each on its own fresh row, and compares the
// verdicts, the answers and the data left behind.
func (e *xtEnv) writes(trs []xtTransport) {
	type job struct {
		u    xtCaller
		coll string
		op   string
		ids  []string // per transport: the fresh row to update or delete
	}
	var jobs []*job
	for _, u := range e.callers {
		for _, c := range xtColls {
			for _, op := range []string{"create", "create for another", "update", "delete"} {
				jobs = append(jobs, &job{u: u, coll: c.name, op: op, ids: make([]string, len(trs))})
			}
		}
	}
	// The superuser makes the fresh rows: owned by the owner, published.
	type target struct {
		j *job
		i int
	}
	var targets []target
	for _, j := range jobs {
		if j.op != "create" {
			for i := range trs {
				targets = append(targets, target{j, i})
			}
		}
	}
	var news []xtNew
	for _, tg := range targets {
		news = append(news, xtNew{tg.j.coll, e.row(tg.j.coll, "target", e.ownerID, true, true)})
	}
	for k, rec := range e.createAll(news) {
		targets[k].j.ids[targets[k].i] = rec["id"].(string)
	}
	xtParallel(len(jobs), func(k int) {
		j := jobs[k]
		e.cases.Add(1)
		want := e.writeVerdict(j.u, j.coll, j.op)
		var ref []map[string]any // the rest answer, the reference for the others
		var refStored []map[string]any
		for i, tr := range trs {
			e.checks.Add(1)
			what := fmt.Sprintf("%s × %s × %s via %s", j.u.name, j.coll, j.op, tr.name)
			var got xtOutcome
			var stored []map[string]any
			var wantStored []map[string]any
			switch j.op {
			case "create", "create for another":
				owner := j.u.id
				if j.op != "create" {
					owner = e.ownerID
					if j.u.id == e.ownerID {
						owner = e.callers[2].id
					}
				}
				title := j.op + " " + j.u.name + " " + tr.name
				data := e.row(j.coll, title, owner, true, j.u.super)
				if !j.u.super {
					delete(data, "secret")
				}
				got = tr.create(j.u, j.coll, data)
				stored = e.findByTitle(j.coll, title)
				if want == vAllowed {
					w := e.row(j.coll, "(per transport)", owner, true, j.u.super)
					wantStored = []map[string]any{w}
				}
			case "update":
				got = tr.update(j.u, j.coll, j.ids[i], map[string]any{"title": "changed"})
				w := e.row(j.coll, "target", e.ownerID, true, true)
				if want == vAllowed {
					w["title"] = "changed"
				}
				stored, wantStored = []map[string]any{e.stored(j.coll, j.ids[i])}, []map[string]any{w}
			case "delete":
				got = tr.delete(j.u, j.coll, j.ids[i])
				if s := e.stored(j.coll, j.ids[i]); s != nil {
					stored = []map[string]any{s}
				}
				if want != vAllowed {
					wantStored = []map[string]any{e.row(j.coll, "target", e.ownerID, true, true)}
				}
			}
			if got.verdict != want {
				e.t.Errorf("%s: verdict %s, want %s (%s)", what, got.verdict, want, got.detail)
			}
			if !reflect.DeepEqual(stored, wantStored) {
				e.t.Errorf("%s: stored data\n got %v\nwant %v", what, stored, wantStored)
			}
			if i == 0 {
				refStored = stored
			} else if !reflect.DeepEqual(stored, refStored) {
				e.t.Errorf("%s: stored data %v differs from %s's %v", what, stored, trs[0].name, refStored)
			}
			e.checkFields(what, j.u, j.coll, got.rows)
			// The answers carry the same fields (ids and per-transport
			// titles aside); batch and GraphQL deletes answer no record.
			rows := xtNormalized(got.rows)
			if i == 0 {
				ref = rows
			} else if len(rows) > 0 && !reflect.DeepEqual(rows, ref) {
				e.t.Errorf("%s: answer %v differs from %s's %v", what, rows, trs[0].name, ref)
			}
		}
	})
}

// xtNormalized drops ids and replaces titles that name a transport.
func xtNormalized(rows []map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range rows {
		n := map[string]any{}
		for k, v := range r {
			switch {
			case k == "id":
			case k == "title" && strings.HasPrefix(fmt.Sprint(v), "create "):
				n[k] = "(per transport)"
			default:
				n[k] = v
			}
		}
		out = append(out, n)
	}
	return out
}
