package rule

import (
	"slices"
)

// Deps lists what a Program reads, so that a caller holding many programs
// (tag rules, segments, SOP triggers) re-evaluates only those an event can
// change.
type Deps struct {
	Attrs    []string // attribute names, sorted and unique
	Events   []string // event types, sorted and unique
	Tags     []string // tags, sorted and unique
	Segments []string // segments, sorted and unique

	// TimeBased is true when the result can change by time passing alone,
	// with no new event: the program has an event window (within), a last
	// test, a tag (tags can expire) or appliedWithin, or a time operator
	// (within, olderThan, birthdayWithin, before, after). Such programs need
	// a periodic sweep.
	TimeBased bool
}

// Deps returns what the program reads. The slices are the caller's to keep.
func (p *Program) Deps() Deps {
	if p == nil {
		return Deps{}
	}
	d := p.deps
	d.Attrs = slices.Clone(d.Attrs)
	d.Events = slices.Clone(d.Events)
	d.Tags = slices.Clone(d.Tags)
	d.Segments = slices.Clone(d.Segments)
	return d
}

func (p *Program) collectDeps() Deps {
	var d Deps
	for i := range p.nodes {
		n := &p.nodes[i]
		switch n.kind {
		case kindAttr:
			d.Attrs = append(d.Attrs, n.name)
			switch n.attr.op {
			case opBefore, opAfter, opWithin, opOlderThan, opBirthdayWithin:
				d.TimeBased = true
			}
		case kindEvent:
			d.Events = append(d.Events, n.name)
			if n.event.within > 0 || n.event.last {
				d.TimeBased = true
			}
		case kindTag:
			d.Tags = append(d.Tags, n.name)
			d.TimeBased = true
		case kindSegment:
			d.Segments = append(d.Segments, n.name)
		}
	}
	for _, s := range []*[]string{&d.Attrs, &d.Events, &d.Tags, &d.Segments} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
	}
	return d
}
