package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
)

// The records the writers write. Every record's fields are derived from its
// id and version, so a record read back can be checked on its own: a record
// whose fields do not all belong to one version is a torn (partial) write.
const (
	collectionName = "crash_items"
	// payload lengths span several 4 KiB SQLite pages, so that a record
	// often needs overflow pages that a torn write would leave half-written.
	minPayload = 200
	maxPayload = 12000
)

// content is the field values of record id at version v (v ≥ 1).
func content(id string, v int) map[string]any {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", id, v)
	rng := rand.New(rand.NewPCG(h.Sum64(), uint64(v)))
	const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,"
	b := make([]byte, minPayload+rng.IntN(maxPayload-minPayload))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	title := fmt.Sprintf("%s version %d", id, v)
	sum := sha256.Sum256([]byte(title + "\n" + string(b)))
	return map[string]any{
		"title":   title,
		"version": v,
		"payload": string(b),
		"digest":  hex.EncodeToString(sum[:16]),
		"meta":    map[string]any{"id": id, "version": v},
	}
}

// versionOf checks that rec (a record as the API returns it) is whole, every
// field of one version of its id, and returns that version.
func versionOf(id string, rec map[string]any) (int, error) {
	vf, ok := rec["version"].(float64)
	if !ok || vf < 1 || vf != float64(int(vf)) {
		return 0, fmt.Errorf("record %s: version %v is not a positive integer", id, rec["version"])
	}
	v := int(vf)
	want := content(id, v)
	var bad []string
	for _, f := range []string{"title", "payload", "digest"} {
		if rec[f] != want[f] {
			bad = append(bad, f)
		}
	}
	meta, _ := rec["meta"].(map[string]any)
	if meta == nil || meta["id"] != id || meta["version"] != float64(v) {
		bad = append(bad, "meta")
	}
	if len(bad) > 0 {
		return v, fmt.Errorf("record %s is partial: %s do not match version %d", id, strings.Join(bad, ", "), v)
	}
	return v, nil
}

// item is one record id a writer owns, with what the server acknowledged
// about it.
type item struct {
	id    string
	acked int // the acknowledged version; 0: absent (not created yet, or deleted)
	// pending: a write was sent without an answer; it must be either fully
	// applied (the record is at version after, 0 meaning deleted) or not at
	// all.
	pending bool
	after   int
	// group is shared by the items of one unanswered batch, which must be
	// applied all together or not at all (0: a single write).
	group int
}

// ledger is every item of every writer. Writers touch only their own items
// while traffic runs; the ledger is read and resolved between rounds.
type ledger struct {
	items map[string]*item
}

func newLedger() *ledger { return &ledger{items: map[string]*item{}} }

// outcome is what one verification found.
type outcome struct {
	checked    int // items compared with the server
	present    int // records expected and found
	unanswered int // pending writes resolved
	applied    int // of which were applied
	problems   []string
}

// verify compares the ledger with recs, the records on the server by id,
// then adopts the server's state: every pending write is resolved to what was
// found, so that the next round starts from a known state.
//
// Problems: an acknowledged write missing or superseded (lost), a record
// nobody wrote or that was deleted with an acknowledgement (phantom), a
// partial record, a pending write that left a state that is neither before
// nor after it, and a batch applied in part.
func (l *ledger) verify(recs map[string]map[string]any) outcome {
	var out outcome
	groups := map[int]bool{} // unanswered batch → applied
	ids := make([]string, 0, len(l.items))
	for id := range l.items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		it := l.items[id]
		out.checked++
		got := 0
		if rec, ok := recs[id]; ok {
			v, err := versionOf(id, rec)
			if err != nil {
				out.problems = append(out.problems, err.Error())
			}
			got = v
		}
		if !it.pending {
			switch {
			case got == it.acked && got > 0:
				out.present++
			case got == it.acked:
			case it.acked > 0 && got == 0:
				out.problems = append(out.problems, fmt.Sprintf("lost: record %s (acknowledged at version %d) is missing", id, it.acked))
			case it.acked > 0:
				out.problems = append(out.problems, fmt.Sprintf("lost: record %s is at version %d, acknowledged at version %d", id, got, it.acked))
			default:
				out.problems = append(out.problems, fmt.Sprintf("phantom: record %s is at version %d, acknowledged absent", id, got))
			}
			it.acked = got
			continue
		}
		out.unanswered++
		applied := got == it.after
		if !applied && got != it.acked {
			out.problems = append(out.problems, fmt.Sprintf("record %s is at version %d after an unanswered write from version %d to %d", id, got, it.acked, it.after))
		}
		if applied {
			out.applied++
		}
		if it.group != 0 {
			if first, seen := groups[it.group]; seen && first != applied {
				out.problems = append(out.problems, fmt.Sprintf("unanswered batch %d applied in part (record %s applied: %v)", it.group, id, applied))
			}
			groups[it.group] = applied
		}
		it.acked, it.pending, it.after, it.group = got, false, 0, 0
	}
	for id := range recs {
		if _, ok := l.items[id]; !ok {
			out.problems = append(out.problems, fmt.Sprintf("phantom: record %s was never written", id))
		}
	}
	return out
}
