package coupon

import (
	"slices"
	"strconv"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// cloneCondition returns a deep copy of c, so that a stored template shares
// no memory with its caller. Attribute values are immutable scalars
// (strings, numbers, times, decimals) or lists of them; lists are copied.
func cloneCondition(c *rule.Condition) *rule.Condition {
	if c == nil {
		return nil
	}
	out := cloneConditionValue(*c)
	return &out
}

func cloneConditionValue(c rule.Condition) rule.Condition {
	if c.All != nil {
		all := make([]rule.Condition, len(c.All))
		for i, x := range c.All {
			all[i] = cloneConditionValue(x)
		}
		c.All = all
	}
	if c.Any != nil {
		anyOf := make([]rule.Condition, len(c.Any))
		for i, x := range c.Any {
			anyOf[i] = cloneConditionValue(x)
		}
		c.Any = anyOf
	}
	c.Not = cloneCondition(c.Not)
	c.Value = cloneValue(c.Value)
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
	return c
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []int:
		return slices.Clone(x)
	case []int64:
		return slices.Clone(x)
	case []float64:
		return slices.Clone(x)
	}
	return v
}

func quote(s string) string { return strconv.Quote(s) }

func itoa(i int) string { return strconv.Itoa(i) }
