package sop

import (
	"maps"
	"reflect"
	"slices"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// The clone functions copy values deeply, so that stores and caches never
// share memory with their callers.

func clonePlaybook(p Playbook) Playbook {
	p.Trigger.When = cloneConditionPtr(p.Trigger.When)
	if p.Trigger.Inactive != nil {
		in := *p.Trigger.Inactive
		p.Trigger.Inactive = &in
	}
	p.Exit = cloneConditionPtr(p.Exit)
	if p.Steps != nil {
		steps := make([]Step, len(p.Steps))
		for i, s := range p.Steps {
			s.Window = cloneWindow(s.Window)
			s.Weekdays = slices.Clone(s.Weekdays)
			s.Action = cloneAction(s.Action)
			if s.Variants != nil {
				vs := make([]Variant, len(s.Variants))
				for k, v := range s.Variants {
					v.Action = cloneAction(v.Action)
					vs[k] = v
				}
				s.Variants = vs
			}
			steps[i] = s
		}
		p.Steps = steps
	}
	return p
}

func cloneAction(a Action) Action {
	a.Vars = maps.Clone(a.Vars)
	return a
}

func cloneWindow(w *Window) *Window {
	if w == nil {
		return nil
	}
	c := *w
	return &c
}

func cloneCalendar(c Calendar) Calendar {
	if c.Entries != nil {
		es := make([]Entry, len(c.Entries))
		for i, e := range c.Entries {
			e.Groups = slices.Clone(e.Groups)
			e.Vars = maps.Clone(e.Vars)
			es[i] = e
		}
		c.Entries = es
	}
	return c
}

func clonePolicy(p Policy) Policy {
	p.QuietHours = cloneWindow(p.QuietHours)
	p.Caps = slices.Clone(p.Caps)
	p.RateLimits = maps.Clone(p.RateLimits)
	p.SuppressTags = slices.Clone(p.SuppressTags)
	return p
}

func cloneTask(t StaffTask) StaffTask {
	t.Vars = maps.Clone(t.Vars)
	return t
}

func cloneConditionPtr(c *rule.Condition) *rule.Condition {
	if c == nil {
		return nil
	}
	cc := cloneCondition(*c)
	return &cc
}

func cloneCondition(c rule.Condition) rule.Condition {
	if c.All != nil {
		all := make([]rule.Condition, len(c.All))
		for i, x := range c.All {
			all[i] = cloneCondition(x)
		}
		c.All = all
	}
	if c.Any != nil {
		anyOf := make([]rule.Condition, len(c.Any))
		for i, x := range c.Any {
			anyOf[i] = cloneCondition(x)
		}
		c.Any = anyOf
	}
	c.Not = cloneConditionPtr(c.Not)
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

// cloneValue copies a condition operand that is a slice (a list for in /
// nin); scalars are values already.
func cloneValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []string:
		return slices.Clone(x)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && !rv.IsNil() {
		out := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(out, rv)
		return out.Interface()
	}
	return v
}
