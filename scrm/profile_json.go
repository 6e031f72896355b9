package scrm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// profileJSON is the stored form of a Profile. Attribute values carry their
// type ({"s": "上海"}, {"i": 3}, {"d": "12.30"}, {"t": "2026-01-02T…"}), so
// a store that keeps profiles as JSON gives back exactly what was set.
type profileJSON struct {
	Tenant     TenantID                `json:"tenant"`
	Customer   CustomerID              `json:"customer"`
	Version    int64                   `json:"version"`
	MergedInto CustomerID              `json:"merged_into,omitempty"`
	UpdatedAt  time.Time               `json:"updated_at"`
	Attrs      map[string]attrJSON     `json:"attrs,omitempty"`
	Tags       map[string]tagJSON      `json:"tags,omitempty"`
	Segments   []string                `json:"segments,omitempty"`
	Activity   map[string]activityJSON `json:"activity,omitempty"`
}

type attrJSON struct {
	S *string      `json:"s,omitempty"`
	B *bool        `json:"b,omitempty"`
	I *int64       `json:"i,omitempty"`
	F *float64     `json:"f,omitempty"`
	D *string      `json:"d,omitempty"` // decimal, trailing zeros kept
	T *time.Time   `json:"t,omitempty"`
	L []string     `json:"l,omitempty"`
	N *json.Number `json:"n,omitempty"`
	// E marks an empty list, which L's omitempty cannot tell from absent.
	E bool `json:"e,omitempty"`
	// At is the time of the customer.attrs_set event that set the value;
	// absent when it was set directly. At alone, without a value, records
	// that event deleting the attribute.
	At *time.Time `json:"at,omitempty"`
}

type tagJSON struct {
	At      time.Time  `json:"at"`
	Source  string     `json:"source,omitempty"`
	By      string     `json:"by,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

type activityJSON struct {
	Count   int64      `json:"count"`
	SumFen  int64      `json:"sum_fen"`
	First   time.Time  `json:"first"`
	Last    time.Time  `json:"last"`
	Entries [][3]int64 `json:"entries,omitempty"` // [unix nanoseconds, count, fen]
}

// MarshalJSON encodes the whole profile, attribute types included, for
// stores that keep profiles as documents.
func (p *Profile) MarshalJSON() ([]byte, error) {
	out := profileJSON{
		Tenant: p.Tenant, Customer: p.Customer, Version: p.Version,
		MergedInto: p.MergedInto, UpdatedAt: p.UpdatedAt,
		Segments: p.Segments(),
	}
	if len(p.attrs) > 0 {
		out.Attrs = make(map[string]attrJSON, len(p.attrs))
		for _, kv := range p.attrs {
			k, v := kv.name, kv.v
			var a attrJSON
			switch x := v.(type) {
			case string:
				a.S = &x
			case bool:
				a.B = &x
			case int64:
				a.I = &x
			case float64:
				a.F = &x
			case decimal.Decimal:
				d := x.String()
				if x.Exponent() < 0 {
					d = x.StringFixed(-x.Exponent())
				}
				a.D = &d
			case time.Time:
				a.T = &x
			case []string:
				a.L, a.E = x, len(x) == 0
			case json.Number:
				a.N = &x
			case nil: // deleted by the event at kv.at
			default:
				return nil, fmt.Errorf("scrm: profile attribute %q has unsupported type %T", k, v)
			}
			if kv.at != math.MinInt64 {
				at := fromNanos(kv.at)
				a.At = &at
			}
			out.Attrs[k] = a
		}
	}
	if len(p.tags) > 0 {
		out.Tags = make(map[string]tagJSON, len(p.tags))
		for i := range p.tags {
			k, m := p.tags[i].name, p.tags[i].mark()
			t := tagJSON{At: m.At, Source: m.Source, By: m.By}
			if !m.Expires.IsZero() {
				exp := m.Expires
				t.Expires = &exp
			}
			out.Tags[k] = t
		}
	}
	if len(p.activity) > 0 {
		out.Activity = make(map[string]activityJSON, len(p.activity))
		for i := range p.activity {
			a := &p.activity[i]
			k := a.typ
			aj := activityJSON{Count: a.count, SumFen: a.sumFen, First: fromNanos(a.first), Last: fromNanos(a.last)}
			aj.Entries = make([][3]int64, 0, a.n)
			for _, c := range a.chunks {
				for _, e := range c {
					aj.Entries = append(aj.Entries, [3]int64{e.t, e.n, e.fen})
				}
			}
			out.Activity[k] = aj
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes what MarshalJSON encoded. Errors match ErrInvalid.
func (p *Profile) UnmarshalJSON(data []byte) error {
	const op = "scrm.Profile"
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var in profileJSON
	if err := dec.Decode(&in); err != nil {
		return &Error{Code: ErrInvalid, Op: op, Msg: "decode JSON", Err: err}
	}
	np := Profile{Tenant: in.Tenant, Customer: in.Customer, Version: in.Version, MergedInto: in.MergedInto, UpdatedAt: in.UpdatedAt}
	for k, a := range in.Attrs {
		var v any
		switch {
		case a.S != nil:
			v = *a.S
		case a.B != nil:
			v = *a.B
		case a.I != nil:
			v = *a.I
		case a.F != nil:
			v = *a.F
		case a.D != nil:
			d, err := decimal.NewFromString(*a.D)
			if err != nil {
				return Invalid(op, "attrs."+k, "bad decimal %q", *a.D)
			}
			v = d
		case a.T != nil:
			v = *a.T
		case a.L != nil || a.E:
			v = append([]string{}, a.L...)
		case a.N != nil:
			v = *a.N
		case a.At != nil:
			// No value: the attribute was deleted by the event at At.
		default:
			return Invalid(op, "attrs."+k, "no typed value")
		}
		at := int64(math.MinInt64)
		if a.At != nil {
			at = nanos(*a.At)
		}
		np.setAttr(k, v, at)
	}
	for k, t := range in.Tags {
		m := TagMark{At: t.At, Source: t.Source, By: t.By}
		if t.Expires != nil {
			m.Expires = *t.Expires
		}
		np.SetTag(k, m)
	}
	for _, s := range in.Segments {
		np.SetSegment(s, true)
	}
	for k, aj := range in.Activity {
		a := activity{typ: k, count: aj.Count, sumFen: aj.SumFen, first: nanos(aj.First), last: nanos(aj.Last)}
		es := make([]entry, len(aj.Entries))
		for i, e := range aj.Entries {
			if i > 0 && e[0] < aj.Entries[i-1][0] {
				return Invalid(op, fmt.Sprintf("activity.%s.entries[%d]", k, i), "entries out of order")
			}
			es[i] = entry{t: e[0], n: e[1], fen: e[2]}
		}
		a.setFlat(es)
		np.activity = append(np.activity, a)
	}
	slices.SortFunc(np.activity, func(a, b activity) int { return strings.Compare(a.typ, b.typ) })
	*p = np
	return nil
}
