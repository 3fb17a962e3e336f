package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Job handlers and crons registered by function files run through the job
// queue and the cron scheduler.
func TestFunctionJobsAndCrons(t *testing.T) {
	s := serveFunctions(t, map[string]string{"jobs.js": `
basalt.job("greet", (p) => { basalt.records.save("audit", { msg: "job " + p.who }, { bypassRules: true }); });
basalt.cron("tick", "0 3 * * *", () => { basalt.records.save("audit", { msg: "cron" }, { bypassRules: true }); });
basalt.route("POST", "/enqueue", (req) => { basalt.jobs.enqueue("greet", req.json()); return { status: 202 }; });
basalt.route("GET", "/audit", () => ({ json: basalt.records.list("audit", { bypassRules: true, sort: "msg" }).items.map((r) => r.msg) }));
basalt.beforeCreate("posts", (e) => {
  basalt.jobs.enqueue("greet", { who: e.record.title });
  if (e.record.title === "rejected") throw new basalt.ValidationError("Failed to create record.", { title: "Not this one." });
});
`}, nil)
	status, body := call(t, http.MethodPost, s.addr, "/api/fn/enqueue", "", map[string]any{"who": "ann"})
	if status != http.StatusAccepted {
		t.Fatalf("enqueue: %d %v", status, body)
	}
	status, body = call(t, http.MethodGet, s.addr, "/api/crons", s.token, nil)
	if status != http.StatusOK {
		t.Fatalf("crons: %d %v", status, body)
	}
	res, err := http.DefaultClient.Do(mustRequest(t, http.MethodGet, "http://"+s.addr+"/api/crons", s.token))
	if err != nil {
		t.Fatal(err)
	}
	crons := readAll(res)
	res.Body.Close()
	if !strings.Contains(crons, `"fn:tick"`) || !strings.Contains(crons, "0 3 * * *") {
		t.Errorf("the function's cron is not listed: %s", crons)
	}
	if status, body := call(t, http.MethodPost, s.addr, "/api/crons/fn:tick", s.token, nil); status != http.StatusNoContent {
		t.Errorf("run the cron now: %d %v", status, body)
	}
	waitBody(t, s, "/api/fn/audit", `["cron","job ann"]`)
	// A job enqueued by a before-hook joins the write's transaction: it is
	// queued when the write commits and never when the hook rejects it.
	status, body = call(t, http.MethodPost, s.addr, "/api/collections/posts/records", "", map[string]any{"title": "rejected"})
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["data"]), "Not this one") {
		t.Errorf("a rejecting before-hook: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, s.addr, "/api/collections/posts/records", "", map[string]any{"title": "kept"})
	if status != http.StatusOK {
		t.Errorf("create with a before-hook enqueueing: %d %v", status, body)
	}
	waitBody(t, s, "/api/fn/audit", `["cron","job ann","job kept"]`)
	res, err = http.DefaultClient.Do(mustRequest(t, http.MethodGet, "http://"+s.addr+"/api/jobs?perPage=100", s.token))
	if err != nil {
		t.Fatal(err)
	}
	jobs := readAll(res)
	res.Body.Close()
	if strings.Contains(jobs, "rejected") || !strings.Contains(jobs, "kept") {
		t.Errorf("the queue after a rejected and a kept write: %s", jobs)
	}
	// Removing the file removes its cron.
	if err := os.Remove(filepath.Join(s.fnDir, "jobs.js")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.DefaultClient.Do(mustRequest(t, http.MethodGet, "http://"+s.addr+"/api/crons", s.token))
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(res)
		res.Body.Close()
		if !strings.Contains(got, "fn:tick") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cron of a removed file is still listed: %s", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustRequest(t *testing.T, method, url, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	return req
}
