package segment

import (
	"context"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// RFMClass is one of the eight classic RFM customer classes, from whether a
// customer's R, F and M scores are above the population's average. Its value
// is the Chinese name operators know; English gives the English one.
type RFMClass string

// The eight RFM classes. "High" means strictly above the average score of
// the scored population; a score equal to the average is low.
const (
	ImportantValue   RFMClass = "重要价值" // R high, F high, M high
	ImportantDevelop RFMClass = "重要发展" // R high, F low,  M high
	ImportantKeep    RFMClass = "重要保持" // R low,  F high, M high
	ImportantRetain  RFMClass = "重要挽留" // R low,  F low,  M high
	GeneralValue     RFMClass = "一般价值" // R high, F high, M low
	GeneralDevelop   RFMClass = "一般发展" // R high, F low,  M low
	GeneralKeep      RFMClass = "一般保持" // R low,  F high, M low
	GeneralRetain    RFMClass = "一般挽留" // R low,  F low,  M low
)

// RFMClasses lists the eight classes from most to least valuable.
func RFMClasses() []RFMClass {
	return []RFMClass{ImportantValue, ImportantDevelop, ImportantKeep, ImportantRetain,
		GeneralValue, GeneralDevelop, GeneralKeep, GeneralRetain}
}

// English returns the class's English name ("Important Value"), or "" for
// a value that is not one of the eight classes.
func (c RFMClass) English() string {
	switch c {
	case ImportantValue:
		return "Important Value"
	case ImportantDevelop:
		return "Important Develop"
	case ImportantKeep:
		return "Important Keep"
	case ImportantRetain:
		return "Important Retain"
	case GeneralValue:
		return "General Value"
	case GeneralDevelop:
		return "General Develop"
	case GeneralKeep:
		return "General Keep"
	case GeneralRetain:
		return "General Retain"
	}
	return ""
}

func classOf(rHigh, fHigh, mHigh bool) RFMClass {
	switch {
	case mHigh && rHigh && fHigh:
		return ImportantValue
	case mHigh && rHigh:
		return ImportantDevelop
	case mHigh && fHigh:
		return ImportantKeep
	case mHigh:
		return ImportantRetain
	case rHigh && fHigh:
		return GeneralValue
	case rHigh:
		return GeneralDevelop
	case fHigh:
		return GeneralKeep
	}
	return GeneralRetain
}

// DefaultRFMWindow is the window RFM counts events in unless told otherwise:
// a year, within the profiles' default 400-day horizon.
const DefaultRFMWindow = 365 * 24 * time.Hour

// RFMConfig configures ScoreRFM. Scores run from 1 (worst) to 5 (best),
// either from fixed thresholds or, with Quantiles, from quintiles of the
// population.
type RFMConfig struct {
	// Event is the purchase event; default scrm.EventOrderPaid.
	Event string
	// RefundEvent, when set, is subtracted: M is the amount of Event minus
	// the amount of RefundEvent in the window, never below zero. F counts
	// Event only.
	RefundEvent string
	// Window is how far back F and M count, and which customers are scored
	// at all: those with at least one Event in [now-Window, now]. Default
	// DefaultRFMWindow. A window longer than the profiles' horizon (400
	// days by default) counts only the events the profiles keep.
	Window time.Duration

	// Quantiles scores by quintiles of the scored population instead of
	// thresholds: a customer's score is 1 + ⌊5·b/n⌋, where n is the size of
	// the population and b the number of its customers with a strictly
	// worse value (less recent last event, fewer events, less money). Equal
	// values therefore share a score, the one of their lowest rank: when
	// 60% of customers bought exactly once, they all get F = 1, and the
	// next F is 4. Thresholds must be left zero.
	Quantiles bool

	// Recency holds the thresholds of R, strictly ascending: R is 5 when the
	// last event is at most Recency[0] old, 4 within Recency[1], 3 within
	// Recency[2], 2 within Recency[3], else 1. Example: 7d, 30d, 90d, 180d.
	Recency [4]time.Duration
	// Frequency holds the minimum event counts for F = 2, 3, 4 and 5,
	// strictly ascending, the first at least 1. Example: 2, 3, 5, 8.
	Frequency [4]int64
	// Monetary holds the minimum amounts in yuan (whole fen) for M = 2, 3,
	// 4 and 5, strictly ascending and positive. Example: 100, 300, 800, 2000.
	Monetary [4]decimal.Decimal
}

// RFMScore is one customer's RFM result.
type RFMScore struct {
	Customer scrm.CustomerID
	// Scored is false for a customer without any Event in the window: such
	// a customer is outside the RFM population, and R, F, M and Class are
	// zero.
	Scored    bool
	Recency   time.Duration   // how long before now the last Event in the window was
	Frequency int64           // Events in the window
	Monetary  decimal.Decimal // their amount in yuan, less refunds in the window if configured
	R, F, M   int             // scores, 1 to 5
	Class     RFMClass
}

// ScoreRFM scores profiles at instant now and returns one RFMScore per
// profile, in the input order. Only events in the window [now-Window, now]
// count, so scoring as of a past instant ignores the orders placed after
// it. Classes compare each score with the average of that score over the
// scored customers. It reads only the profiles' aggregates (windowed
// counts and sums and a last time per customer; for a customer with events
// after now, about 60 more counts find the last one before) and sorts three
// int64 slices for quantiles, so a million profiles take well under a
// second.
//
// Errors: ErrInvalid naming the field for a bad config (thresholds out of
// order, both thresholds and Quantiles, neither), a nil profile
// ("profiles[3]"), or Quantiles over a population without any customer
// with an Event in the window ("profiles").
func ScoreRFM(profiles []*scrm.Profile, cfg RFMConfig, now time.Time) ([]RFMScore, error) {
	const op = "segment.ScoreRFM"
	r, err := newRFMRun(op, cfg, now, len(profiles))
	if err != nil {
		return nil, err
	}
	for i, p := range profiles {
		if p == nil {
			return nil, scrm.Invalid(op, "profiles["+strconv.Itoa(i)+"]", "nil profile")
		}
		r.add(p)
	}
	return r.finish(op)
}

// ScoreRFMSeq is ScoreRFM over a sequence of profiles, for callers that
// stream them (from a store, page by page) rather than hold them: only the
// scores are kept. A nil profile is an error naming its position.
func ScoreRFMSeq(profiles iter.Seq[*scrm.Profile], cfg RFMConfig, now time.Time) ([]RFMScore, error) {
	const op = "segment.ScoreRFM"
	r, err := newRFMRun(op, cfg, now, 0)
	if err != nil {
		return nil, err
	}
	i := 0
	for p := range profiles {
		if p == nil {
			return nil, scrm.Invalid(op, "profiles["+strconv.Itoa(i)+"]", "nil profile")
		}
		r.add(p)
		i++
	}
	return r.finish(op)
}

// RFM scores every live profile of the tenant at the Clock's now, in
// customer ID order (see ScoreRFM).
//
// Errors: as ScoreRFM, plus ErrInvalid for a malformed tenant and
// ErrUnavailable when the profile store fails or ctx is done.
func (s *Service) RFM(ctx context.Context, tenant scrm.TenantID, cfg RFMConfig) ([]RFMScore, error) {
	const op = "segment.RFM"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return nil, err
	}
	r, err := newRFMRun(op, cfg, s.opts.Clock.Now(), 0)
	if err != nil {
		return nil, err
	}
	add := func(p *scrm.Profile) error { r.add(p); return nil }
	cursor := ""
	for {
		next, err := s.scanPage(ctx, scrm.ListProfilesParams{Tenant: tenant, Cursor: cursor, Limit: s.pageSize}, add)
		if err != nil {
			return nil, scrm.Wrap(nil, op, err)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return r.finish(op)
}

// validate checks cfg and fills in its defaults.
func (cfg RFMConfig) validate(op string) (RFMConfig, [4]int64, error) {
	var mFen [4]int64
	if cfg.Event == "" {
		cfg.Event = scrm.EventOrderPaid
	}
	if cfg.Window < 0 {
		return cfg, mFen, scrm.Invalid(op, "Window", "must not be negative, got %s", cfg.Window)
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultRFMWindow
	}
	zeroThresholds := cfg.Recency == [4]time.Duration{} && cfg.Frequency == [4]int64{}
	for _, m := range cfg.Monetary {
		zeroThresholds = zeroThresholds && m.IsZero()
	}
	if cfg.Quantiles {
		if !zeroThresholds {
			return cfg, mFen, scrm.Invalid(op, "Quantiles", "set thresholds or Quantiles, not both")
		}
		return cfg, mFen, nil
	}
	if zeroThresholds {
		return cfg, mFen, scrm.Invalid(op, "Recency", "thresholds are required unless Quantiles is set")
	}
	for i, d := range cfg.Recency {
		field := "Recency[" + strconv.Itoa(i) + "]"
		if d <= 0 {
			return cfg, mFen, scrm.Invalid(op, field, "must be positive, got %s", d)
		}
		if i > 0 && d <= cfg.Recency[i-1] {
			return cfg, mFen, scrm.Invalid(op, field, "thresholds must ascend strictly: %s after %s", d, cfg.Recency[i-1])
		}
	}
	for i, n := range cfg.Frequency {
		field := "Frequency[" + strconv.Itoa(i) + "]"
		if n < 1 {
			return cfg, mFen, scrm.Invalid(op, field, "must be at least 1, got %d", n)
		}
		if i > 0 && n <= cfg.Frequency[i-1] {
			return cfg, mFen, scrm.Invalid(op, field, "thresholds must ascend strictly: %d after %d", n, cfg.Frequency[i-1])
		}
	}
	for i, m := range cfg.Monetary {
		field := "Monetary[" + strconv.Itoa(i) + "]"
		fen, ok := scrm.ToFen(m)
		switch {
		case !ok:
			return cfg, mFen, scrm.Invalid(op, field, "want whole fen, got %s", m)
		case fen <= 0:
			return cfg, mFen, scrm.Invalid(op, field, "must be positive, got %s", m)
		case i > 0 && fen <= mFen[i-1]:
			return cfg, mFen, scrm.Invalid(op, field, "thresholds must ascend strictly: %s after %s", m, cfg.Monetary[i-1])
		}
		mFen[i] = fen
	}
	return cfg, mFen, nil
}

// rfmRun accumulates the aggregates of each profile, then scores them.
type rfmRun struct {
	cfg   RFMConfig
	mFen  [4]int64
	now   time.Time
	since time.Time // the window is [since, now]
	after time.Time // now + 1ns, the first instant after the window
	rows  []rfmRow
}

type rfmRow struct {
	customer scrm.CustomerID
	last     int64 // unix nanoseconds of the last event in the window
	count    int64
	fen      int64
}

func newRFMRun(op string, cfg RFMConfig, now time.Time, n int) (*rfmRun, error) {
	if now.IsZero() {
		return nil, scrm.Invalid(op, "now", "required (zero time)")
	}
	cfg, mFen, err := cfg.validate(op)
	if err != nil {
		return nil, err
	}
	return &rfmRun{cfg: cfg, mFen: mFen, now: now, since: now.Add(-cfg.Window), after: now.Add(time.Nanosecond),
		rows: make([]rfmRow, 0, n)}, nil
}

// add folds in one profile. Profiles count events at or after an
// instant, so the events in the window [since, now] are those since
// r.since less those since r.after, the first instant after now: a
// profile scored as of a past instant may already hold later events.
func (r *rfmRun) add(p *scrm.Profile) {
	row := rfmRow{customer: p.Customer}
	later := p.Count(r.cfg.Event, r.after)
	row.count = p.Count(r.cfg.Event, r.since) - later
	if row.count > 0 {
		row.fen = windowFen(p, r.cfg.Event, r.since, r.after)
		if r.cfg.RefundEvent != "" {
			row.fen = max(row.fen-windowFen(p, r.cfg.RefundEvent, r.since, r.after), 0)
		}
		if later == 0 {
			last, _ := p.Last(r.cfg.Event)
			row.last = last.UnixNano()
		} else {
			row.last = lastBefore(p, r.cfg.Event, r.since, r.after, later)
		}
	}
	r.rows = append(r.rows, row)
}

// windowFen returns the amount of p's events of the type in [since, end).
func windowFen(p *scrm.Profile, eventType string, since, end time.Time) int64 {
	all, _ := p.SumFen(eventType, since)
	later, _ := p.SumFen(eventType, end)
	return all - later
}

// lastBefore returns the time (unix nanoseconds) of p's last event of the
// type before end, given that there is one at or after since and that
// later events number later. A profile answers only "how many since t",
// so this bisects on t: about 60 counts, each two binary searches, paid
// only by customers with events after the scoring instant.
func lastBefore(p *scrm.Profile, eventType string, since, end time.Time, later int64) int64 {
	lo, hi := since.UnixNano(), end.UnixNano() // Count(lo) > later, Count(hi) == later
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if p.Count(eventType, time.Unix(0, mid)) > later {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func (r *rfmRun) finish(op string) ([]RFMScore, error) {
	out := make([]RFMScore, len(r.rows))
	nowNano := r.now.UnixNano()
	n := 0
	for _, row := range r.rows {
		if row.count > 0 {
			n++
		}
	}
	if n == 0 {
		if r.cfg.Quantiles {
			return nil, scrm.Invalid(op, "profiles", "quantiles need at least one customer with a %s event in the window, got %d profiles and none", r.cfg.Event, len(r.rows))
		}
		for i, row := range r.rows {
			out[i] = RFMScore{Customer: row.customer, Monetary: decimal.Zero}
		}
		return out, nil
	}
	var rCuts, fCuts, mCuts quintileCuts
	if r.cfg.Quantiles {
		values := make([]int64, n)
		cuts := func(value func(*rfmRow) int64) quintileCuts {
			values = values[:0]
			for k := range r.rows {
				if r.rows[k].count > 0 {
					values = append(values, value(&r.rows[k]))
				}
			}
			slices.Sort(values)
			return newQuintileCuts(values)
		}
		rCuts = cuts(func(row *rfmRow) int64 { return row.last })
		fCuts = cuts(func(row *rfmRow) int64 { return row.count })
		mCuts = cuts(func(row *rfmRow) int64 { return row.fen })
	}
	var sumR, sumF, sumM int
	for i, row := range r.rows {
		sc := RFMScore{Customer: row.customer, Monetary: decimal.Zero}
		if row.count > 0 {
			sc.Scored = true
			sc.Recency = time.Duration(max(nowNano-row.last, 0))
			sc.Frequency = row.count
			sc.Monetary = scrm.FromFen(row.fen)
			if r.cfg.Quantiles {
				sc.R, sc.F, sc.M = rCuts.score(row.last), fCuts.score(row.count), mCuts.score(row.fen)
			} else {
				sc.R = 1
				for _, d := range r.cfg.Recency {
					if sc.Recency <= d {
						sc.R++
					}
				}
				sc.F, sc.M = 1, 1
				for k := range 4 {
					if row.count >= r.cfg.Frequency[k] {
						sc.F++
					}
					if row.fen >= r.mFen[k] {
						sc.M++
					}
				}
			}
			sumR, sumF, sumM = sumR+sc.R, sumF+sc.F, sumM+sc.M
		}
		out[i] = sc
	}
	// A score is high when strictly above the average: score·n > sum, in
	// integers, so that no rounding decides a class.
	for i := range out {
		if sc := &out[i]; sc.Scored {
			sc.Class = classOf(sc.R*n > sumR, sc.F*n > sumF, sc.M*n > sumM)
		}
	}
	return out, nil
}

// quintileCuts scores values against a sorted population of n: the score
// of v is 1 + ⌊5·b/n⌋, where b is the number of values strictly below v.
// Since ⌊5·b/n⌋ ≥ k exactly when b ≥ ⌈k·n/5⌉, which holds exactly when the
// ⌈k·n/5⌉-th smallest value is below v, four comparisons with those order
// statistics give the score.
type quintileCuts struct {
	below [4]int64 // the ⌈k·n/5⌉-th smallest value, k = 1..4
	any   [4]bool  // ⌈k·n/5⌉ = 0 (never, for n ≥ 1): the step always counts
}

func newQuintileCuts(sorted []int64) quintileCuts {
	var q quintileCuts
	n := len(sorted)
	for k := 1; k <= 4; k++ {
		m := (k*n + 4) / 5 // ⌈k·n/5⌉
		if m == 0 {
			q.any[k-1] = true
			continue
		}
		q.below[k-1] = sorted[m-1]
	}
	return q
}

func (q *quintileCuts) score(v int64) int {
	s := 1
	for k := range 4 {
		if q.any[k] || q.below[k] < v {
			s++
		}
	}
	return s
}
