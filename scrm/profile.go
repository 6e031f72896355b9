package scrm

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
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
	// only what is kept; all-time counts and sums are always exact. Up to
	// two newest kept events of the type, each more than a horizon after
	// the one before it (a date mistyped years ahead), do not count as the
	// newest for this: the horizon is measured from the newest of the last
	// three kept events that is at most a horizon after the one before it,
	// else from the third newest (and with fewer than three kept events,
	// none within a horizon of the other, nothing is pruned). So such an
	// outlier, whether it is the customer's first event of the type or
	// came after others, neither prunes the customer's history nor pushes
	// real events out of every window, while events that are all further
	// apart than the horizon (a daily check-in with a one-hour horizon)
	// leave only the last few kept.
	Horizon time.Duration
	// MaxEntries bounds the entries kept per event type; default
	// DefaultMaxEntries (at least 16). Past it, the older half of the
	// entries is coalesced per UTC day into one entry stamped with the day's
	// latest event time, so a window boundary that falls inside such a day
	// counts all of that day's events or none of them; when the events are
	// on so many different days that this leaves more than three quarters
	// of MaxEntries, adjacent older entries are merged further, each stamped
	// with the later one's time, so no more than MaxEntries are kept.
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
//
// Internally each part is a slice sorted by name rather than a map: a
// customer has tens of attributes and tags, where a binary search is as
// fast as hashing, and a million profiles take far less memory and copy in
// one allocation per part.
type Profile struct {
	Tenant     TenantID
	Customer   CustomerID
	Version    int64      // the stored version this copy was read at; 0 = never stored
	MergedInto CustomerID // set when this customer was absorbed by a merge
	UpdatedAt  time.Time  // the time of the newest event folded in, or of the last save

	attrs    []attrKV   // sorted by name
	tags     []tagKV    // sorted by name
	segments []string   // sorted
	activity []activity // sorted by typ
}

type attrKV struct {
	name string
	v    any // nil: deleted by the customer.attrs_set event at at
	// at is the time, in unix nanoseconds, of the customer.attrs_set event
	// that set v; math.MinInt64 when it was set directly (SetAttr).
	at int64
}

// tagKV is a TagMark stored compactly: instants as unix nanoseconds.
type tagKV struct {
	name       string
	at, exp    int64
	source, by string
}

func newTagKV(name string, m TagMark) tagKV {
	return tagKV{name: name, at: nanos(m.At), exp: nanos(m.Expires), source: m.Source, by: m.By}
}

func (t *tagKV) mark() TagMark {
	return TagMark{At: fromNanos(t.at), Expires: fromNanos(t.exp), Source: t.source, By: t.by}
}

// search returns where key is or would be in s, sorted by key(&s[i]). Rule
// evaluation reads profiles on its hot path, where the indirect keyOf call
// costs more than the search itself, so the readers there use the
// specialized find* functions below instead.
func search[T any](s []T, key string, keyOf func(*T) string) (int, bool) {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keyOf(&s[m]) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s) && keyOf(&s[lo]) == key
}

func findAttr(s []attrKV, key string) int {
	lo, hi := 0, len(s)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); s[m].name < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s) && s[lo].name == key {
		return lo
	}
	return -1
}

func findTag(s []tagKV, key string) int {
	lo, hi := 0, len(s)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); s[m].name < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s) && s[lo].name == key {
		return lo
	}
	return -1
}

func findAct(s []activity, key string) int {
	lo, hi := 0, len(s)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); s[m].typ < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s) && s[lo].typ == key {
		return lo
	}
	return -1
}

func attrName(a *attrKV) string  { return a.name }
func tagName(t *tagKV) string    { return t.name }
func segName(s *string) string   { return *s }
func actType(a *activity) string { return a.typ }

// upsert puts v at key in a sorted slice, returning the slice.
func upsert[T any](s []T, key string, keyOf func(*T) string, v T) []T {
	i, ok := search(s, key, keyOf)
	if ok {
		s[i] = v
		return s
	}
	return slices.Insert(s, i, v)
}

// remove deletes key from a sorted slice, returning the slice.
func remove[T any](s []T, key string, keyOf func(*T) string) []T {
	if i, ok := search(s, key, keyOf); ok {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// NewProfile returns an empty profile.
func NewProfile(tenant TenantID, customer CustomerID) *Profile {
	return &Profile{Tenant: tenant, Customer: customer}
}

// Apply folds one event into the activity of its type with the default
// ProfileLimits. An EventAttrsSet event also sets the attributes in its
// "attrs" property, each unless the attribute was last set by an
// EventAttrsSet event with a later Time: events delivered out of order
// leave each attribute with the value of the latest event, whatever the
// delivery order (of two events with the same Time, the one applied last
// wins). A deletion (a nil value) counts as setting the attribute: the
// profile remembers the deletion's time, so an older event delivered after
// it does not bring the attribute back. Deduplication by e.ID is not
// Apply's job; Profiles and UpdateProfile do it.
func (p *Profile) Apply(e Event) {
	p.ApplyWithLimits(e, ProfileLimits{})
}

// ApplyWithLimits is Apply with explicit limits.
func (p *Profile) ApplyWithLimits(e Event, limits ProfileLimits) {
	limits = limits.withDefaults()
	if e.Type == EventAttrsSet {
		if attrs, ok := e.Props["attrs"].(map[string]any); ok {
			at := nanos(e.Time)
			for k, v := range attrs {
				if i := findAttr(p.attrs, k); i >= 0 && p.attrs[i].at > at {
					continue // set by a later event, delivered earlier
				}
				p.setAttr(k, v, at)
			}
		}
	}
	i, ok := search(p.activity, e.Type, actType)
	if !ok {
		p.activity = slices.Insert(p.activity, i, activity{typ: e.Type})
	}
	fen, ok := ToFen(e.Amount)
	if !ok {
		fen, _ = ToFen(RoundFen(e.Amount))
	}
	p.activity[i].add(e.Time, 1, fen, limits)
	if e.Time.After(p.UpdatedAt) {
		p.UpdatedAt = e.Time
	}
}

func (p *Profile) act(eventType string) *activity {
	if i := findAct(p.activity, eventType); i >= 0 {
		return &p.activity[i]
	}
	return nil
}

// Count returns how many events of the type happened at or after since; a
// zero since means all time. See ProfileLimits for windows reaching past the
// horizon.
func (p *Profile) Count(eventType string, since time.Time) int64 {
	a := p.act(eventType)
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
	a := p.act(eventType)
	if a == nil {
		return 0, true
	}
	_, fen = a.window(since)
	return fen, true
}

// First returns the time of the earliest event of the type, in UTC.
func (p *Profile) First(eventType string) (time.Time, bool) {
	a := p.act(eventType)
	if a == nil {
		return time.Time{}, false
	}
	return fromNanos(a.first), true
}

// Last returns the time of the latest event of the type, in UTC.
func (p *Profile) Last(eventType string) (time.Time, bool) {
	a := p.act(eventType)
	if a == nil {
		return time.Time{}, false
	}
	return fromNanos(a.last), true
}

// EventTypes returns the event types the profile has seen, sorted.
func (p *Profile) EventTypes() []string {
	out := make([]string, len(p.activity))
	for i := range p.activity {
		out[i] = p.activity[i].typ
	}
	return out
}

// SetAttr sets an attribute. Values are normalized to a small set of types so
// that they survive a store round trip and compare predictably: string,
// bool, int64 (all integer kinds that fit; an unsigned value above
// math.MaxInt64 becomes a decimal.Decimal), float64 (float32),
// decimal.Decimal, time.Time, []string ([]any of strings too), and
// json.Number (kept as is when it is a valid JSON number, else stored as
// its string, so the profile can always be JSON-encoded). Values of named types are normalized by their
// kind, as package rule compares them: a type Level int becomes an int64,
// a type Score float64 a float64, a type Tier string a string, and a list
// of a string kind (type Tags []string, []Tier) a []string. A non-nil
// pointer (a *string, *int, *time.Time from a host struct) stores the
// value it points to, normalized the same way. Any other value is stored
// as its fmt.Sprint string. A nil value deletes the attribute, and so does
// a nil pointer (a nil *decimal.Decimal, say): it holds no value, so no
// attribute ever holds nil. A NaN or infinite float (of any float kind)
// deletes the attribute too: it compares with nothing and JSON cannot
// encode it.
//
// An attribute set (or deleted) with SetAttr carries no event time, so the
// next customer.attrs_set event applied sets it whatever its Time (see
// Apply).
func (p *Profile) SetAttr(name string, v any) {
	p.setAttr(name, v, math.MinInt64)
}

// setAttr is SetAttr recording at, the unix nanoseconds of the event that
// sets the attribute (math.MinInt64 for none).
func (p *Profile) setAttr(name string, v any, at int64) {
	n := normalizeAttr(v)
	if n == nil && at == math.MinInt64 {
		p.attrs = remove(p.attrs, name, attrName)
		return
	}
	// A deletion by an event keeps its time, with a nil value.
	p.attrs = upsert(p.attrs, name, attrName, attrKV{name: name, v: n, at: at})
}

// normalizeAttr returns v as SetAttr stores it; nil for nil, for a nil
// pointer and for a NaN or infinite float.
func normalizeAttr(v any) any {
	return normalizeAttrDepth(v, 0)
}

// maxAttrPointers bounds the pointers normalizeAttr follows, so that a
// pointer type that points to itself ends as a string.
const maxAttrPointers = 4

func normalizeAttrDepth(v any, depth int) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string, bool, int64, decimal.Decimal, time.Time:
		return x
	case json.Number:
		if !validJSONNumber(string(x)) {
			return string(x)
		}
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case *decimal.Decimal:
		if x == nil {
			return nil
		}
		return *x
	case float32:
		if f := float64(x); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
		return nil
	case []string:
		return append([]string(nil), x...)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				if s, ok = stringKind(reflect.ValueOf(e)); !ok {
					return fmt.Sprint(x)
				}
			}
			out = append(out, s)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if s, ok := stringKind(rv); ok {
		return s
	}
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		if depth < maxAttrPointers {
			return normalizeAttrDepth(rv.Elem().Interface(), depth+1)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u)
		}
		return decimal.NewFromUint64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		if f := rv.Float(); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
		return nil
	case reflect.Bool:
		return rv.Bool()
	case reflect.Slice, reflect.Array:
		if isStringKind(rv.Type().Elem()) {
			out := make([]string, rv.Len())
			for i := range out {
				out[i] = rv.Index(i).String()
			}
			return out
		}
	}
	return fmt.Sprint(v)
}

// stringKind reads a value of a string kind (type Tier string) other than
// json.Number, which holds a number.
func stringKind(rv reflect.Value) (string, bool) {
	if !rv.IsValid() || !isStringKind(rv.Type()) {
		return "", false
	}
	return rv.String(), true
}

func isStringKind(t reflect.Type) bool {
	return t.Kind() == reflect.String && t != reflect.TypeFor[json.Number]()
}

// Attr returns an attribute.
func (p *Profile) Attr(name string) (any, bool) {
	if i := findAttr(p.attrs, name); i >= 0 && p.attrs[i].v != nil {
		return p.attrs[i].v, true
	}
	return nil, false
}

// Attrs returns a copy of all attributes.
func (p *Profile) Attrs() map[string]any {
	out := make(map[string]any, len(p.attrs))
	for _, a := range p.attrs {
		if a.v != nil {
			out[a.name] = copyAttr(a.v)
		}
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
	p.tags = upsert(p.tags, tag, tagName, newTagKV(tag, m))
}

// RemoveTag takes a tag off the profile.
func (p *Profile) RemoveTag(tag string) {
	p.tags = remove(p.tags, tag, tagName)
}

// Tag returns when the tag was applied. An expired tag is still returned;
// TagExpiry tells when it stopped matching, and compiled rules honour it.
func (p *Profile) Tag(tag string) (time.Time, bool) {
	if i := findTag(p.tags, tag); i >= 0 {
		return fromNanos(p.tags[i].at), true
	}
	return time.Time{}, false
}

// TagExpiry returns when the tag stops matching, if it expires at all
// (rule.TagExpirer).
func (p *Profile) TagExpiry(tag string) (time.Time, bool) {
	if i := findTag(p.tags, tag); i >= 0 && p.tags[i].exp != math.MinInt64 {
		return fromNanos(p.tags[i].exp), true
	}
	return time.Time{}, false
}

// TagMark returns the full mark of a tag. Its times are in UTC: profiles
// keep instants, not time zones.
func (p *Profile) TagMark(tag string) (TagMark, bool) {
	if i, ok := search(p.tags, tag, tagName); ok {
		return p.tags[i].mark(), true
	}
	return TagMark{}, false
}

// Tags returns a copy of every tag mark, expired ones included.
func (p *Profile) Tags() map[string]TagMark {
	out := make(map[string]TagMark, len(p.tags))
	for i := range p.tags {
		out[p.tags[i].name] = p.tags[i].mark()
	}
	return out
}

// SetSegment records whether the customer is in a segment.
func (p *Profile) SetSegment(segment string, in bool) {
	if !in {
		p.segments = remove(p.segments, segment, segName)
		return
	}
	p.segments = upsert(p.segments, segment, segName, segment)
}

// InSegment reports whether the customer is in a segment.
func (p *Profile) InSegment(segment string) bool {
	_, ok := slices.BinarySearch(p.segments, segment)
	return ok
}

// Segments returns the segments the customer is in, sorted.
func (p *Profile) Segments() []string {
	return slices.Clone(p.segments)
}

// Clone returns a deep copy.
func (p *Profile) Clone() *Profile {
	if p == nil {
		return nil
	}
	c := *p
	c.attrs = slices.Clone(p.attrs)
	for i := range c.attrs {
		c.attrs[i].v = copyAttr(c.attrs[i].v)
	}
	c.tags = slices.Clone(p.tags)
	c.segments = slices.Clone(p.segments)
	c.activity = slices.Clone(p.activity)
	for i := range c.activity {
		c.activity[i].share()
	}
	return &c
}

// Absorb folds other, a profile of a customer merged into this one, into p:
// attributes p lacks are taken from other (with the time of the event that
// set them; of two deletions by events, the later one's time is kept),
// tags are united (the later At wins), segment memberships are united (segment refreshes correct them),
// and activity is added up event type by event type.
func (p *Profile) Absorb(other *Profile) {
	if other == nil {
		return
	}
	for _, a := range other.attrs {
		i := findAttr(p.attrs, a.name)
		if i < 0 || (p.attrs[i].v == nil && (a.v != nil || a.at > p.attrs[i].at)) {
			a.v = copyAttr(a.v)
			p.attrs = upsert(p.attrs, a.name, attrName, a)
		}
	}
	for _, t := range other.tags {
		if i, ok := search(p.tags, t.name, tagName); !ok || t.at > p.tags[i].at {
			p.tags = upsert(p.tags, t.name, tagName, t)
		}
	}
	for _, s := range other.segments {
		p.SetSegment(s, true)
	}
	for i := range other.activity {
		oa := &other.activity[i]
		if a := p.act(oa.typ); a != nil {
			a.absorb(oa)
			continue
		}
		c := *oa
		c.share()
		j, _ := search(p.activity, c.typ, actType)
		p.activity = slices.Insert(p.activity, j, c)
	}
	if other.UpdatedAt.After(p.UpdatedAt) {
		p.UpdatedAt = other.UpdatedAt
	}
}

// String describes the profile for logs without PII: customer, version and
// the sizes of its parts.
func (p *Profile) String() string {
	attrs := 0
	for _, a := range p.attrs {
		if a.v != nil {
			attrs++
		}
	}
	return fmt.Sprintf("profile %s/%s v%d: %d attrs, %d tags, %d segments, %d event types",
		p.Tenant, p.Customer, p.Version, attrs, len(p.tags), len(p.segments), len(p.activity))
}
