package record_test

import (
	"context"
	"slices"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
)

// TestListTrust checks that List treats the collection's rule as trusted and
// the client's filter and sort as client input: a rule may read a hidden
// field, a client's filter or sort only as a superuser, and a client's
// condition on an email only matches users who show it.
func TestListTrust(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	def := `{"name":"notes","listRule":"state != 'draft'","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[{"name":"title","type":"text"},{"name":"state","type":"text","hidden":true},
		{"name":"owner","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1}]}`
	if _, err := f.cols.Create(ctx, []byte(def)); err != nil {
		t.Fatalf("creating a collection whose rule reads a hidden field: %v", err)
	}
	cat := f.create(t, su(), "users", map[string]any{"email": "cat@example.com", "emailVisibility": true,
		"password": "password123", "passwordConfirm": "password123"})
	for _, n := range []struct{ title, state, owner string }{
		{"ann's", "open", f.ann.ID()}, {"ann's draft", "draft", f.ann.ID()}, {"cat's", "done", cat.ID()},
	} {
		f.create(t, su(), "notes", map[string]any{"title": n.title, "state": n.state, "owner": n.owner})
	}

	for _, tt := range []struct {
		name string
		req  *record.Request
		opts record.ListOptions
		want []string // titles, or nil for an invalid request
	}{
		{"rule reads a hidden field", as(f.bob), record.ListOptions{Sort: "title"}, []string{"ann's", "cat's"}},
		{"guest", nil, record.ListOptions{Sort: "title", Filter: "title ~ 's'"}, []string{"ann's", "cat's"}},
		{"client filter on a hidden field", as(f.bob), record.ListOptions{Filter: "state = 'open'"}, nil},
		{"client sort by a hidden field", as(f.bob), record.ListOptions{Sort: "-state"}, nil},
		{"superuser's filter and sort on a hidden field", su(), record.ListOptions{Filter: "state != 'open'", Sort: "-state"}, []string{"ann's draft", "cat's"}},
		{"private email", as(f.ann), record.ListOptions{Filter: "owner.email = 'ann@example.com'"}, []string{}},
		{"visible email", as(f.ann), record.ListOptions{Filter: "owner.email ~ 'example.com'"}, []string{"cat's"}},
		{"superuser sees every email", su(), record.ListOptions{Filter: "owner.email = 'ann@example.com'", Sort: "title"}, []string{"ann's", "ann's draft"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.records.List(ctx, tt.req, "notes", tt.opts)
			if tt.want == nil {
				if apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("List: got %v, want invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			got := []string{}
			for _, it := range res.Items {
				got = append(got, it.Record.String("title"))
			}
			if tt.opts.Sort == "" {
				slices.Sort(got)
			}
			if !slices.Equal(got, tt.want) || res.TotalItems != int64(len(tt.want)) {
				t.Errorf("List: got %v (total %d), want %v", got, res.TotalItems, tt.want)
			}
		})
	}

	// A user's own email is private too, as in PocketBase.
	res, err := f.records.List(ctx, as(f.ann), "users", record.ListOptions{Filter: "email = 'ann@example.com'"})
	if err != nil || len(res.Items) != 0 {
		t.Errorf("users filtered by a private email: got %v, %v; want no items", res, err)
	}
}

// TestListTotal checks the total on every kind of page: full pages (which
// count), the short last page (whose total is known without a count) and
// empty pages past the end.
func TestListTotal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	def := `{"name":"items","listRule":"","fields":[{"name":"n","type":"number"}]}`
	if _, err := f.cols.Create(ctx, []byte(def)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.create(t, su(), "items", map[string]any{"n": i})
	}
	for _, tt := range []struct {
		page, perPage int
		filter        string
		items         int
		total         int64
	}{
		{1, 2, "", 2, 5},
		{2, 2, "", 2, 5},
		{3, 2, "", 1, 5},
		{4, 2, "", 0, 5},
		{1, 10, "", 5, 5},
		{1, 10, "n > 1", 3, 3},
		{2, 3, "n > 1", 0, 3},
		{1, 1, "n > 10", 0, 0},
	} {
		res, err := f.records.List(ctx, nil, "items", record.ListOptions{Page: tt.page, PerPage: tt.perPage, Filter: tt.filter})
		if err != nil {
			t.Fatalf("List page %d of %d (%q): %v", tt.page, tt.perPage, tt.filter, err)
		}
		if len(res.Items) != tt.items || res.TotalItems != tt.total || res.TotalPages != (tt.total+int64(tt.perPage)-1)/int64(tt.perPage) {
			t.Errorf("List page %d of %d (%q): %d items, total %d, %d pages; want %d items, total %d",
				tt.page, tt.perPage, tt.filter, len(res.Items), res.TotalItems, res.TotalPages, tt.items, tt.total)
		}
	}
}
