package rule

import "github.com/scrmkit/scrmkit/scrm"

// Index maps what conditions read (their Deps) to values, such as compiled
// tag rules or segments, so that an event finds the values whose result it
// can change without scanning them all. The zero Index is empty and ready to
// use. An Index is not safe for concurrent Add; after it is built, Affected
// may be called concurrently.
type Index[T any] struct {
	byEvent, byAttr, byTag, bySegment map[string][]T
}

// Add records v under everything d reads.
func (x *Index[T]) Add(d Deps, v T) {
	add := func(m *map[string][]T, keys []string) {
		if len(keys) == 0 {
			return
		}
		if *m == nil {
			*m = make(map[string][]T)
		}
		for _, k := range keys {
			(*m)[k] = append((*m)[k], v)
		}
	}
	add(&x.byEvent, d.Events)
	add(&x.byAttr, d.Attrs)
	add(&x.byTag, d.Tags)
	add(&x.bySegment, d.Segments)
}

// Affected calls fn for each value whose result e can change: first those
// reading e's type as an event type (direct true), then those reading the
// attributes a customer.attrs_set event sets, the tag of a tag.applied or
// tag.removed event, or the segment of a segment.entered or segment.exited
// event (direct false). A value reading several of these is reported once
// for each; callers that need a set deduplicate.
func (x *Index[T]) Affected(e scrm.Event, fn func(v T, direct bool)) {
	each := func(vs []T, direct bool) {
		for _, v := range vs {
			fn(v, direct)
		}
	}
	each(x.byEvent[e.Type], true)
	switch e.Type {
	case scrm.EventAttrsSet:
		if attrs, ok := e.Props["attrs"].(map[string]any); ok {
			for name := range attrs {
				each(x.byAttr[name], false)
			}
		}
	case scrm.EventTagApplied, scrm.EventTagRemoved:
		each(x.byTag[e.Prop("tag")], false)
	case scrm.EventSegmentEntered, scrm.EventSegmentExited:
		each(x.bySegment[e.Prop("segment")], false)
	}
}
