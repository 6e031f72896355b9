package sop

import (
	"maps"
	"slices"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// The clone functions copy values deeply, so that stores and caches never
// share memory with their callers.

func clonePlaybook(p Playbook) Playbook {
	p.Trigger.When = rule.ClonePtr(p.Trigger.When)
	if p.Trigger.Inactive != nil {
		in := *p.Trigger.Inactive
		p.Trigger.Inactive = &in
	}
	p.Exit = rule.ClonePtr(p.Exit)
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

func cloneTemplate(t Template) Template {
	if t.Variants != nil {
		vs := make([]TemplateVariant, len(t.Variants))
		for i, v := range t.Variants {
			v.When = v.When.Clone()
			vs[i] = v
		}
		t.Variants = vs
	}
	t.Required = slices.Clone(t.Required)
	t.Optional = slices.Clone(t.Optional)
	return t
}
