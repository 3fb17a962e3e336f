package rpc

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/basalt-dev/basalt/internal/apperr"
)

func TestDecodeData(t *testing.T) {
	deep := structpb.NewNullValue()
	for range maxDepth {
		deep = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{deep}})
	}
	tests := []struct {
		name    string
		in      *structpb.Struct
		want    string // JSON of the decoded data
		invalid string // the field with a problem
	}{
		{"nil", nil, `{}`, ""},
		{"plain", &structpb.Struct{Fields: map[string]*structpb.Value{
			"s": structpb.NewStringValue("x"), "n": structpb.NewNumberValue(1.5), "b": structpb.NewBoolValue(true),
			"z": structpb.NewNullValue(),
			"o": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewListValue(&structpb.ListValue{})}}),
		}}, `{"b":true,"n":1.5,"o":{"k":[]},"s":"x","z":null}`, ""},
		{"NaN", &structpb.Struct{Fields: map[string]*structpb.Value{"n": structpb.NewNumberValue(math.NaN())}}, "", "n"},
		{"infinity in a list", &structpb.Struct{Fields: map[string]*structpb.Value{"l": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(math.Inf(-1))}})}}, "", "l"},
		{"no kind", &structpb.Struct{Fields: map[string]*structpb.Value{"v": {}}}, "", "v"},
		{"nil value", &structpb.Struct{Fields: map[string]*structpb.Value{"v": nil}}, "", "v"},
		{"nested without kind", &structpb.Struct{Fields: map[string]*structpb.Value{"o": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"x": {}}})}}, "", "o"},
		{"at the depth limit", &structpb.Struct{Fields: map[string]*structpb.Value{"d": deep.GetListValue().Values[0]}}, `{"d":` + strings.Repeat("[", maxDepth-1) + "null" + strings.Repeat("]", maxDepth-1) + "}", ""},
		{"too deep", &structpb.Struct{Fields: map[string]*structpb.Value{"d": deep}}, "", "d"},
	}
	for _, tt := range tests {
		got, err := decodeData(tt.in)
		if tt.invalid != "" {
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid || e.Data[tt.invalid] == nil {
				t.Errorf("%s: err %v, want a problem with %q", tt.name, err, tt.invalid)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		data, _ := json.Marshal(got)
		if string(data) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, data, tt.want)
		}
	}
}

func TestEncodeRecord(t *testing.T) {
	type named string
	in := map[string]any{
		"s": "x", "n": 2.5, "i": 3, "b": false, "z": nil,
		"strings": []string{"a", "b"}, "typed": named("t"),
		"nested": map[string]any{"l": []any{1.0, map[string]any{"k": "v"}}},
		"raw":    json.RawMessage(`{"a":[1,2]}`),
	}
	s, err := encodeRecord(in)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(s.AsMap())
	want := `{"b":false,"i":3,"n":2.5,"nested":{"l":[1,{"k":"v"}]},"raw":{"a":[1,2]},"s":"x","strings":["a","b"],"typed":"t","z":null}`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if _, err := encodeRecord(map[string]any{"f": func() {}}); apperr.CodeOf(err) != apperr.Internal {
		t.Errorf("unencodable value: %v, want internal", err)
	}
}

// FuzzDecodeData: any Struct a client can send decodes without panicking
// into data that JSON (and thus the record service) can carry, or is
// refused with a per-field problem.
func FuzzDecodeData(f *testing.F) {
	seeds := []*structpb.Struct{
		{},
		{Fields: map[string]*structpb.Value{"title": structpb.NewStringValue("x"), "n": structpb.NewNumberValue(3)}},
		{Fields: map[string]*structpb.Value{"n": structpb.NewNumberValue(math.NaN())}},
		{Fields: map[string]*structpb.Value{"v": {}}},
		{Fields: map[string]*structpb.Value{"l": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewBoolValue(true), structpb.NewNullValue()}})}},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s structpb.Struct
		if proto.Unmarshal(b, &s) != nil {
			return // the RPC layer refuses it before the decoder runs
		}
		data, err := decodeData(&s)
		if err != nil {
			if e := apperr.As(err); e == nil || e.Code != apperr.Invalid || len(e.Data) != 1 {
				t.Fatalf("error %v is not one field problem", err)
			}
			return
		}
		if len(data) != len(s.Fields) {
			t.Fatalf("decoded %d fields of %d", len(data), len(s.Fields))
		}
		if _, err := json.Marshal(data); err != nil {
			t.Fatalf("decoded data is not JSON: %v", err)
		}
		if _, err := encodeRecord(data); err != nil {
			t.Fatalf("decoded data does not encode back: %v", err)
		}
	})
}
