package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// rec returns record id at version v as the API would answer it.
func rec(t *testing.T, id string, v int) map[string]any {
	t.Helper()
	c := content(id, v)
	c["id"] = id
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVersionOfDetectsPartialRecords(t *testing.T) {
	const id = "w000k0000000001"
	if v, err := versionOf(id, rec(t, id, 3)); err != nil || v != 3 {
		t.Fatalf("whole record: version %d, err %v; want 3, nil", v, err)
	}
	torn := rec(t, id, 3)
	torn["payload"] = rec(t, id, 2)["payload"] // a field left from version 2
	if _, err := versionOf(id, torn); err == nil || !strings.Contains(err.Error(), "partial") {
		t.Errorf("payload of another version: err %v, want a partial record", err)
	}
	short := rec(t, id, 3)
	short["payload"] = short["payload"].(string)[:100]
	if _, err := versionOf(id, short); err == nil {
		t.Error("truncated payload: no error")
	}
	other := rec(t, "w000k0000000002", 3) // another record's content under this id
	if _, err := versionOf(id, other); err == nil {
		t.Error("another record's content: no error")
	}
	noVersion := rec(t, id, 3)
	delete(noVersion, "version")
	if _, err := versionOf(id, noVersion); err == nil {
		t.Error("no version: no error")
	}
}

func TestLedgerVerify(t *testing.T) {
	const a, b, c, d = "w000k0000000001", "w000k0000000002", "w000k0000000003", "w000k0000000004"
	tests := []struct {
		name     string
		items    []item
		server   map[string]int // id → version on the server
		problems []string       // substrings, one per expected problem
		applied  int
	}{
		{"acknowledged state present",
			[]item{{id: a, acked: 2}, {id: b, acked: 0}}, map[string]int{a: 2}, nil, 0},
		{"acknowledged create lost",
			[]item{{id: a, acked: 1}}, map[string]int{}, []string{"lost: record " + a}, 0},
		{"acknowledged update lost",
			[]item{{id: a, acked: 3}}, map[string]int{a: 2}, []string{"lost: record " + a + " is at version 2"}, 0},
		{"acknowledged delete undone",
			[]item{{id: a, acked: 0}}, map[string]int{a: 1}, []string{"phantom: record " + a}, 0},
		{"record nobody wrote",
			nil, map[string]int{a: 1}, []string{"phantom: record " + a + " was never written"}, 0},
		{"unanswered write applied or not",
			[]item{{id: a, acked: 1, pending: true, after: 2}, {id: b, acked: 0, pending: true, after: 1}},
			map[string]int{a: 2}, nil, 1},
		{"unanswered write left another version",
			[]item{{id: a, acked: 1, pending: true, after: 2}}, map[string]int{a: 3},
			[]string{"after an unanswered write"}, 0},
		{"unanswered batch applied whole",
			[]item{{id: a, pending: true, after: 1, group: 7}, {id: b, acked: 1, pending: true, after: 0, group: 7}},
			map[string]int{a: 1}, nil, 2},
		{"unanswered batch applied in part",
			[]item{{id: c, pending: true, after: 1, group: 7}, {id: d, acked: 1, pending: true, after: 2, group: 7}},
			map[string]int{c: 1, d: 1}, []string{"applied in part"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger()
			for _, it := range tt.items {
				l.items[it.id] = &it
			}
			recs := map[string]map[string]any{}
			for id, v := range tt.server {
				recs[id] = rec(t, id, v)
			}
			o := l.verify(recs)
			if len(o.problems) != len(tt.problems) {
				t.Fatalf("problems %q, want %d matching %q", o.problems, len(tt.problems), tt.problems)
			}
			for i, want := range tt.problems {
				if !strings.Contains(o.problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, o.problems[i], want)
				}
			}
			if o.applied != tt.applied {
				t.Errorf("applied = %d, want %d", o.applied, tt.applied)
			}
			// The ledger adopts the server's state.
			for id, it := range l.items {
				if it.pending || it.acked != tt.server[id] {
					t.Errorf("after verify %s: pending %v acked %d, want resolved to %d", id, it.pending, it.acked, tt.server[id])
				}
			}
		})
	}
}
