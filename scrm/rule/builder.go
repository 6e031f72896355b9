package rule

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Builders make conditions in Go without spelling out Condition literals:
//
//	rule.All(
//		rule.Attr("city").In("上海", "杭州"),
//		rule.Event(scrm.EventOrderPaid).Within(30*24*time.Hour).CountGte(2),
//		rule.Not(rule.InSegment("blacklist")),
//	)
//
// They only assemble data; Compile validates it.

// All holds when every condition holds.
func All(cs ...Condition) Condition {
	return Condition{All: append([]Condition{}, cs...)}
}

// Any holds when at least one condition holds.
func Any(cs ...Condition) Condition {
	return Condition{Any: append([]Condition{}, cs...)}
}

// Not holds when c does not.
func Not(c Condition) Condition {
	return Condition{Not: &c}
}

// HasTag holds when the customer has the tag and it has not expired.
func HasTag(tag string) Condition {
	return Condition{Tag: tag}
}

// TagAppliedWithin holds when the customer has the tag, it has not expired,
// and it was applied at or after now-d.
func TagAppliedWithin(tag string, d time.Duration) Condition {
	return Condition{Tag: tag, AppliedWithin: Duration(d)}
}

// InSegment holds when the customer is a member of the segment.
func InSegment(segment string) Condition {
	return Condition{Segment: segment}
}

// AttrRef builds comparisons of one attribute. Get one from Attr.
type AttrRef struct{ name string }

// Attr starts a comparison of the named attribute: Attr("city").In("上海").
func Attr(name string) AttrRef { return AttrRef{name: name} }

func (a AttrRef) op(o op, v any) Condition {
	return Condition{Attr: a.name, Op: o.String(), Value: v}
}

// Eq: the attribute equals v (a string, number or bool).
func (a AttrRef) Eq(v any) Condition { return a.op(opEq, v) }

// Ne: the attribute is missing or differs from v.
func (a AttrRef) Ne(v any) Condition { return a.op(opNe, v) }

// Gt: the attribute is a number greater than v.
func (a AttrRef) Gt(v any) Condition { return a.op(opGt, v) }

// Gte: the attribute is a number greater than or equal to v.
func (a AttrRef) Gte(v any) Condition { return a.op(opGte, v) }

// Lt: the attribute is a number less than v.
func (a AttrRef) Lt(v any) Condition { return a.op(opLt, v) }

// Lte: the attribute is a number less than or equal to v.
func (a AttrRef) Lte(v any) Condition { return a.op(opLte, v) }

// Between: the attribute is a number in [lo, hi], ends included.
func (a AttrRef) Between(lo, hi any) Condition { return a.op(opBetween, []any{lo, hi}) }

// In: the attribute (or, for a list attribute, one of its elements) is one
// of vs.
func (a AttrRef) In(vs ...any) Condition { return a.op(opIn, append([]any{}, vs...)) }

// Nin: the attribute is missing, or it (or, for a list attribute, every
// element) is none of vs.
func (a AttrRef) Nin(vs ...any) Condition { return a.op(opNin, append([]any{}, vs...)) }

// Contains: a string attribute contains the substring v, or a list
// attribute has the element v.
func (a AttrRef) Contains(v any) Condition { return a.op(opContains, v) }

// Prefix: a string attribute starts with s.
func (a AttrRef) Prefix(s string) Condition { return a.op(opPrefix, s) }

// Exists: the attribute is set (to a non-nil value).
func (a AttrRef) Exists() Condition { return a.op(opExists, nil) }

// Missing: the attribute is not set.
func (a AttrRef) Missing() Condition { return a.op(opExists, false) }

// Before: a time attribute is before t: an instant (time.Time or an RFC
// 3339 string) or a date "2006-01-02", meaning before that day starts.
func (a AttrRef) Before(t any) Condition { return a.op(opBefore, t) }

// After: a time attribute is after t: an instant (time.Time or an RFC 3339
// string) or a date "2006-01-02", meaning after that day ends.
func (a AttrRef) After(t any) Condition { return a.op(opAfter, t) }

// Within: a time attribute lies in [now-d, now].
func (a AttrRef) Within(d time.Duration) Condition { return a.op(opWithin, Duration(d)) }

// OlderThan: a time attribute is before now-d.
func (a AttrRef) OlderThan(d time.Duration) Condition { return a.op(opOlderThan, Duration(d)) }

// BirthdayWithin: the next anniversary of a birthday attribute falls
// within the next days days, today included (0 means today). A negative
// days does not compile.
func (a AttrRef) BirthdayWithin(days int) Condition {
	if days == 0 {
		// A zero Duration means "not set" and has no text form, so today
		// is the operand "0d", which birthdayWithin alone accepts; the
		// Condition then encodes and round-trips like any other.
		return a.op(opBirthdayWithin, "0d")
	}
	return a.op(opBirthdayWithin, Duration(time.Duration(days)*day))
}

// EventRef builds conditions on one event type. Get one from Event.
type EventRef struct{ c Condition }

// Event starts a condition on the events of one type:
// Event("order.paid").Within(30*24*time.Hour).CountGte(2).
func Event(eventType string) EventRef {
	return EventRef{c: Condition{Event: eventType}}
}

// Within limits count and sum to the events at or after now-d.
func (e EventRef) Within(d time.Duration) EventRef {
	e.c.Within = Duration(d)
	return e
}

// Happened: at least one event (in the window).
func (e EventRef) Happened() Condition { return e.c }

// Count compares the number of events (in the window) with every bound set
// in c.
func (e EventRef) Count(c Cmp) Condition {
	e.c.Count = &c
	return e.c
}

// Sum compares the total amount of the events (in the window) with every
// bound set in c.
func (e EventRef) Sum(c Cmp) Condition {
	e.c.Sum = &c
	return e.c
}

func count(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// amount writes d with the scale it was written with: 500.00, not 500.
func amount(d decimal.Decimal) json.Number {
	if d.Exponent() < 0 {
		return json.Number(d.StringFixed(-d.Exponent()))
	}
	return json.Number(d.String())
}

// CountEq: exactly n events.
func (e EventRef) CountEq(n int64) Condition { return e.Count(Cmp{Eq: count(n)}) }

// CountGte: at least n events.
func (e EventRef) CountGte(n int64) Condition { return e.Count(Cmp{Gte: count(n)}) }

// CountGt: more than n events.
func (e EventRef) CountGt(n int64) Condition { return e.Count(Cmp{Gt: count(n)}) }

// CountLte: at most n events.
func (e EventRef) CountLte(n int64) Condition { return e.Count(Cmp{Lte: count(n)}) }

// CountLt: fewer than n events.
func (e EventRef) CountLt(n int64) Condition { return e.Count(Cmp{Lt: count(n)}) }

// SumGte: the amounts total at least d yuan.
func (e EventRef) SumGte(d decimal.Decimal) Condition { return e.Sum(Cmp{Gte: amount(d)}) }

// SumGt: the amounts total more than d yuan.
func (e EventRef) SumGt(d decimal.Decimal) Condition { return e.Sum(Cmp{Gt: amount(d)}) }

// SumLte: the amounts total at most d yuan.
func (e EventRef) SumLte(d decimal.Decimal) Condition { return e.Sum(Cmp{Lte: amount(d)}) }

// SumLt: the amounts total less than d yuan.
func (e EventRef) SumLt(d decimal.Decimal) Condition { return e.Sum(Cmp{Lt: amount(d)}) }

// LastOlderThan: the latest event happened before now-d (a customer without
// such events does not match).
func (e EventRef) LastOlderThan(d time.Duration) Condition {
	e.c.Last = &LastCmp{OlderThan: Duration(d)}
	return e.c
}

// LastWithin: the latest event happened at or after now-d.
func (e EventRef) LastWithin(d time.Duration) Condition {
	e.c.Last = &LastCmp{Within: Duration(d)}
	return e.c
}
