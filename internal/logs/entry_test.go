package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestFlatDataMatchesMap checks that entries encoded straight from their
// attributes hold what the map encoding holds.
func TestFlatDataMatchesMap(t *testing.T) {
	t.Parallel()
	h := &handler{next: slog.DiscardHandler}
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "GET /x", 0)
	rec.AddAttrs(
		slog.String("type", RequestType),
		slog.String("esc", "quote\" back\\ nl\n tab\t ctl\x01 <html>&é \u2028 bad\xff end"),
		slog.Int("status", 200),
		slog.Uint64("u", 1<<63),
		slog.Float64("execTime", 0.125),
		slog.Float64("tiny", 1e-7),
		slog.Float64("huge", 1e22),
		slog.Float64("whole", 3),
		slog.Bool("ok", true),
		slog.Duration("took", time.Second),
		slog.Any("err", errors.New("boom")),
		slog.Any("list", []int{1, 2}),
		slog.String("status", "dup: the last wins"),
		slog.String("userIP", "10.0.0.1"),
		slog.String("authId", "u1"),
		slog.String("", "no key"),
	)
	// One scratch space for every entry, as the writer has: the two
	// variants have different keys, and each comes twice, so the key
	// order is worked out, reused and worked out again.
	var keys flatKeys
	for _, noIP := range []bool{false, true, true, false, false} {
		e := &entry{rec: rec, h: h, requestID: "req-1", noIP: noIP, noAuthID: !noIP}
		got := e.appendData(nil, &keys)
		want := h.data(rec, "req-1")
		if noIP {
			delete(want, "userIP")
		} else {
			delete(want, "authId")
		}
		wantJSON, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if keys := topKeys(t, got); !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
			t.Errorf("noIP=%v: keys %q are not sorted and unique", noIP, keys)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		json.Unmarshal(wantJSON, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("noIP=%v:\n got %s\nwant %s", noIP, got, wantJSON)
		}
	}
}

// topKeys returns the keys of the JSON object data in the order written.
func topKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	var keys []string
	if _, err := dec.Token(); err != nil { // {
		t.Fatalf("invalid JSON %s: %v", data, err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("invalid JSON %s: %v", data, err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("invalid JSON %s: %v", data, err)
		}
	}
	return keys
}

func TestFloatsAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, -0.5, 1, 1.5e-6, 9.99e-7, 123456789, 1e20, 1e21, -2.5e-300, math.MaxFloat64} {
		want, _ := json.Marshal(f)
		if got := appendFloat(nil, f); !bytes.Equal(got, want) {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	if got := appendFloat(nil, math.NaN()); string(got) != "null" {
		t.Errorf("NaN = %s, want null", got)
	}
}

func TestQuietRequests(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	logger := slog.New(NewHandler(QuietRequests(slog.NewTextHandler(&out, nil)), nil)).With("component", "x")
	ctx := context.Background()
	logger.InfoContext(ctx, "GET /ok", "type", RequestType, "status", 200)
	logger.WarnContext(ctx, "GET /missing", "type", RequestType, "status", 404)
	logger.ErrorContext(ctx, "GET /broken", "type", RequestType, "status", 500)
	logger.InfoContext(ctx, "started", "type", "other")
	got := out.String()
	for _, s := range []string{"GET /ok", "GET /missing"} {
		if bytes.Contains([]byte(got), []byte(s)) {
			t.Errorf("console shows %q:\n%s", s, got)
		}
	}
	for _, s := range []string{"GET /broken", "started"} {
		if !bytes.Contains([]byte(got), []byte(s)) {
			t.Errorf("console lacks %q:\n%s", s, got)
		}
	}
}
