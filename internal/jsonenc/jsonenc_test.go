package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// sameAsMarshal fails the test unless appendJSON encodes v exactly as
// json.Marshal does, or fails where it fails.
func sameAsMarshal(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, gotErr := Append([]byte("prefix"), v)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("Append(%#v) error = %v, json.Marshal error = %v", v, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("Append(%#v)\n got %s\nwant prefix%s", v, got, want)
	}
}

type namedString string

type namedMap map[string]any

func TestAppendMatchesMarshal(t *testing.T) {
	t.Parallel()
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := any("leaf")
	for range 200 {
		deep = []any{map[string]any{"k": deep}}
	}
	values := []any{
		nil, true, false, "", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>",
		"control \x00\x01\x1f\b\f\n\r\t\x7f", "bad utf-8 \xff\xfe end", "\xc3", "line\u2028para\u2029",
		"ünïcödé ✓ 😀", strings.Repeat("long ", 1000),
		0.0, math.Copysign(0, -1), 1.0, -1.5, 0.1, 1e20, 1e21, 1e-6, 1e-7, 123456789.123456789,
		-9.99e-300, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 1.7976931348623157e308,
		math.NaN(), math.Inf(1), math.Inf(-1),
		0, 42, -7, int64(math.MaxInt64), int64(math.MinInt64), int32(5), uint8(200),
		[]any{}, []any(nil), []string{}, []string(nil), []string{"a", "<b>", "\xff"},
		map[string]any{}, map[string]any(nil),
		map[string]any{"b": 1.0, "a": "x", "é": true, "<": nil, "A": []any{1.0, "2"}, "\xff": "k"},
		map[string]any{"nested": map[string]any{"z": map[string]any{"y": []string{"q"}}}},
		json.RawMessage(`{"b": 1, "a" : [1, 2]}`), json.RawMessage(nil), json.RawMessage(`"<&>"`),
		json.RawMessage(`{bad`), json.Number("12.50"), namedString("n"), namedMap{"a": 1.0},
		map[string]string{"b": "x", "a": "y"}, []map[string]any{{"a": 1.0}}, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		map[string]any{"bad": math.NaN()}, []any{1.0, math.Inf(1)}, cyclic, deep,
		map[string]any{"fn": func() {}},
	}
	for _, v := range values {
		sameAsMarshal(t, v)
	}
}

func TestAppendRandomValues(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		sameAsMarshal(t, randomValue(r, 3))
	}
}

// randomValue returns a value of the shapes record responses are made of.
func randomValue(r *rand.Rand, depth int) any {
	n := 8
	if depth > 0 {
		n = 11
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return randomString(r)
	case 3:
		return math.Float64frombits(r.Uint64())
	case 4:
		return float64(r.IntN(2000)-1000) / float64(1+r.IntN(1000))
	case 5:
		return r.Int64() - r.Int64()
	case 6:
		return json.RawMessage(`{"k":` + randomJSONNumber(r) + `}`)
	case 7:
		list := make([]string, r.IntN(4))
		for i := range list {
			list[i] = randomString(r)
		}
		return list
	case 8, 9:
		m := map[string]any{}
		for range r.IntN(6) {
			m[randomString(r)] = randomValue(r, depth-1)
		}
		return m
	default:
		list := make([]any, r.IntN(4))
		for i := range list {
			list[i] = randomValue(r, depth-1)
		}
		return list
	}
}

func randomString(r *rand.Rand) string {
	const alphabet = "ab<>&\"\\/\x00\x1f\n\t é\u2028\xff😀"
	var b strings.Builder
	for range r.IntN(12) {
		i := r.IntN(len(alphabet))
		b.WriteString(alphabet[i : i+1+r.IntN(min(3, len(alphabet)-i))])
	}
	return b.String()
}

func randomJSONNumber(r *rand.Rand) string {
	return []string{"0", "-1", "1.50", "1e400", "12345678901234567890"}[r.IntN(5)]
}

func FuzzAppend(f *testing.F) {
	f.Add("hello <world> & \u2028", 1.5, "key")
	f.Add("\xff\xfe", 1e-7, "")
	f.Add("", math.Copysign(0, -1), "\x00")
	f.Fuzz(func(t *testing.T, s string, x float64, k string) {
		sameAsMarshal(t, s)
		sameAsMarshal(t, x)
		sameAsMarshal(t, map[string]any{k: s, s: x, "list": []any{x, s, []string{k}}})
	})
}
