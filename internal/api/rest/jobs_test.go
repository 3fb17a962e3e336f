package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/job"
)

func TestJobsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	for _, who := range []string{"", "user"} {
		want := map[string]int{"": 401, "user": 403}[who]
		for _, req := range [][2]string{{"GET", "/api/jobs"}, {"GET", "/api/jobs/x"}, {"POST", "/api/jobs/x/retry"},
			{"DELETE", "/api/jobs/x"}, {"GET", "/api/crons"}, {"POST", "/api/crons/x"}} {
			res := e.do(req[0], req[1], who, nil, nil)
			if res.status != want {
				t.Errorf("%s %s as %q: got %d, want %d", req[0], req[1], who, res.status, want)
			}
			var body map[string]any
			if json.Unmarshal(res.body, &body) != nil || body["status"] != float64(want) || body["message"] == "" || body["data"] == nil {
				t.Errorf("%s %s as %q: body %s is not PocketBase's error shape", req[0], req[1], who, res.body)
			}
		}
	}

	// Jobs: one fails for good, one waits; the list filters and pages.
	e.jobs.Handle("fails", func(context.Context, *job.Job) error { return fmt.Errorf("smtp refused") })
	dead, err := e.jobs.Enqueue(ctx, job.EnqueueOptions{Name: "fails", MaxAttempts: 1, Payload: json.RawMessage(`{"to":"a@b.c"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.jobs.RunDue(ctx); err != nil || n != 1 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	later, _ := e.jobs.Enqueue(ctx, job.EnqueueOptions{Name: "later", Delay: time.Hour, Priority: 3, IdempotencyKey: "k"})
	e.vars["dead"], e.vars["later"] = dead.ID, later.ID

	list := e.mustJSON("GET", "/api/jobs", "superuser", nil, 200)
	if list["totalItems"] != 2.0 || list["page"] != 1.0 || len(list["items"].([]any)) != 2 {
		t.Fatalf("list = %v", list)
	}
	first := list["items"].([]any)[0].(map[string]any)
	if first["id"] != later.ID || first["state"] != "queued" || first["priority"] != 3.0 || first["idempotencyKey"] != "k" {
		t.Errorf("newest job = %v", first)
	}
	deadList := e.mustJSON("GET", "/api/jobs?state=dead", "superuser", nil, 200)
	items := deadList["items"].([]any)
	if deadList["totalItems"] != 1.0 || len(items) != 1 {
		t.Fatalf("dead jobs = %v", deadList)
	}
	d := items[0].(map[string]any)
	if d["id"] != dead.ID || d["lastError"] != "smtp refused" || d["attempts"] != 1.0 || d["maxAttempts"] != 1.0 ||
		d["payload"].(map[string]any)["to"] != "a@b.c" {
		t.Errorf("dead job = %v", d)
	}
	if p := e.mustJSON("GET", "/api/jobs?name=later&perPage=1&page=1", "superuser", nil, 200); p["totalItems"] != 1.0 || p["totalPages"] != 1.0 {
		t.Errorf("by name = %v", p)
	}
	if p := e.mustJSON("GET", "/api/jobs?perPage=1&page=2", "superuser", nil, 200); p["totalPages"] != 2.0 || p["items"].([]any)[0].(map[string]any)["id"] != dead.ID {
		t.Errorf("page 2 = %v", p)
	}
	if res := e.do("GET", "/api/jobs?state=bogus", "superuser", nil, nil); res.status != 400 {
		t.Errorf("bad state: got %d, want 400", res.status)
	}

	view := e.mustJSON("GET", "/api/jobs/{{dead}}", "superuser", nil, 200)
	if view["state"] != "dead" || view["name"] != "fails" {
		t.Errorf("view = %v", view)
	}
	retried := e.mustJSON("POST", "/api/jobs/{{dead}}/retry", "superuser", nil, 200)
	if retried["state"] != "queued" || retried["attempts"] != 0.0 {
		t.Errorf("retried = %v", retried)
	}
	e.mustJSON("GET", "/api/jobs/nope", "superuser", nil, 404)
	e.mustJSON("POST", "/api/jobs/nope/retry", "superuser", nil, 404)
	if res := e.do("DELETE", "/api/jobs/{{later}}", "superuser", nil, nil); res.status != 204 {
		t.Errorf("delete: got %d", res.status)
	}
	e.mustJSON("DELETE", "/api/jobs/{{later}}", "superuser", nil, 404)

	// A running job can be neither retried nor deleted.
	release := make(chan struct{})
	e.jobs.Handle("fails", func(context.Context, *job.Job) error { <-release; return nil })
	done := make(chan struct{})
	go func() { e.jobs.RunDue(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v := e.mustJSON("GET", "/api/jobs/{{dead}}", "superuser", nil, 200); v["state"] == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.mustJSON("POST", "/api/jobs/{{dead}}/retry", "superuser", nil, 409)
	e.mustJSON("DELETE", "/api/jobs/{{dead}}", "superuser", nil, 409)
	close(release)
	<-done

	// Crons: PocketBase's list shape and run-now.
	ran := make(chan struct{}, 1)
	e.crons.Add("__reports__", "@hourly", func(context.Context) error { ran <- struct{}{}; return nil })
	e.crons.Add("__a__", "*/5 * * * *", func(context.Context) error { return nil })
	res := e.do("GET", "/api/crons", "superuser", nil, nil)
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `[{"id":"__a__","expression":"*/5 * * * *"},{"id":"__reports__","expression":"@hourly"}]` {
		t.Errorf("crons = %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/api/crons/__reports__", "superuser", nil, nil); res.status != 204 || len(res.body) != 0 {
		t.Errorf("run cron: got %d %s, want 204", res.status, res.body)
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Error("the cron job did not run")
	}
	e.mustJSON("POST", "/api/crons/missing", "superuser", nil, 404)
}
