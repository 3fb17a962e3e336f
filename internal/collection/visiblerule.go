package collection

import (
	"errors"
	"fmt"

	"github.com/basalt-dev/basalt/internal/filter"
)

// requestOnly checks that a field's visibleRule parses and reads nothing
// but @request.* data (and literals, macros and functions of them): it is
// evaluated once per response, not per record.
func requestOnly(rule string) error {
	e, err := filter.Parse(rule)
	if err != nil {
		return err
	}
	var bad error
	var check func(op filter.Operand)
	check = func(op filter.Operand) {
		switch x := op.(type) {
		case *filter.Identifier:
			if bad == nil && (x.Len() < 2 || x.Segment(0) != "@request") {
				bad = fmt.Errorf("%s: a visibleRule may only read @request.* fields", x.Name())
			}
		case *filter.Call:
			for i := 0; i < x.NumArgs(); i++ {
				check(x.Arg(i))
			}
		}
	}
	filter.Walk(e, func(c *filter.Comparison) bool {
		check(c.Left())
		check(c.Right())
		return bad == nil
	})
	if bad == nil && e == nil {
		return errors.New("empty rule")
	}
	return bad
}
