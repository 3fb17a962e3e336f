package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/bench/client"
)

// The soak's data: a public collection of posts, seeded, and users who sign
// in with a password.
const (
	collectionName = "soak_posts"
	userPassword   = "soak-user-secret-123"
	// ownMax bounds the records each worker created and has not deleted
	// yet, so the collection stays about the seeded size for the whole run.
	ownMax = 40
)

// opSignIn names the password sign-ins of the traffic.
const opSignIn = "signin"

// userEmail is the address of user i.
func userEmail(i int) string { return fmt.Sprintf("soak%d@basalt.test", i) }

// worker sends one stream of requests at a fixed rate, as one client of
// many.
type worker struct {
	n      int
	c      *client.Client
	rng    *rand.Rand
	seeded []string // ids of the seeded posts, never written by the traffic
	users  int
	own    []string // ids this worker created and has not deleted, oldest first
	rec    *recorder
	// writes counts acknowledged writes of the collection: each is one
	// realtime event every subscriber must read.
	writes *atomic.Int64
}

// run sends a request every period until stop is closed or ctx ends. A
// request under way when stop closes is finished and counted: its write may
// be committed, and its realtime event is then expected.
func (w *worker) run(ctx context.Context, stop <-chan struct{}, period time.Duration) {
	next := time.Now().Add(time.Duration(w.rng.Int64N(int64(period)))) // spread the workers' phases
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-time.After(time.Until(next)):
		}
		next = next.Add(period)
		if time.Until(next) < -time.Second {
			// The server (or this machine) fell behind: carry on at the
			// rate rather than bursting to catch up.
			next = time.Now()
		}
		op, took, err := w.one(ctx)
		if ctx.Err() != nil {
			return // interrupted: nothing to judge
		}
		w.rec.add(op, took, err)
	}
}

// one sends one request chosen by the mix: view 34%, list 20%, filtered
// list 15%, create 12%, update 10%, delete 8%, sign-in 1% (a password
// check costs tens of milliseconds of CPU by design: more would make the
// soak a bcrypt benchmark).
func (w *worker) one(ctx context.Context) (op string, took time.Duration, err error) {
	base := "/api/collections/" + collectionName + "/records"
	began := time.Now()
	switch p := w.rng.IntN(100); {
	case p < 34:
		op = "view"
		_, err = w.c.Do(ctx, http.MethodGet, base+"/"+w.seeded[w.rng.IntN(len(w.seeded))], nil, nil)
	case p < 54:
		op = "list"
		_, err = w.c.Do(ctx, http.MethodGet, fmt.Sprintf("%s?page=%d&perPage=20&sort=-created", base, 1+w.rng.IntN(10)), nil, nil)
	case p < 69:
		op = "filter"
		q := url.Values{}
		q.Set("filter", fmt.Sprintf("views >= %d && published = true", w.rng.IntN(1000)))
		q.Set("perPage", "20")
		q.Set("sort", "-views")
		_, err = w.c.Do(ctx, http.MethodGet, base+"?"+q.Encode(), nil, nil)
	case p < 81 || (p < 99 && len(w.own) == 0):
		if len(w.own) >= ownMax {
			op, err = "delete", w.deleteOldest(ctx)
			break
		}
		op = "create"
		var rec struct {
			ID string `json:"id"`
		}
		_, err = w.c.Do(ctx, http.MethodPost, base, w.post(), &rec)
		if err == nil {
			w.own = append(w.own, rec.ID)
			w.writes.Add(1)
		}
	case p < 91:
		op = "update"
		id := w.own[w.rng.IntN(len(w.own))]
		_, err = w.c.Do(ctx, http.MethodPatch, base+"/"+id, w.post(), nil)
		if err == nil {
			w.writes.Add(1)
		}
	case p < 99:
		op, err = "delete", w.deleteOldest(ctx)
	default:
		op = opSignIn
		_, err = w.c.SignIn(ctx, "users", userEmail(w.rng.IntN(w.users)), userPassword)
	}
	return op, time.Since(began), err
}

// deleteOldest deletes the oldest record the worker created.
func (w *worker) deleteOldest(ctx context.Context) error {
	id := w.own[0]
	_, err := w.c.Do(ctx, http.MethodDelete, "/api/collections/"+collectionName+"/records/"+id, nil, nil)
	if err == nil {
		w.own = w.own[1:]
		w.writes.Add(1)
	}
	return err
}

// post returns the fields of a new or updated post.
func (w *worker) post() map[string]any {
	return map[string]any{
		"title":     fmt.Sprintf("Soak post of worker %d, %d", w.n, w.rng.IntN(1_000_000)),
		"body":      loremBody,
		"views":     w.rng.IntN(1000),
		"published": w.rng.IntN(2) == 0,
	}
}

// loremBody is every post's body.
const loremBody = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " +
	"Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. " +
	"Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris."
