package member

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Program is a tenant's loyalty program: its tiers, how growth value and
// points are earned, when points expire and how they are redeemed.
//
// Programs are versioned. PutProgram stores a new version and never changes
// an older one, and changing the program never rewrites history: lots keep
// the expiry computed when they were earned, tier periods keep the end they
// were given, journal entries record the version they were computed under,
// and a hold is redeemed at the rules in force when it was placed. The new
// version applies to everything that happens from then on; a changed tier
// threshold takes effect at the customer's next evaluation of the matching
// kind (an upgrade at the next growth gain, a downgrade at the next growth
// loss or period end, see TierPolicy).
//
// The zero value of every field is a usable default: no tiers, no growth, no
// points, points that never expire, redemption disabled.
type Program struct {
	Tenant scrm.TenantID `json:"tenant"`
	// Version is assigned by PutProgram: 1 for the first program of a
	// tenant, then one more for each change.
	Version int64 `json:"version,omitzero"`
	// CreatedAt is when PutProgram stored this version.
	CreatedAt time.Time `json:"createdAt,omitzero"`

	// Tiers are ordered by strictly increasing Threshold of growth value.
	// A customer whose growth is below the first threshold has no tier ("").
	Tiers      []Tier     `json:"tiers,omitzero"`
	TierPolicy TierPolicy `json:"tierPolicy,omitzero"`
	Growth     GrowthRule `json:"growth,omitzero"`
	Earn       EarnRule   `json:"earn,omitzero"`
	Expiry     ExpiryRule `json:"expiry,omitzero"`
	Redeem     RedeemRule `json:"redeem,omitzero"`
	// Debt decides what a refund does when the points it claws back were
	// already spent; "" means TakeRemaining.
	Debt DebtPolicy `json:"debt,omitzero"`
}

// Tier is one level of the program (普卡, 银卡, 金卡, 钻卡), reached by growth
// value.
type Tier struct {
	ID   string `json:"id"`
	Name string `json:"name,omitzero"`
	// Threshold is the growth value that reaches the tier.
	Threshold int64 `json:"threshold"`
	// When is an optional extra requirement, evaluated against the
	// customer's profile (for example a bound phone number, or a paid order
	// in the last 90 days). The zero Condition means none. A tier whose
	// threshold is met but whose condition is not is skipped: the customer
	// gets the highest tier whose threshold and condition both hold.
	When rule.Condition `json:"when,omitzero"`
	// PointsMultiplier multiplies the points a member of this tier earns on
	// orders; zero means 1.
	PointsMultiplier decimal.Decimal `json:"pointsMultiplier,omitzero"`
	// Discount is the tier's price rate for hosts (and the paid-membership
	// pricing) to apply, e.g. 0.95 for 95折; zero means none. The ledger
	// itself does not use it.
	Discount decimal.Decimal `json:"discount,omitzero"`
	// UpgradeRewards are granted through Options.Rewarder when a customer
	// reaches the tier, at most once per tier per period (see TierPolicy).
	UpgradeRewards []scrm.Reward `json:"upgradeRewards,omitzero"`
	// Deduction is taken from growth value when a period of this tier ends
	// under the Validity policy (e.g. 银卡 300, 金卡 1000); ignored otherwise.
	Deduction int64 `json:"deduction,omitzero"`
}

// TierPolicyKind names how tiers are kept over time.
type TierPolicyKind string

// The tier policies.
const (
	// Cumulative: the tier follows total growth value and never expires.
	// Upgrade rewards are granted once per tier, ever.
	Cumulative TierPolicyKind = "cumulative"
	// Validity: a tier reached is kept for TierPolicy.Months; when the
	// period ends the tier's Deduction is taken from growth and the tier is
	// re-evaluated (and, if kept, a new period starts). Upgrading inside a
	// period starts a new period of the new tier. Upgrade rewards are
	// granted once per tier per period.
	Validity TierPolicyKind = "validity"
	// Rolling: the tier follows the growth earned within the last
	// TierPolicy.Months calendar months in the tenant's zone (the current
	// month included) and is re-evaluated when a month leaves the window.
	// Upgrade rewards are granted once per tier per window.
	Rolling TierPolicyKind = "rolling"
)

// Downgrade names how far a tier may fall in one evaluation caused by the
// passage of time (the end of a Validity period, a month leaving the
// Rolling window). Evaluations caused by a loss of growth value (a refund's
// clawback, a negative Adjust) always go straight to the tier the growth
// value qualifies for, whatever the mode: see TierPolicy.
type Downgrade string

// The downgrade modes.
const (
	// OneDown drops at most one tier per time-caused evaluation: one per
	// Validity period end, one per month boundary under Rolling.
	OneDown Downgrade = "one_down"
	// Recompute goes straight to the tier the growth value qualifies for
	// at every evaluation.
	Recompute Downgrade = "recompute"
)

// TierPolicy says how tiers are kept over time.
//
// Upgrades are immediate, whatever the policy, at every gain of growth
// value. Downgrades happen only at evaluations caused by a loss or by time.
// A loss of growth value, a refund's clawback or a negative Adjust, takes
// the tier straight to the one the remaining growth qualifies for under
// every policy and Downgrade mode, so a refunded order cannot buy a tier:
// a refund undoes an upgrade the refunded order paid for even under
// Validity, as the period protects a tier against the passage of time, not
// against refunds. The passage of time, the end of a Validity period or a
// month leaving the Rolling window, downgrades as Downgrade says.
type TierPolicy struct {
	// Kind is Cumulative (the default), Validity or Rolling.
	Kind TierPolicyKind `json:"kind,omitzero"`
	// Months is the length of a Validity period or of the Rolling window;
	// required by those two.
	Months int `json:"months,omitzero"`
	// Downgrade is OneDown (the default) or Recompute: how far the end of
	// a Validity period or a month leaving the Rolling window may take the
	// tier down (losses always recompute).
	Downgrade Downgrade `json:"downgrade,omitzero"`
}

// GrowthRule says how growth value (成长值) is earned: PerYuan per yuan paid
// on an order.paid, floored to a whole number, and clawed back in proportion
// by refunds. Growth value is a balance separate from points and is never
// spent.
type GrowthRule struct {
	PerYuan decimal.Decimal `json:"perYuan,omitzero"`
}

// EarnRule says how points are earned.
//
// The points for an order are computed as
//
//	base   = floor(Amount × PointsPerYuan)
//	points = floor(base × tier multiplier × member-day multiplier × item factor)
//
// where the item factor is the average of the category multipliers of the
// order's items weighted by their price × quantity (1 without items or
// without category multipliers). The one multiplication is exact and floored
// once, so 2 × 1.5 never loses a point to an intermediate rounding.
type EarnRule struct {
	// PointsPerYuan is the base rate, e.g. 1 (one point per yuan) or 0.5.
	PointsPerYuan decimal.Decimal `json:"pointsPerYuan,omitzero"`
	// MemberDays multiply the points of orders paid on a weekday in the
	// tenant's time zone (every Tuesday ×2). A weekday may appear once.
	MemberDays []MemberDay `json:"memberDays,omitzero"`
	// Categories multiply the points of order items of a category (×3 on
	// 新品, ×0 to exclude 烟酒). Categories not listed count ×1.
	Categories map[string]decimal.Decimal `json:"categories,omitzero"`
	// Events award fixed points for custom events (a review, a quiz
	// answer), with caps. A type may appear once.
	Events []EventRule `json:"events,omitzero"`
}

// MemberDay is a weekly member day (会员日).
type MemberDay struct {
	Weekday    time.Weekday    `json:"weekday"`
	Multiplier decimal.Decimal `json:"multiplier"`
}

// EventRule awards Points, once per event, to the customer of an event of
// type Type that reaches Service.Handle. Event points are not multiplied.
type EventRule struct {
	Type   string `json:"type"`
	Points int64  `json:"points"`
	// PerDay caps how many events of the type earn points per customer per
	// local day of the event's time (an event dated ahead of the clock,
	// within FutureTolerance, on the next day counts for today); zero
	// means no cap. An event dated before the latest day already counted
	// (a late delivery) is checked against Limit only.
	PerDay int64 `json:"perDay,omitzero"`
	// Limit caps how many events of the type earn points per customer over
	// the life of the rule; zero means no cap.
	Limit int64 `json:"limit,omitzero"`
}

// ExpiryKind names how points expire.
type ExpiryKind string

// The expiry kinds.
const (
	// ExpireNever: points never expire (the default).
	ExpireNever ExpiryKind = "never"
	// ExpireAfterDays: points are valid through the end of the Days-th
	// local day after the day they were earned: earned on 1 March with Days
	// 30, they expire at 00:00 on 1 April.
	ExpireAfterDays ExpiryKind = "days"
	// ExpireEndOfPeriod: points are valid through the end of the calendar
	// year, quarter or month (Unit) that is Periods periods after the one
	// they were earned in: earned in 2026 with Unit year and Periods 1, they
	// expire at 00:00 on 1 January 2028.
	ExpireEndOfPeriod ExpiryKind = "end_of_period"
)

// PeriodUnit is a calendar period.
type PeriodUnit string

// The calendar periods.
const (
	Year    PeriodUnit = "year"
	Quarter PeriodUnit = "quarter"
	Month   PeriodUnit = "month"
)

// ExpiryRule says when points expire. Every boundary is a local midnight in
// the tenant's time zone, so points earned the same day (or period) expire
// together.
//
// Days is 1 to 36600 and Periods 0 to 300 years, 1200 quarters or 1200
// months. The ledger keeps no instant past 2200 (see Service.Import), so an
// expiry that would fall later is 00:00 on 1 January 2200 in the tenant's
// zone instead: points earned under a 300-year rule are spendable for
// the life of the ledger, not expired at once.
type ExpiryRule struct {
	Kind    ExpiryKind `json:"kind,omitzero"`
	Days    int        `json:"days,omitzero"`
	Unit    PeriodUnit `json:"unit,omitzero"`
	Periods int        `json:"periods,omitzero"`
}

// maxPeriods is the most Periods of unit an ExpiryRule may have: 300 years
// (ExpiresAt computes dates that far without overflow, and clamps them).
func maxPeriods(unit PeriodUnit) int {
	if unit == Year {
		return 300
	}
	return 1200 // 300 years of quarters; 100 years of months
}

// RedeemRule says how points pay for orders.
type RedeemRule struct {
	// PointsPerYuan is how many points make one yuan (100 points = ¥1);
	// zero disables redemption.
	PointsPerYuan int64 `json:"pointsPerYuan,omitzero"`
	// MinPoints is the least a single use may redeem; zero means no minimum.
	MinPoints int64 `json:"minPoints,omitzero"`
	// MaxShare is the largest share of the order amount points may pay,
	// in (0, 1]; zero means 1.
	MaxShare decimal.Decimal `json:"maxShare,omitzero"`
	// Step makes uses multiples of Step points; zero means 1. Each step must
	// be worth a whole number of fen.
	Step int64 `json:"step,omitzero"`
}

// DebtPolicy decides what a refund does when the points it must claw back
// were already spent.
type DebtPolicy string

// The debt policies.
const (
	// TakeRemaining takes what the balance still has and forgives the rest
	// (the default). The forgiven amount is recorded on the journal entry
	// and remembered (AccountState.Unclawed): points that come back
	// without being earned (a Void's, a refund's returned spent points)
	// pay it off first, when they were held or spent before the clawback;
	// new points never do.
	TakeRemaining DebtPolicy = "take_remaining"
	// AllowNegative takes what the balance has and records the rest as
	// debt: the balance goes negative and future points repay it first.
	AllowNegative DebtPolicy = "allow_negative"
)

// maxRate bounds rates and multipliers so that products of amounts, rates
// and multipliers stay far inside int64 points.
const maxRate = 10000

// Validate reports the first problem of p as an error matching
// scrm.ErrInvalid that names the field, e.g. "Tiers[2].Threshold". Tier
// conditions are compiled with the default location; PutProgram compiles them
// again in the tenant's zone.
func (p Program) Validate() error {
	_, err := compileProgram(p, scrm.DefaultLocation())
	return err
}

func (p Program) validate() error {
	const op = "member.Program"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return err
	}
	seen := make(map[string]bool, len(p.Tiers))
	for i, t := range p.Tiers {
		f := func(name string) string { return fmt.Sprintf("Tiers[%d].%s", i, name) }
		if err := scrm.CheckID(op, f("ID"), t.ID); err != nil {
			return err
		}
		if seen[t.ID] {
			return scrm.Invalid(op, f("ID"), "duplicate tier %q", t.ID)
		}
		seen[t.ID] = true
		if t.Threshold < 0 {
			return scrm.Invalid(op, f("Threshold"), "must not be negative, got %d", t.Threshold)
		}
		if i > 0 && t.Threshold <= p.Tiers[i-1].Threshold {
			return scrm.Invalid(op, f("Threshold"), "thresholds must be strictly increasing: %d after %d", t.Threshold, p.Tiers[i-1].Threshold)
		}
		if err := checkRate(op, f("PointsMultiplier"), t.PointsMultiplier); err != nil {
			return err
		}
		if t.Discount.IsNegative() || t.Discount.GreaterThan(decimal.NewFromInt(1)) {
			return scrm.Invalid(op, f("Discount"), "must be in (0, 1] or zero for none, got %s", t.Discount)
		}
		if t.Deduction < 0 {
			return scrm.Invalid(op, f("Deduction"), "must not be negative, got %d", t.Deduction)
		}
		if err := checkRewards(op, f("UpgradeRewards"), t.UpgradeRewards); err != nil {
			return err
		}
	}
	switch p.TierPolicy.Kind {
	case "", Cumulative:
	case Validity, Rolling:
		if p.TierPolicy.Months <= 0 || p.TierPolicy.Months > 120 {
			return scrm.Invalid(op, "TierPolicy.Months", "%s policy needs 1 to 120 months, got %d", p.TierPolicy.Kind, p.TierPolicy.Months)
		}
	default:
		return scrm.Invalid(op, "TierPolicy.Kind", "unknown policy %q (cumulative, validity, rolling)", p.TierPolicy.Kind)
	}
	switch p.TierPolicy.Downgrade {
	case "", OneDown, Recompute:
	default:
		return scrm.Invalid(op, "TierPolicy.Downgrade", "unknown mode %q (one_down, recompute)", p.TierPolicy.Downgrade)
	}
	if err := checkRate(op, "Growth.PerYuan", p.Growth.PerYuan); err != nil {
		return err
	}
	if err := checkRate(op, "Earn.PointsPerYuan", p.Earn.PointsPerYuan); err != nil {
		return err
	}
	var days [7]bool
	for i, d := range p.Earn.MemberDays {
		if d.Weekday < time.Sunday || d.Weekday > time.Saturday {
			return scrm.Invalid(op, fmt.Sprintf("Earn.MemberDays[%d].Weekday", i), "must be 0 (Sunday) to 6, got %d", d.Weekday)
		}
		if days[d.Weekday] {
			return scrm.Invalid(op, fmt.Sprintf("Earn.MemberDays[%d].Weekday", i), "%s listed twice", d.Weekday)
		}
		days[d.Weekday] = true
		if !d.Multiplier.IsPositive() {
			return scrm.Invalid(op, fmt.Sprintf("Earn.MemberDays[%d].Multiplier", i), "must be positive, got %s", d.Multiplier)
		}
		if err := checkRate(op, fmt.Sprintf("Earn.MemberDays[%d].Multiplier", i), d.Multiplier); err != nil {
			return err
		}
	}
	for cat, m := range p.Earn.Categories {
		if cat == "" {
			return scrm.Invalid(op, "Earn.Categories", "empty category name")
		}
		if err := checkRate(op, fmt.Sprintf("Earn.Categories[%q]", cat), m); err != nil {
			return err
		}
	}
	types := make(map[string]bool, len(p.Earn.Events))
	for i, r := range p.Earn.Events {
		f := func(name string) string { return fmt.Sprintf("Earn.Events[%d].%s", i, name) }
		if err := scrm.CheckID(op, f("Type"), r.Type); err != nil {
			return err
		}
		switch r.Type {
		case scrm.EventOrderPaid, scrm.EventOrderRefunded, scrm.EventTierChanged, EventPointsExpired:
			return scrm.Invalid(op, f("Type"), "%q cannot be an event rule", r.Type)
		}
		if types[r.Type] {
			return scrm.Invalid(op, f("Type"), "duplicate event type %q", r.Type)
		}
		types[r.Type] = true
		if r.Points <= 0 || r.Points > maxPoints {
			return scrm.Invalid(op, f("Points"), "must be positive, got %d", r.Points)
		}
		if r.PerDay < 0 {
			return scrm.Invalid(op, f("PerDay"), "must not be negative, got %d", r.PerDay)
		}
		if r.Limit < 0 {
			return scrm.Invalid(op, f("Limit"), "must not be negative, got %d", r.Limit)
		}
	}
	switch p.Expiry.Kind {
	case "", ExpireNever:
	case ExpireAfterDays:
		if p.Expiry.Days <= 0 || p.Expiry.Days > 36600 {
			return scrm.Invalid(op, "Expiry.Days", "must be 1 to 36600, got %d", p.Expiry.Days)
		}
	case ExpireEndOfPeriod:
		switch p.Expiry.Unit {
		case Year, Quarter, Month:
		default:
			return scrm.Invalid(op, "Expiry.Unit", "unknown unit %q (year, quarter, month)", p.Expiry.Unit)
		}
		if lim := maxPeriods(p.Expiry.Unit); p.Expiry.Periods < 0 || p.Expiry.Periods > lim {
			return scrm.Invalid(op, "Expiry.Periods", "must be 0 to %d for unit %s (at most 300 years), got %d", lim, p.Expiry.Unit, p.Expiry.Periods)
		}
	default:
		return scrm.Invalid(op, "Expiry.Kind", "unknown kind %q (never, days, end_of_period)", p.Expiry.Kind)
	}
	r := p.Redeem
	if r.PointsPerYuan < 0 || r.PointsPerYuan > 1_000_000 {
		return scrm.Invalid(op, "Redeem.PointsPerYuan", "must be 0 (disabled) to 1000000, got %d", r.PointsPerYuan)
	}
	if r.MinPoints < 0 || r.MinPoints > maxPoints {
		return scrm.Invalid(op, "Redeem.MinPoints", "must not be negative, got %d", r.MinPoints)
	}
	if r.MaxShare.IsNegative() || r.MaxShare.GreaterThan(decimal.NewFromInt(1)) {
		return scrm.Invalid(op, "Redeem.MaxShare", "must be in (0, 1] or zero for 1, got %s", r.MaxShare)
	}
	if r.Step < 0 || r.Step > maxPoints {
		return scrm.Invalid(op, "Redeem.Step", "must not be negative, got %d", r.Step)
	}
	if r.PointsPerYuan > 0 && (r.step()*100)%r.PointsPerYuan != 0 {
		return scrm.Invalid(op, "Redeem.Step", "a step of %d points is not worth a whole number of fen at %d points per yuan", r.step(), r.PointsPerYuan)
	}
	switch p.Debt {
	case "", TakeRemaining, AllowNegative:
	default:
		return scrm.Invalid(op, "Debt", "unknown policy %q (take_remaining, allow_negative)", p.Debt)
	}
	return nil
}

// maxPoints bounds single amounts of points (and of growth) so sums never
// overflow.
const maxPoints = int64(1) << 50

// maxBalancePoints bounds what an account holds: the points in its lots
// (held ones included), its Debt and its growth value, and so every
// month of a Rolling window (which never holds more than the account).
// Single amounts stay below maxPoints, so each sum the package computes
// (a balance plus one amount, lots minus Debt) stays far from
// math.MaxInt64. The rule:
//   - New points and growth (Earn, Grant, Adjust, Import, event rules)
//     that would take an account past it are refused with ErrInvalid,
//     before anything is written (see checkRoom).
//   - Points a refund returns restore what was spent, so they pass it only
//     when new points filled the account to the bound in between; the part
//     past it is forfeited, as points returned to an expired lot are (see
//     creditReturn).
//   - Debt a clawback would take past it is forgiven.
//
// Lot.Points, the lifetime total credited to a lot, is not a balance: it
// saturates at math.MaxInt64 instead.
const maxBalancePoints = int64(1) << 62

func checkRate(op, field string, d decimal.Decimal) error {
	if d.IsNegative() {
		return scrm.Invalid(op, field, "must not be negative, got %s", d)
	}
	if d.GreaterThan(decimal.NewFromInt(maxRate)) {
		return scrm.Invalid(op, field, "must be at most %d, got %s", maxRate, d)
	}
	if !d.Shift(6).IsInteger() { // "1.50000000" from a NUMERIC column is 1.5
		return scrm.Invalid(op, field, "at most 6 decimal places, got %s", d)
	}
	return nil
}

func (r RedeemRule) step() int64 {
	if r.Step <= 0 {
		return 1
	}
	return r.Step
}

func (r RedeemRule) maxShare() decimal.Decimal {
	if r.MaxShare.IsZero() {
		return decimal.NewFromInt(1)
	}
	return r.MaxShare
}

// Value returns what points are worth in yuan under the rule: points /
// PointsPerYuan, exact for every multiple of Step, otherwise rounded with
// scrm.RoundFen. Zero when redemption is disabled.
func (r RedeemRule) Value(points int64) decimal.Decimal {
	if r.PointsPerYuan <= 0 {
		return decimal.Zero
	}
	if (points*100)%r.PointsPerYuan == 0 {
		return scrm.FromFen(points * 100 / r.PointsPerYuan)
	}
	return scrm.RoundFen(decimal.NewFromInt(points).DivRound(decimal.NewFromInt(r.PointsPerYuan), 8))
}

// Clone returns a deep copy of p.
func (p Program) Clone() Program {
	c := p
	if p.Tiers != nil {
		c.Tiers = make([]Tier, len(p.Tiers))
		for i, t := range p.Tiers {
			t.When = cloneCondition(t.When)
			if t.UpgradeRewards != nil {
				t.UpgradeRewards = append([]scrm.Reward(nil), t.UpgradeRewards...)
			}
			c.Tiers[i] = t
		}
	}
	if p.Earn.MemberDays != nil {
		c.Earn.MemberDays = append([]MemberDay(nil), p.Earn.MemberDays...)
	}
	if p.Earn.Categories != nil {
		c.Earn.Categories = make(map[string]decimal.Decimal, len(p.Earn.Categories))
		for k, v := range p.Earn.Categories {
			c.Earn.Categories[k] = v
		}
	}
	if p.Earn.Events != nil {
		c.Earn.Events = append([]EventRule(nil), p.Earn.Events...)
	}
	return c
}

func cloneCondition(c rule.Condition) rule.Condition {
	out := c
	if c.All != nil {
		out.All = make([]rule.Condition, len(c.All))
		for i, x := range c.All {
			out.All[i] = cloneCondition(x)
		}
	}
	if c.Any != nil {
		out.Any = make([]rule.Condition, len(c.Any))
		for i, x := range c.Any {
			out.Any[i] = cloneCondition(x)
		}
	}
	if c.Not != nil {
		n := cloneCondition(*c.Not)
		out.Not = &n
	}
	if c.Count != nil {
		v := *c.Count
		out.Count = &v
	}
	if c.Sum != nil {
		v := *c.Sum
		out.Sum = &v
	}
	if c.Last != nil {
		v := *c.Last
		out.Last = &v
	}
	switch v := c.Value.(type) {
	case []any:
		out.Value = append([]any(nil), v...)
	case []string:
		out.Value = append([]string(nil), v...)
	}
	return out
}

// isZeroCondition reports whether c is the zero Condition (no requirement).
func isZeroCondition(c rule.Condition) bool {
	return c.All == nil && c.Any == nil && c.Not == nil && c.Attr == "" && c.Op == "" &&
		c.Value == nil && c.Event == "" && c.Within == 0 && c.Count == nil && c.Sum == nil &&
		c.Last == nil && c.Tag == "" && c.AppliedWithin == 0 && c.Segment == ""
}
