package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
)

// msgInvalidData is the message of a data Struct that cannot stand for a
// JSON object, as REST's for a malformed body.
const msgInvalidData = "Failed to load the submitted data due to invalid formatting."

// maxDepth bounds the nesting of submitted values (objects and lists in
// json fields); deeper data is refused rather than walked.
const maxDepth = 64

// decodeData turns the data Struct of a create or update into the field
// values REST would decode from the same JSON body: numbers as float64,
// objects as map[string]any, lists as []any. A Struct is richer than JSON
// (a value may have no kind, a number may be NaN or infinite); such values
// are refused with a per-field problem, so that nothing the record service
// receives differs from what a JSON body could carry. A nil Struct is an
// empty body.
func decodeData(s *structpb.Struct) (map[string]any, error) {
	out := make(map[string]any, len(s.GetFields()))
	for k, v := range s.GetFields() {
		x, err := decodeValue(v, 1)
		if err != nil {
			return nil, apperr.Fields(msgInvalidData, map[string]apperr.Field{
				k: {Code: "validation_invalid_value", Message: err.Error()}})
		}
		out[k] = x
	}
	return out, nil
}

// decodeValue converts one value at nesting depth; the error is a
// client-safe sentence.
func decodeValue(v *structpb.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("Values may nest at most %d levels deep.", maxDepth)
	}
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		return nil, nil
	case *structpb.Value_BoolValue:
		return k.BoolValue, nil
	case *structpb.Value_StringValue:
		return k.StringValue, nil
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			return nil, errors.New("Numbers must be finite.")
		}
		return k.NumberValue, nil
	case *structpb.Value_StructValue:
		fields := k.StructValue.GetFields()
		m := make(map[string]any, len(fields))
		for key, x := range fields {
			y, err := decodeValue(x, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = y
		}
		return m, nil
	case *structpb.Value_ListValue:
		values := k.ListValue.GetValues()
		l := make([]any, len(values))
		for i, x := range values {
			y, err := decodeValue(x, depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = y
		}
		return l, nil
	}
	return nil, errors.New("Every value must be set (null, a number, a string, a boolean, an object or a list).")
}

// encodeItem turns a record into a Struct holding the JSON object REST
// answers for the caller of e (record.Export), without building that
// object as a map first.
func encodeItem(e *record.Exporter, it *record.Item) (*structpb.Struct, error) {
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(it.Record.Collection.Fields)+3)}
	err := e.Each(it, func(key string, v any) error {
		var x *structpb.Value
		var err error
		if key == "expand" {
			x, err = encodeExpand(e, it.Expand)
		} else {
			x, err = encodeValue(v)
		}
		if err != nil {
			return fmt.Errorf("encoding record field %q: %w", key, err)
		}
		out.Fields[key] = x
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, "", err)
	}
	return out, nil
}

// encodeExpand encodes expanded relations: one record or a list of them
// per relation.
func encodeExpand(e *record.Exporter, expand map[string]any) (*structpb.Value, error) {
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(expand))}
	for k, v := range expand {
		switch x := v.(type) {
		case *record.Item:
			s, err := encodeItem(e, x)
			if err != nil {
				return nil, err
			}
			out.Fields[k] = structpb.NewStructValue(s)
		case []*record.Item:
			l := &structpb.ListValue{Values: make([]*structpb.Value, len(x))}
			for i, sub := range x {
				s, err := encodeItem(e, sub)
				if err != nil {
					return nil, err
				}
				l.Values[i] = structpb.NewStructValue(s)
			}
			out.Fields[k] = structpb.NewListValue(l)
		}
	}
	return structpb.NewStructValue(out), nil
}

// encodeRecord turns an exported record (record.Export) into a Struct
// holding the JSON object REST would answer.
func encodeRecord(m map[string]any) (*structpb.Struct, error) {
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(m))}
	for k, v := range m {
		x, err := encodeValue(v)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, "", fmt.Errorf("encoding record field %q: %w", k, err))
		}
		out.Fields[k] = x
	}
	return out, nil
}

// encodeValue converts plain values directly and any other (typed slices,
// values with their own JSON encoding) through their JSON form.
func encodeValue(v any) (*structpb.Value, error) {
	switch x := v.(type) {
	case map[string]any:
		s, err := encodeRecord(x)
		if err != nil {
			return nil, err
		}
		return structpb.NewStructValue(s), nil
	case []any:
		l := &structpb.ListValue{Values: make([]*structpb.Value, len(x))}
		for i, y := range x {
			z, err := encodeValue(y)
			if err != nil {
				return nil, err
			}
			l.Values[i] = z
		}
		return structpb.NewListValue(l), nil
	case nil, bool, string, float64, float32, int, int32, int64, uint, uint32, uint64, json.Number:
		return structpb.NewValue(x)
	case []string: // select, file and relation fields
		l := &structpb.ListValue{Values: make([]*structpb.Value, len(x))}
		for i, y := range x {
			l.Values[i] = structpb.NewStringValue(y)
		}
		return structpb.NewListValue(l), nil
	case json.RawMessage: // json fields
		var plain any
		if err := json.Unmarshal(x, &plain); err != nil {
			return nil, err
		}
		return encodeValue(plain)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var plain any
	if err := json.Unmarshal(data, &plain); err != nil {
		return nil, err
	}
	return encodeValue(plain)
}
