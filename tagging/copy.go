package tagging

import (
	"reflect"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// copyRule returns a deep copy of r: stores hand out rules callers may
// modify.
func copyRule(r Rule) Rule {
	r.Keywords = append([]string(nil), r.Keywords...)
	if len(r.Keywords) == 0 {
		r.Keywords = nil
	}
	r.When = copyCondition(r.When)
	return r
}

// copyCondition returns a deep copy of c: its lists, pointers and list
// values are copied, so that mutating one never changes the other.
func copyCondition(c rule.Condition) rule.Condition {
	if c.All != nil {
		all := make([]rule.Condition, len(c.All))
		for i, x := range c.All {
			all[i] = copyCondition(x)
		}
		c.All = all
	}
	if c.Any != nil {
		anyOf := make([]rule.Condition, len(c.Any))
		for i, x := range c.Any {
			anyOf[i] = copyCondition(x)
		}
		c.Any = anyOf
	}
	if c.Not != nil {
		n := copyCondition(*c.Not)
		c.Not = &n
	}
	if c.Count != nil {
		x := *c.Count
		c.Count = &x
	}
	if c.Sum != nil {
		x := *c.Sum
		c.Sum = &x
	}
	if c.Last != nil {
		x := *c.Last
		c.Last = &x
	}
	c.Value = copyValue(c.Value)
	return c
}

// copyValue copies list operands (of any slice type); scalars are values
// already.
func copyValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []string:
		return append([]string(nil), x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && !rv.IsNil() {
		out := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(out, rv)
		return out.Interface()
	}
	return v
}
