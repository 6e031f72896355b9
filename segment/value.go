package segment

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// FeatureKind says what a value-score Feature measures and how it is
// normalised to [0, 1].
type FeatureKind string

// The feature kinds of a value score.
const (
	// FeatureRecency: 1 when the last event of Events[0] is now, falling
	// linearly to 0 at MaxAge old (and 0 without such an event).
	FeatureRecency FeatureKind = "recency"
	// FeatureFrequency: the number of Events[0] events in Window, divided
	// by Cap, at most 1.
	FeatureFrequency FeatureKind = "frequency"
	// FeatureMonetary: the amount of Events[0] events in Window, divided by
	// CapAmount, at most 1.
	FeatureMonetary FeatureKind = "monetary"
	// FeatureEvents: the number of events of all the Events types in
	// Window (engagement: page views, replies, group joins; referrals),
	// divided by Cap, at most 1.
	FeatureEvents FeatureKind = "events"
	// FeatureAttr: a numeric attribute divided by Cap, clamped to [0, 1]
	// (0 when missing or not a number).
	FeatureAttr FeatureKind = "attr"
)

// Feature is one weighted input of a value score. Which fields apply
// depends on Kind.
type Feature struct {
	Name string // shown in Explain; defaults to Kind
	Kind FeatureKind
	// Events: exactly one type for recency, frequency and monetary; one or
	// more for events.
	Events []string
	Attr   string        // attr: the attribute
	Window time.Duration // frequency, monetary, events: 0 means all time
	// Cap is the count (frequency, events) or attribute value (attr) at
	// which the feature saturates at 1.
	Cap float64
	// CapAmount is the amount in yuan at which monetary saturates at 1.
	CapAmount decimal.Decimal
	// MaxAge is the age at which recency reaches 0.
	MaxAge time.Duration
	// Weight is the feature's relative weight: the feature contributes at
	// most 100·Weight/(sum of weights) points. Zero leaves it out.
	Weight float64
}

// Band names a range of scores: a customer is in the first band (in the
// order given) whose Min the score reaches.
type Band struct {
	Name string
	Min  float64
}

// ValueModel describes a value score (私域价值分): weighted features and
// bands.
type ValueModel struct {
	Features []Feature
	// Bands, by Min strictly descending, each within [0, 100]. With none,
	// scores have no band. A score below every Min has no band either; end
	// with Min 0 to band everyone.
	Bands []Band
}

// DefaultValueModel returns a starting model, to adapt to the business:
//
//	recency     30  order.paid, 0 at 180 days
//	frequency   25  order.paid in 365 days, saturating at 12
//	monetary    25  order.paid in 365 days, saturating at ¥5000
//	engagement  10  page.viewed, message.replied, group.joined in 90 days, saturating at 30
//	referrals   10  referral.qualified events ever, saturating at 5
//
// with bands A ≥ 80, B ≥ 60, C ≥ 30, D.
func DefaultValueModel() ValueModel {
	return ValueModel{
		Features: []Feature{
			{Name: "recency", Kind: FeatureRecency, Events: []string{scrm.EventOrderPaid}, MaxAge: 180 * day, Weight: 30},
			{Name: "frequency", Kind: FeatureFrequency, Events: []string{scrm.EventOrderPaid}, Window: 365 * day, Cap: 12, Weight: 25},
			{Name: "monetary", Kind: FeatureMonetary, Events: []string{scrm.EventOrderPaid}, Window: 365 * day, CapAmount: decimal.NewFromInt(5000), Weight: 25},
			{Name: "engagement", Kind: FeatureEvents, Events: []string{scrm.EventPageViewed, scrm.EventMessageReplied, scrm.EventGroupJoined}, Window: 90 * day, Cap: 30, Weight: 10},
			{Name: "referrals", Kind: FeatureEvents, Events: []string{EventReferralQualified}, Cap: 5, Weight: 10},
		},
		Bands: []Band{{Name: "A", Min: 80}, {Name: "B", Min: 60}, {Name: "C", Min: 30}, {Name: "D", Min: 0}},
	}
}

// EventReferralQualified is the event type DefaultValueModel counts as a
// referral: an invitee of the customer qualified (the referral package's
// concern; a host may publish it under this name or change the model).
const EventReferralQualified = "referral.qualified"

// ValueScorer computes value scores. Build one with NewValueScorer; it is
// immutable and safe for concurrent use.
type ValueScorer struct {
	features []Feature
	share    []float64 // 100·Weight/sum, the points at normalised 1
	capFen   []int64
	bands    []Band
}

// NewValueScorer validates m and returns its scorer.
//
// Errors: ErrInvalid naming the field when there are no features
// ("Features"), the weights are all zero ("Features"), a weight is negative
// or not finite ("Features[1].Weight"), a feature misses what its kind needs
// ("Features[2].Events", ".Cap", ".CapAmount", ".MaxAge", ".Attr"), or the
// bands are unnamed, repeated, outside [0, 100] or not descending.
func NewValueScorer(m ValueModel) (*ValueScorer, error) {
	const op = "segment.NewValueScorer"
	if len(m.Features) == 0 {
		return nil, scrm.Invalid(op, "Features", "a value score needs at least one weighted feature")
	}
	v := &ValueScorer{features: make([]Feature, len(m.Features)), share: make([]float64, len(m.Features)), capFen: make([]int64, len(m.Features))}
	total := 0.0
	for i, f := range m.Features {
		field := "Features[" + strconv.Itoa(i) + "]"
		if math.IsNaN(f.Weight) || math.IsInf(f.Weight, 0) || f.Weight < 0 {
			return nil, scrm.Invalid(op, field+".Weight", "must be a finite number at least 0, got %v", f.Weight)
		}
		if err := f.check(op, field); err != nil {
			return nil, err
		}
		if f.Name == "" {
			f.Name = string(f.Kind)
		}
		f.Events = append([]string(nil), f.Events...)
		if f.Kind == FeatureMonetary {
			v.capFen[i], _ = scrm.ToFen(f.CapAmount)
		}
		v.features[i] = f
		total += f.Weight
	}
	if total == 0 {
		return nil, scrm.Invalid(op, "Features", "the weights are all zero; at least one feature must count")
	}
	for i, f := range v.features {
		v.share[i] = 100 * f.Weight / total
	}
	seen := make(map[string]bool, len(m.Bands))
	for i, b := range m.Bands {
		field := "Bands[" + strconv.Itoa(i) + "]"
		switch {
		case b.Name == "":
			return nil, scrm.Invalid(op, field+".Name", "required")
		case seen[b.Name]:
			return nil, scrm.Invalid(op, field+".Name", "band %q appears twice", b.Name)
		case math.IsNaN(b.Min) || b.Min < 0 || b.Min > 100:
			return nil, scrm.Invalid(op, field+".Min", "must be within [0, 100], got %v", b.Min)
		case i > 0 && b.Min >= m.Bands[i-1].Min:
			return nil, scrm.Invalid(op, field+".Min", "bands must descend strictly: %v after %v", b.Min, m.Bands[i-1].Min)
		}
		seen[b.Name] = true
	}
	v.bands = append([]Band(nil), m.Bands...)
	return v, nil
}

func (f Feature) check(op, field string) error {
	events := func(exactlyOne bool) error {
		if len(f.Events) == 0 || (exactlyOne && len(f.Events) != 1) {
			want := "at least one event type"
			if exactlyOne {
				want = "exactly one event type"
			}
			return scrm.Invalid(op, field+".Events", "%s needs %s, got %d", f.Kind, want, len(f.Events))
		}
		for j, e := range f.Events {
			if e == "" {
				return scrm.Invalid(op, field+".Events["+strconv.Itoa(j)+"]", "required")
			}
		}
		return nil
	}
	positiveCap := func() error {
		if math.IsNaN(f.Cap) || math.IsInf(f.Cap, 0) || f.Cap <= 0 {
			return scrm.Invalid(op, field+".Cap", "must be a positive number, got %v", f.Cap)
		}
		return nil
	}
	if f.Window < 0 {
		return scrm.Invalid(op, field+".Window", "must not be negative, got %s", f.Window)
	}
	switch f.Kind {
	case FeatureRecency:
		if err := events(true); err != nil {
			return err
		}
		if f.MaxAge <= 0 {
			return scrm.Invalid(op, field+".MaxAge", "must be positive, got %s", f.MaxAge)
		}
	case FeatureFrequency:
		if err := events(true); err != nil {
			return err
		}
		return positiveCap()
	case FeatureMonetary:
		if err := events(true); err != nil {
			return err
		}
		if fen, ok := scrm.ToFen(f.CapAmount); !ok || fen <= 0 {
			return scrm.Invalid(op, field+".CapAmount", "must be a positive amount in whole fen, got %s", f.CapAmount)
		}
	case FeatureEvents:
		if err := events(false); err != nil {
			return err
		}
		return positiveCap()
	case FeatureAttr:
		if f.Attr == "" {
			return scrm.Invalid(op, field+".Attr", "required")
		}
		return positiveCap()
	default:
		return scrm.Invalid(op, field+".Kind", "unknown feature kind %q; want recency, frequency, monetary, events or attr", f.Kind)
	}
	return nil
}

// ValueScore is a customer's value score.
type ValueScore struct {
	// Score is in [0, 100], rounded to 2 decimal places.
	Score float64
	// Band is the name of the first band whose Min Score reaches; "" when
	// none does.
	Band string
}

// Contribution is one feature's part of a value score.
type Contribution struct {
	Feature    string  // the feature's Name
	Observed   string  // what the profile showed: "3 events", "¥1280.00", "12 days ago", "missing"
	Normalized float64 // the feature's value in [0, 1]
	Weight     float64 // the feature's share of the total weight, in [0, 1]
	Points     float64 // 100·Weight·Normalized: what it adds to the score
}

// ValueExplanation is a value score with the contribution of each feature,
// in the model's order. The Points add up to Score up to its rounding.
type ValueExplanation struct {
	ValueScore
	Contributions []Contribution
}

// Score returns env's value score at instant now.
func (v *ValueScorer) Score(env rule.Env, now time.Time) ValueScore {
	total := 0.0
	for i := range v.features {
		n, _ := v.feature(i, env, now, false)
		total += v.share[i] * n
	}
	return v.banded(total)
}

// Explain returns env's value score at instant now with each feature's
// contribution.
func (v *ValueScorer) Explain(env rule.Env, now time.Time) ValueExplanation {
	out := ValueExplanation{Contributions: make([]Contribution, len(v.features))}
	total := 0.0
	for i, f := range v.features {
		n, observed := v.feature(i, env, now, true)
		pts := v.share[i] * n
		total += pts
		out.Contributions[i] = Contribution{Feature: f.Name, Observed: observed, Normalized: n, Weight: v.share[i] / 100, Points: pts}
	}
	out.ValueScore = v.banded(total)
	return out
}

func (v *ValueScorer) banded(total float64) ValueScore {
	s := ValueScore{Score: math.Round(min(max(total, 0), 100)*100) / 100}
	for _, b := range v.bands {
		if s.Score >= b.Min {
			s.Band = b.Name
			break
		}
	}
	return s
}

// feature returns feature i's normalised value and, when describe is set,
// what was observed.
func (v *ValueScorer) feature(i int, env rule.Env, now time.Time, describe bool) (float64, string) {
	if env == nil {
		return 0, "no profile"
	}
	f := &v.features[i]
	var since time.Time
	if f.Window > 0 {
		since = now.Add(-f.Window)
	}
	switch f.Kind {
	case FeatureRecency:
		last, ok := env.Last(f.Events[0])
		if !ok {
			return 0, "never"
		}
		age := max(now.Sub(last), 0)
		n := max(1-float64(age)/float64(f.MaxAge), 0)
		if !describe {
			return n, ""
		}
		return n, plural(int64(age/day), "day") + " ago"
	case FeatureFrequency, FeatureEvents:
		var count int64
		for _, e := range f.Events {
			count += env.Count(e, since)
		}
		n := min(float64(count)/f.Cap, 1)
		if !describe {
			return n, ""
		}
		return n, plural(count, "event")
	case FeatureMonetary:
		var fen int64
		ok := false
		if fs, yes := env.(rule.FenSummer); yes {
			fen, ok = fs.SumFen(f.Events[0], since)
		}
		if !ok {
			fen, _ = scrm.ToFen(scrm.RoundFen(env.Sum(f.Events[0], since)))
		}
		n := min(max(float64(fen)/float64(v.capFen[i]), 0), 1)
		if !describe {
			return n, ""
		}
		return n, "¥" + scrm.FromFen(fen).StringFixed(2)
	case FeatureAttr:
		raw, ok := env.Attr(f.Attr)
		x, isNum := number(raw)
		if !ok || !isNum {
			return 0, "missing"
		}
		n := min(max(x/f.Cap, 0), 1)
		if !describe {
			return n, ""
		}
		return n, strings.TrimSuffix(strconv.FormatFloat(x, 'f', 2, 64), ".00")
	}
	return 0, ""
}

// plural renders "1 event", "3 events".
func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// number converts a numeric attribute value to float64 for normalisation
// (a ratio, never money arithmetic).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	case decimal.Decimal:
		return x.InexactFloat64(), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}
