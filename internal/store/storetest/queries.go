package storetest

import (
	"context"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

func testQueries(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)
	c := baseCollection("posts", field(schema.TypeText, "title"), field(schema.TypeNumber, "rank"), field(schema.TypeBool, "draft"))
	create(t, s, c)
	// Inserted out of id order; rank repeats so that ties are visible.
	rows := []struct {
		id    string
		title string
		rank  float64
	}{
		{"ccccccccccccccc", "cherry", 2},
		{"aaaaaaaaaaaaaaa", "apple", 1},
		{"eeeeeeeeeeeeeee", "elder", 3},
		{"bbbbbbbbbbbbbbb", "banana", 2},
		{"ddddddddddddddd", "date", 1},
	}
	for _, r := range rows {
		insert(t, s, newRecord(c, r.id, map[string]any{"title": r.title, "rank": r.rank}))
	}

	tests := []struct {
		name  string
		q     store.Query
		want  []string // ids in order; nil when only the set matters (wantSet)
		set   []string
		count int64
	}{
		{name: "sort by one field", q: store.Query{Sort: "title"},
			want: []string{"aaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbb", "ccccccccccccccc", "ddddddddddddddd", "eeeeeeeeeeeeeee"}, count: 5},
		{name: "sort descending with a plus term", q: store.Query{Sort: "-rank,+title"},
			want: []string{"eeeeeeeeeeeeeee", "bbbbbbbbbbbbbbb", "ccccccccccccccc", "aaaaaaaaaaaaaaa", "ddddddddddddddd"}, count: 5},
		{name: "sort with spaces", q: store.Query{Sort: " rank , -title "},
			want: []string{"ddddddddddddddd", "aaaaaaaaaaaaaaa", "ccccccccccccccc", "bbbbbbbbbbbbbbb", "eeeeeeeeeeeeeee"}, count: 5},
		{name: "limit", q: store.Query{Sort: "id", Limit: 2},
			want: []string{"aaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbb"}, count: 5},
		{name: "limit and offset", q: store.Query{Sort: "id", Limit: 2, Offset: 2},
			want: []string{"ccccccccccccccc", "ddddddddddddddd"}, count: 5},
		{name: "offset without limit", q: store.Query{Sort: "-id", Offset: 3},
			want: []string{"bbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaa"}, count: 5},
		{name: "offset past the end", q: store.Query{Sort: "id", Limit: 10, Offset: 10},
			want: []string{}, count: 5},
		{name: "ids", q: store.Query{IDs: []string{"ddddddddddddddd", "bbbbbbbbbbbbbbb", "zzzzzzzzzzzzzzz"}, Sort: "title"},
			want: []string{"bbbbbbbbbbbbbbb", "ddddddddddddddd"}, count: 2},
		{name: "ids with limit", q: store.Query{IDs: []string{"ddddddddddddddd", "bbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaa"}, Sort: "-id", Limit: 1},
			want: []string{"ddddddddddddddd"}, count: 3},
		{name: "empty id list matches nothing", q: store.Query{IDs: []string{}},
			want: []string{}, count: 0},
		{name: "no sort returns everything", q: store.Query{},
			set: []string{"aaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbb", "ccccccccccccccc", "ddddddddddddddd", "eeeeeeeeeeeeeee"}, count: 5},
		{name: "blank filters are ignored", q: store.Query{Filters: []string{"", "  "}, Sort: "id", Limit: 1},
			want: []string{"aaaaaaaaaaaaaaa"}, count: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := tt.q
			q.Collection = c
			got := ids(find(t, s, &q))
			if tt.want != nil && !equalStrings(got, tt.want) {
				t.Errorf("FindRecords: got %v, want %v", got, tt.want)
			}
			if tt.set != nil && !sameSet(got, tt.set) {
				t.Errorf("FindRecords: got %v, want the set %v", got, tt.set)
			}
			n, err := s.CountRecords(ctx, &q)
			if err != nil {
				t.Fatalf("CountRecords: %v", err)
			}
			if n != tt.count {
				t.Errorf("CountRecords: got %d, want %d", n, tt.count)
			}
		})
	}

	t.Run("ids beyond any parameter limit", func(t *testing.T) {
		t.Parallel()
		list := make([]string, 40000)
		for i := range list {
			list[i] = "x"
		}
		list[12345] = "ccccccccccccccc"
		got := ids(find(t, s, &store.Query{Collection: c, IDs: list}))
		if !equalStrings(got, []string{"ccccccccccccccc"}) {
			t.Errorf("got %v", got)
		}
	})

	t.Run("pages never overlap on ties", func(t *testing.T) {
		t.Parallel()
		var seen []string
		for page := 0; page < 5; page++ {
			seen = append(seen, ids(find(t, s, &store.Query{Collection: c, Sort: "rank", Limit: 1, Offset: page}))...)
		}
		if !sameSet(seen, []string{"aaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbb", "ccccccccccccccc", "ddddddddddddddd", "eeeeeeeeeeeeeee"}) {
			t.Errorf("pages: got %v, want every record once", seen)
		}
	})

	t.Run("a canceled context stops reads", func(t *testing.T) {
		t.Parallel()
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.FindRecords(canceled, &store.Query{Collection: c}); err == nil {
			t.Errorf("FindRecords with a canceled context: want an error")
		}
		if _, err := s.CountRecords(canceled, &store.Query{Collection: c}); err == nil {
			t.Errorf("CountRecords with a canceled context: want an error")
		}
	})

	t.Run("invalid sorts are refused", func(t *testing.T) {
		t.Parallel()
		for _, sort := range []string{"missing", "-missing", "title;DROP TABLE posts", "ti tle", "--title", "title DESC", "@unknown"} {
			_, err := s.FindRecords(ctx, &store.Query{Collection: c, Sort: sort})
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("sort %q: got %q (%v), want invalid", sort, got, err)
			}
		}
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
