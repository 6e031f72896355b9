package rule

import (
	"bytes"
	"encoding/json"
)

// Condition is one node of the condition language: plain data that
// round-trips through JSON and can be built in Go (see All, Any, Not, Attr,
// Event, HasTag, InSegment). Exactly one node kind is set:
//
//   - All / Any: every / at least one child holds; must not be empty.
//   - Not: the child does not hold.
//   - Attr + Op (+ Value): an attribute comparison; see the package doc for
//     the operators.
//   - Event (+ Within) + Count / Sum / Last: activity of one event type;
//     with none of Count, Sum and Last it means count >= 1.
//   - Tag (+ AppliedWithin): the customer has the tag (and it was applied
//     within the duration).
//   - Segment: the customer is in the segment.
//
// A Condition is validated by Compile, which names the path of the first
// problem (for example all[2].sum.gte). The zero Condition is empty and does
// not compile.
type Condition struct {
	// Lists use omitzero so that an empty (non-nil) list survives a round
	// trip; pointers use omitempty because omitzero would call IsZero and
	// drop {"not": {}}.
	All []Condition `json:"all,omitzero"`
	Any []Condition `json:"any,omitzero"`
	Not *Condition  `json:"not,omitempty"`

	// Attr names an attribute; Op is one of the operators listed in the
	// package doc; Value is the operand: a string, bool, number (any Go
	// integer or float kind, json.Number, decimal.Decimal), time.Time,
	// Duration or time.Duration, or a list ([]any, []string, or any other
	// slice) of those, as the operator requires. MarshalJSON writes
	// decimals as JSON numbers and durations in their text form, so that
	// every one of these decodes to an operand of the same meaning.
	Attr  string `json:"attr,omitzero"`
	Op    string `json:"op,omitzero"`
	Value any    `json:"value,omitzero"`

	// Event names an event type. Within limits Count and Sum to events at
	// or after now-Within; zero means all time. Last tests the most recent
	// event of the type and ignores Within (use Last.Within instead).
	// When several of Count, Sum and Last are set, all must hold.
	Event  string   `json:"event,omitzero"`
	Within Duration `json:"within,omitzero"`
	Count  *Cmp     `json:"count,omitempty"`
	Sum    *Cmp     `json:"sum,omitempty"`
	Last   *LastCmp `json:"last,omitempty"`

	// Tag names a tag. AppliedWithin, when set, also requires that the tag
	// was applied at or after now-AppliedWithin.
	Tag           string   `json:"tag,omitzero"`
	AppliedWithin Duration `json:"appliedWithin,omitzero"`

	// Segment names a segment.
	Segment string `json:"segment,omitzero"`
}

// IsZero reports whether c is the empty Condition.
func (c Condition) IsZero() bool {
	return c.All == nil && c.Any == nil && c.Not == nil &&
		c.Attr == "" && c.Op == "" && c.Value == nil &&
		c.Event == "" && c.Within == 0 && c.Count == nil && c.Sum == nil && c.Last == nil &&
		c.Tag == "" && c.AppliedWithin == 0 && c.Segment == ""
}

// String returns c as compact JSON, the form an operator UI saves. A
// Condition that cannot be encoded (a Value of an unsupported type, a
// negative Duration) is described as such.
func (c Condition) String() string {
	b, err := c.MarshalJSON()
	if err != nil {
		return "<unencodable condition: " + err.Error() + ">"
	}
	// Escape as json.Marshal would, without its second MarshalJSON wrapper
	// around errors.
	var buf bytes.Buffer
	json.HTMLEscape(&buf, b)
	return buf.String()
}

// Cmp is a numeric comparison of an event count or sum: every bound that is
// set must hold, so {"gte": 2, "lt": 5} means 2 <= x < 5. At least one bound
// must be set.
//
// Bounds are kept as text so that money is never rounded through float64:
// in JSON they may be numbers (500.00) or strings ("500.00"). Count bounds
// must be non-negative integers; sum bounds are decimals in yuan.
type Cmp struct {
	Eq  json.Number `json:"eq,omitzero"`  // x == Eq
	Ne  json.Number `json:"ne,omitzero"`  // x != Ne
	Gt  json.Number `json:"gt,omitzero"`  // x > Gt
	Gte json.Number `json:"gte,omitzero"` // x >= Gte
	Lt  json.Number `json:"lt,omitzero"`  // x < Lt
	Lte json.Number `json:"lte,omitzero"` // x <= Lte
}

// IsZero reports whether no bound is set.
func (c Cmp) IsZero() bool { return c == Cmp{} }

// LastCmp tests the time of the most recent event of a type. Both bounds
// may be set; both must hold. A customer with no such event matches
// neither: wrap the node in not, or add an any branch, to include them.
type LastCmp struct {
	// OlderThan: the last event happened before now-OlderThan.
	OlderThan Duration `json:"olderThan,omitzero"`
	// Within: the last event happened at or after now-Within.
	Within Duration `json:"within,omitzero"`
}
