package scrm

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// TagMark records a tag on a customer: when it was (last) applied, by what
// source ("manual", "rule:r1", "keyword:k2", "import"), by whom (a staff ID
// for manual tags) and when it stops matching (zero = never).
type TagMark struct {
	At      time.Time
	Source  string
	By      string
	Expires time.Time
}

// Active reports whether the mark still matches at now: it has no expiry or
// its expiry is after now.
func (m TagMark) Active(now time.Time) bool {
	return m.Expires.IsZero() || now.Before(m.Expires)
}

// DefaultHorizon is how far back a profile keeps individual events for
// windowed counts and sums ("within 90d"): 400 days, a year plus a margin for
// year-over-year comparisons.
const DefaultHorizon = 400 * 24 * time.Hour

// DefaultMaxEntries bounds how many window entries a profile keeps per event
// type; see ProfileLimits.
const DefaultMaxEntries = 2048

// ProfileLimits bound the memory a profile uses for windowed aggregates.
type ProfileLimits struct {
	// Horizon is how long events are kept for windowed counts and sums,
	// measured back from the newest event of the same type; default
	// DefaultHorizon. A window reaching further back than the horizon counts
	// only what is kept; all-time counts and sums are always exact.
	Horizon time.Duration
	// MaxEntries bounds the entries kept per event type; default
	// DefaultMaxEntries. Past it, the older half of the entries is coalesced
	// per UTC day into one entry stamped with the day's latest event time,
	// so a window boundary that falls inside such a day counts all of that
	// day's events or none of them.
	MaxEntries int
}

func (l ProfileLimits) withDefaults() ProfileLimits {
	if l.Horizon <= 0 {
		l.Horizon = DefaultHorizon
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxEntries < 16 {
		l.MaxEntries = 16
	}
	return l
}

// Profile is the read model every rule is evaluated against: a customer's
// attributes, tags, segment memberships and per-event-type activity. It
// implements rule.Env (and its optional TagExpirer and FenSummer
// capabilities), so a compiled rule evaluates against it directly.
//
// A Profile is a value owned by whoever holds it: stores copy profiles in
// and out, and a Profile is not safe for concurrent mutation. Change stored
// profiles with UpdateProfile (or Profiles.Update), which retries on version
// conflicts.
type Profile struct {
	Tenant     TenantID
	Customer   CustomerID
	Version    int64      // the stored version this copy was read at; 0 = never stored
	MergedInto CustomerID // set when this customer was absorbed by a merge
	UpdatedAt  time.Time  // the time of the newest event folded in, or of the last save

	attrs    map[string]any
	tags     map[string]TagMark
	segments map[string]struct{}
	activity map[string]*activity
}

// NewProfile returns an empty profile.
func NewProfile(tenant TenantID, customer CustomerID) *Profile {
	return &Profile{Tenant: tenant, Customer: customer}
}

// Apply folds one event into the activity of its type with the default
// ProfileLimits. An EventAttrsSet event also sets the attributes in its
// "attrs" property. Deduplication by e.ID is not Apply's job; Profiles and
// UpdateProfile do it.
func (p *Profile) Apply(e Event) {
	p.ApplyWithLimits(e, ProfileLimits{})
}

// ApplyWithLimits is Apply with explicit limits.
func (p *Profile) ApplyWithLimits(e Event, limits ProfileLimits) {
	limits = limits.withDefaults()
	if e.Type == EventAttrsSet {
		if attrs, ok := e.Props["attrs"].(map[string]any); ok {
			for k, v := range attrs {
				p.SetAttr(k, v)
			}
		}
	}
	if p.activity == nil {
		p.activity = make(map[string]*activity)
	}
	a := p.activity[e.Type]
	if a == nil {
		a = &activity{}
		p.activity[e.Type] = a
	}
	fen, ok := ToFen(e.Amount)
	if !ok {
		fen, _ = ToFen(RoundFen(e.Amount))
	}
	a.add(e.Time, 1, fen, limits)
	if e.Time.After(p.UpdatedAt) {
		p.UpdatedAt = e.Time
	}
}

// Count returns how many events of the type happened at or after since; a
// zero since means all time. See ProfileLimits for windows reaching past the
// horizon.
func (p *Profile) Count(eventType string, since time.Time) int64 {
	a := p.activity[eventType]
	if a == nil {
		return 0
	}
	n, _ := a.window(since)
	return n
}

// Sum returns the total Amount of the type's events at or after since; a zero
// since means all time.
func (p *Profile) Sum(eventType string, since time.Time) decimal.Decimal {
	fen, _ := p.SumFen(eventType, since)
	return FromFen(fen)
}

// SumFen is Sum in fen, without allocating (rule.FenSummer). ok is always
// true: profiles keep amounts in whole fen.
func (p *Profile) SumFen(eventType string, since time.Time) (fen int64, ok bool) {
	a := p.activity[eventType]
	if a == nil {
		return 0, true
	}
	_, fen = a.window(since)
	return fen, true
}

// First returns the time of the earliest event of the type.
func (p *Profile) First(eventType string) (time.Time, bool) {
	a := p.activity[eventType]
	if a == nil {
		return time.Time{}, false
	}
	return a.first, true
}

// Last returns the time of the latest event of the type.
func (p *Profile) Last(eventType string) (time.Time, bool) {
	a := p.activity[eventType]
	if a == nil {
		return time.Time{}, false
	}
	return a.last, true
}

// EventTypes returns the event types the profile has seen, sorted.
func (p *Profile) EventTypes() []string {
	return sortedKeys(p.activity)
}

// SetAttr sets an attribute. Values are normalized to a small set of types so
// that they survive a store round trip and compare predictably: string,
// bool, int64 (all integer kinds that fit), float64 (float32), decimal.Decimal,
// time.Time, []string ([]any of strings too), and json.Number (kept as is).
// Any other value is stored as its fmt.Sprint string. A nil value deletes
// the attribute.
func (p *Profile) SetAttr(name string, v any) {
	if v == nil {
		delete(p.attrs, name)
		return
	}
	if p.attrs == nil {
		p.attrs = make(map[string]any)
	}
	p.attrs[name] = normalizeAttr(v)
}

func normalizeAttr(v any) any {
	switch x := v.(type) {
	case string, bool, int64, float64, decimal.Decimal, time.Time, json.Number:
		return x
	case *decimal.Decimal:
		if x == nil {
			return nil
		}
		return *x
	case float32:
		return float64(x)
	case []string:
		return append([]string(nil), x...)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Sprint(x)
			}
			out = append(out, s)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u)
		}
		return decimal.NewFromUint64(rv.Uint())
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	}
	return fmt.Sprint(v)
}

// Attr returns an attribute.
func (p *Profile) Attr(name string) (any, bool) {
	v, ok := p.attrs[name]
	return v, ok
}

// Attrs returns a copy of all attributes.
func (p *Profile) Attrs() map[string]any {
	out := make(map[string]any, len(p.attrs))
	for k, v := range p.attrs {
		out[k] = copyAttr(v)
	}
	return out
}

func copyAttr(v any) any {
	if l, ok := v.([]string); ok {
		return append([]string(nil), l...)
	}
	return v
}

// SetTag puts a tag on the profile, replacing any earlier mark of it.
func (p *Profile) SetTag(tag string, m TagMark) {
	if p.tags == nil {
		p.tags = make(map[string]TagMark)
	}
	p.tags[tag] = m
}

// RemoveTag takes a tag off the profile.
func (p *Profile) RemoveTag(tag string) {
	delete(p.tags, tag)
}

// Tag returns when the tag was applied. An expired tag is still returned;
// TagExpiry tells when it stopped matching, and compiled rules honour it.
func (p *Profile) Tag(tag string) (time.Time, bool) {
	m, ok := p.tags[tag]
	return m.At, ok
}

// TagExpiry returns when the tag stops matching, if it expires at all
// (rule.TagExpirer).
func (p *Profile) TagExpiry(tag string) (time.Time, bool) {
	m, ok := p.tags[tag]
	if !ok || m.Expires.IsZero() {
		return time.Time{}, false
	}
	return m.Expires, true
}

// TagMark returns the full mark of a tag.
func (p *Profile) TagMark(tag string) (TagMark, bool) {
	m, ok := p.tags[tag]
	return m, ok
}

// Tags returns a copy of every tag mark, expired ones included.
func (p *Profile) Tags() map[string]TagMark {
	out := make(map[string]TagMark, len(p.tags))
	for k, v := range p.tags {
		out[k] = v
	}
	return out
}

// SetSegment records whether the customer is in a segment.
func (p *Profile) SetSegment(segment string, in bool) {
	if !in {
		delete(p.segments, segment)
		return
	}
	if p.segments == nil {
		p.segments = make(map[string]struct{})
	}
	p.segments[segment] = struct{}{}
}

// InSegment reports whether the customer is in a segment.
func (p *Profile) InSegment(segment string) bool {
	_, ok := p.segments[segment]
	return ok
}

// Segments returns the segments the customer is in, sorted.
func (p *Profile) Segments() []string {
	return sortedKeys(p.segments)
}

// Clone returns a deep copy.
func (p *Profile) Clone() *Profile {
	if p == nil {
		return nil
	}
	c := *p
	c.attrs = nil
	for k, v := range p.attrs {
		if c.attrs == nil {
			c.attrs = make(map[string]any, len(p.attrs))
		}
		c.attrs[k] = copyAttr(v)
	}
	c.tags = nil
	if len(p.tags) > 0 {
		c.tags = make(map[string]TagMark, len(p.tags))
		for k, v := range p.tags {
			c.tags[k] = v
		}
	}
	c.segments = nil
	if len(p.segments) > 0 {
		c.segments = make(map[string]struct{}, len(p.segments))
		for k := range p.segments {
			c.segments[k] = struct{}{}
		}
	}
	c.activity = nil
	if len(p.activity) > 0 {
		c.activity = make(map[string]*activity, len(p.activity))
		for k, a := range p.activity {
			c.activity[k] = a.clone()
		}
	}
	return &c
}

// Absorb folds other, a profile of a customer merged into this one, into p:
// attributes p lacks are taken from other, tags are united (the later At
// wins), segment memberships are united (segment refreshes correct them),
// and activity is added up event type by event type.
func (p *Profile) Absorb(other *Profile) {
	if other == nil {
		return
	}
	for k, v := range other.attrs {
		if _, ok := p.attrs[k]; !ok {
			p.SetAttr(k, copyAttr(v))
		}
	}
	for k, m := range other.tags {
		if cur, ok := p.tags[k]; !ok || m.At.After(cur.At) {
			p.SetTag(k, m)
		}
	}
	for k := range other.segments {
		p.SetSegment(k, true)
	}
	for typ, oa := range other.activity {
		if p.activity == nil {
			p.activity = make(map[string]*activity)
		}
		if a := p.activity[typ]; a != nil {
			a.absorb(oa)
		} else {
			p.activity[typ] = oa.clone()
		}
	}
	if other.UpdatedAt.After(p.UpdatedAt) {
		p.UpdatedAt = other.UpdatedAt
	}
}

// String describes the profile for logs without PII: customer, version and
// the sizes of its parts.
func (p *Profile) String() string {
	return fmt.Sprintf("profile %s/%s v%d: %d attrs, %d tags, %d segments, %d event types",
		p.Tenant, p.Customer, p.Version, len(p.attrs), len(p.tags), len(p.segments), len(p.activity))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
