package rule

import "reflect"

// Clone returns a deep copy of c: its lists, pointers and list values are
// copied, so that changing one never changes the other. Stores use it to
// hand out conditions callers may modify. Scalar values (strings, numbers,
// times, decimals) are immutable and shared.
func (c Condition) Clone() Condition {
	if c.All != nil {
		all := make([]Condition, len(c.All))
		for i, x := range c.All {
			all[i] = x.Clone()
		}
		c.All = all
	}
	if c.Any != nil {
		anyOf := make([]Condition, len(c.Any))
		for i, x := range c.Any {
			anyOf[i] = x.Clone()
		}
		c.Any = anyOf
	}
	if c.Not != nil {
		n := c.Not.Clone()
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
	c.Value = cloneValue(c.Value)
	return c
}

// ClonePtr returns a pointer to a deep copy of *c, or nil for nil: optional
// conditions (audiences, exits) are pointers.
func ClonePtr(c *Condition) *Condition {
	if c == nil {
		return nil
	}
	x := c.Clone()
	return &x
}

// cloneValue copies list operands of any slice type; scalars are values.
func cloneValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []string:
		return append([]string(nil), x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
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
