package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// describe turns a service error into a message for the terminal, listing
// per-field problems.
func describe(err error) error {
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Data) == 0 {
		return err
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if p, ok := e.Data[k].(apperr.Field); ok {
			parts = append(parts, k+": "+p.Message)
		} else {
			parts = append(parts, fmt.Sprintf("%s: %v", k, e.Data[k]))
		}
	}
	return fmt.Errorf("%s (%s)", e.Message, strings.Join(parts, "; "))
}
