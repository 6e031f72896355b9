package metrics

import (
	"errors"
	"fmt"

	"github.com/scrmkit/scrmkit/scrm"
)

// prefixField returns err with its Field prefixed by name[i], so an error
// about one element of a list names it: "Costs[2].Sales".
func prefixField(err error, name string, i int) error {
	var e *scrm.Error
	if !errors.As(err, &e) {
		return err
	}
	cp := *e
	cp.Field = fmt.Sprintf("%s[%d]", name, i)
	if e.Field != "" {
		cp.Field += "." + e.Field
	}
	return &cp
}
