package function

import (
	"errors"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// convert turns an ApiError (or ValidationError) thrown by a function into
// the service error it stands for; other errors are returned as they are.
func (v *vm) convert(err error) error {
	if err == nil {
		return nil
	}
	var val goja.Value
	var ex *goja.Exception
	var th *thrown
	switch {
	case errors.As(err, &ex):
		val = ex.Value()
	case errors.As(err, &th):
		val = th.value
	default:
		return err
	}
	if val == nil {
		return err
	}
	ok, callErr := v.isAPIError(goja.Undefined(), val)
	if callErr != nil || !ok.ToBoolean() {
		return err
	}
	obj := val.ToObject(v.rt)
	status := int(prop(obj, "status").ToInteger())
	e := &apperr.Error{Code: codeOf(status), Message: prop(obj, "message").String(), Cause: err}
	if data, ok := prop(obj, "data").Export().(map[string]any); ok && len(data) > 0 {
		e.Data = make(map[string]any, len(data))
		for k, x := range data {
			if m, ok := x.(map[string]any); ok {
				code, _ := m["code"].(string)
				msg, _ := m["message"].(string)
				if code != "" || msg != "" {
					e.Data[k] = apperr.Field{Code: code, Message: msg}
					continue
				}
			}
			e.Data[k] = x
		}
	}
	if e.Code == apperr.Internal {
		e.Message = "The function failed."
	}
	return e
}
