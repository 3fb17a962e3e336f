package rest

import "github.com/basalt-dev/basalt/internal/api/picker"

// pickFields applies the "fields" query parameter to a response value (see
// picker.Pick).
func pickFields(v any, fields string) (any, error) { return picker.Pick(v, fields) }
