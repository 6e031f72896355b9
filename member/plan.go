package member

import (
	"context"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Plan is a paid membership plan (付费会员): monthly ¥18, annual ¥98, and so
// on. A customer buys a term of it with Subscribe, may try it once with
// StartTrial, and enjoys its Benefits while the term lasts.
//
// Plans are versioned per ID: PutPlan stores a new version and never changes
// an older one. A term keeps the version it was bought under, so changing a
// plan's price or benefits affects only terms bought afterwards.
type Plan struct {
	Tenant scrm.TenantID `json:"tenant"`
	ID     string        `json:"id"`
	Name   string        `json:"name,omitzero"`
	// Version is assigned by PutPlan: 1 for the first version of an ID.
	Version   int64     `json:"version,omitzero"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// Price is what a term costs, in yuan; Subscribe requires Paid to
	// equal it.
	Price decimal.Decimal `json:"price"`
	// Period is the length of a term.
	Period PlanPeriod `json:"period"`
	// TrialDays is the length of the free trial; zero means the plan has
	// none.
	TrialDays int      `json:"trialDays,omitzero"`
	Benefits  Benefits `json:"benefits,omitzero"`
	// Retired plans take no new subscriptions or trials; terms already
	// bought run their course. Retiring takes effect for every Subscribe
	// and StartTrial that starts after the PutPlan returns; one already
	// under way, which read the plan before, may still sell its term (it
	// is ordered before the retirement: plans and memberships are
	// separate records, with no transaction across them).
	Retired bool `json:"retired,omitzero"`
}

// PlanPeriod is the length of a plan's term: Months calendar months or
// Days days, exactly one of them positive. A term runs from its start to the
// same local time of day Months later (the day clamped to the month's
// length: 31 January + 1 month is 28 or 29 February) or Days later.
type PlanPeriod struct {
	Months int `json:"months,omitzero"`
	Days   int `json:"days,omitzero"`
}

// after returns the end of a term of p starting at start.
func (p PlanPeriod) after(start time.Time, loc *time.Location) time.Time {
	return addLocal(start, p.Months, p.Days, loc)
}

// addLocal returns the same local time of day months and days after t in
// loc (the day clamped to the target month's length).
func addLocal(t time.Time, months, days int, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	if months > 0 {
		y, m, d = addMonthsClamped(y, m, d, months)
	}
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d+days, hh, mm, ss, t.Nanosecond(), loc)
}

// Benefits are what a plan's members get.
//
// The rates (Discount, Weekly) and the points multiplier apply to trial
// and paid terms alike. The coupon pack, the birthday reward and the
// break-even guarantee are for paid terms only.
type Benefits struct {
	// Discount is the member rate on everything, in (0, 1]: 0.8 is 8折.
	// Zero means none.
	Discount decimal.Decimal `json:"discount,omitzero"`
	// Weekly are extra rates on a weekday in the tenant's zone (every
	// Friday 85折). A weekday may appear once.
	Weekly []WeeklyRate `json:"weekly,omitzero"`
	// PointsMultiplier multiplies the points a member earns on orders
	// (Earn), in [1, 100]; zero means 1. The extra points are
	// floor(points × (PointsMultiplier − 1)), credited to the order's lot
	// and clawed back with it by refunds.
	PointsMultiplier decimal.Decimal `json:"pointsMultiplier,omitzero"`
	// CouponPack is released every month of a paid term in stages: each
	// tranche on its Day of the membership month (a membership month runs
	// from the term's start date to the same date a month later), e.g.
	// ¥70 of coupons over four weekly tranches on days 0, 7, 14 and 21.
	// Tranches are ordered by strictly increasing Day.
	CouponPack []Tranche `json:"couponPack,omitzero"`
	// Birthday rewards are granted on the member's birthday (a 29 February
	// birthday on 28 February in other years), once a year, when any part
	// of the day falls in a paid term.
	Birthday []scrm.Reward `json:"birthday,omitzero"`
	// BreakEven is the break-even guarantee (开卡保本): at the end of a paid
	// term, if RecordSaving reported less saved than the term's price, the
	// difference is granted as stored value (kind "stored_value", to the
	// bonus balance). Terms cancelled early are not settled.
	BreakEven bool `json:"breakEven,omitzero"`
}

// WeeklyRate is an extra member rate on one weekday.
type WeeklyRate struct {
	Weekday time.Weekday    `json:"weekday"`
	Rate    decimal.Decimal `json:"rate"`
}

// Tranche is one stage of a monthly coupon pack.
type Tranche struct {
	// Day is the day of the membership month on which the tranche is
	// released, from its local midnight: 0 (the start date) to 27, so that
	// every tranche falls inside its month.
	Day     int           `json:"day"`
	Rewards []scrm.Reward `json:"rewards"`
}

// Clone returns a deep copy of p.
func (p Plan) Clone() Plan {
	b := &p.Benefits
	if b.Weekly != nil {
		b.Weekly = append([]WeeklyRate(nil), b.Weekly...)
	}
	if b.CouponPack != nil {
		pack := make([]Tranche, len(b.CouponPack))
		for i, t := range b.CouponPack {
			pack[i] = Tranche{Day: t.Day, Rewards: append([]scrm.Reward(nil), t.Rewards...)}
		}
		b.CouponPack = pack
	}
	if b.Birthday != nil {
		b.Birthday = append([]scrm.Reward(nil), b.Birthday...)
	}
	return p
}

// Limits of plans.
const (
	maxPlanMonths = 120
	maxPlanDays   = 3660
	maxTrialDays  = 366
)

// Validate reports the first malformed field of p as an ErrInvalid error
// naming it ("Period", "Benefits.CouponPack[1].Day").
func (p Plan) Validate() error {
	const op = "member.Plan"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "ID", p.ID); err != nil {
		return err
	}
	if err := checkNote(op, "Name", p.Name, false); err != nil {
		return err
	}
	if err := checkAmount(op, "Price", p.Price); err != nil {
		return err
	}
	switch {
	case p.Period.Months < 0 || p.Period.Days < 0:
		return scrm.Invalid(op, "Period", "must not be negative, got %d months %d days", p.Period.Months, p.Period.Days)
	case (p.Period.Months > 0) == (p.Period.Days > 0):
		return scrm.Invalid(op, "Period", "exactly one of Months and Days must be positive, got %d months %d days", p.Period.Months, p.Period.Days)
	case p.Period.Months > maxPlanMonths:
		return scrm.Invalid(op, "Period.Months", "at most %d, got %d", maxPlanMonths, p.Period.Months)
	case p.Period.Days > maxPlanDays:
		return scrm.Invalid(op, "Period.Days", "at most %d, got %d", maxPlanDays, p.Period.Days)
	case p.TrialDays < 0 || p.TrialDays > maxTrialDays:
		return scrm.Invalid(op, "TrialDays", "must be in [0, %d], got %d", maxTrialDays, p.TrialDays)
	}
	b := p.Benefits
	if err := checkUnitRate(op, "Benefits.Discount", b.Discount, true); err != nil {
		return err
	}
	var seen [7]bool
	for i, w := range b.Weekly {
		f := "Benefits.Weekly[" + strconv.Itoa(i) + "]"
		if w.Weekday < time.Sunday || w.Weekday > time.Saturday {
			return scrm.Invalid(op, f+".Weekday", "not a weekday: %d", w.Weekday)
		}
		if seen[w.Weekday] {
			return scrm.Invalid(op, f+".Weekday", "%s appears twice", w.Weekday)
		}
		seen[w.Weekday] = true
		if err := checkUnitRate(op, f+".Rate", w.Rate, false); err != nil {
			return err
		}
	}
	if m := b.PointsMultiplier; !m.IsZero() {
		if m.LessThan(decimal.NewFromInt(1)) || m.GreaterThan(decimal.NewFromInt(100)) || !m.Shift(6).IsInteger() {
			return scrm.Invalid(op, "Benefits.PointsMultiplier", "must be in [1, 100] with at most 6 decimal places, got %s", m)
		}
	}
	for i, t := range b.CouponPack {
		f := "Benefits.CouponPack[" + strconv.Itoa(i) + "]"
		if t.Day < 0 || t.Day > 27 {
			return scrm.Invalid(op, f+".Day", "must be in [0, 27], got %d", t.Day)
		}
		if i > 0 && t.Day <= b.CouponPack[i-1].Day {
			return scrm.Invalid(op, f+".Day", "tranches must have strictly increasing days, got %d after %d", t.Day, b.CouponPack[i-1].Day)
		}
		if len(t.Rewards) == 0 {
			return scrm.Invalid(op, f+".Rewards", "a tranche releases at least one reward")
		}
		if err := checkRewards(op, f+".Rewards", t.Rewards); err != nil {
			return err
		}
	}
	return checkRewards(op, "Benefits.Birthday", b.Birthday)
}

// checkUnitRate validates a price rate: in (0, 1], with at most 4 decimal
// places; zero allowed when optional.
func checkUnitRate(op, field string, r decimal.Decimal, optional bool) error {
	if r.IsZero() && optional {
		return nil
	}
	if !r.IsPositive() || r.GreaterThan(decimal.NewFromInt(1)) || !r.Shift(4).IsInteger() {
		return scrm.Invalid(op, field, "must be in (0, 1] with at most 4 decimal places, got %s", r)
	}
	return nil
}

// PutPlan validates p, stores it as the newest version of its ID and returns
// it with Version and CreatedAt set.
//
// Errors: ErrInvalid naming the field, e.g. "Period" for a plan with no
// period, or "Benefits.CouponPack[0].Rewards[0].Kind" for a coupon when the
// service has no Options.Rewarder.
func (s *Service) PutPlan(ctx context.Context, p Plan) (Plan, error) {
	const op = "member.PutPlan"
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	for i, t := range p.Benefits.CouponPack {
		if err := s.checkHeld(op, "Benefits.CouponPack["+strconv.Itoa(i)+"].Rewards", t.Rewards); err != nil {
			return Plan{}, err
		}
	}
	if err := s.checkHeld(op, "Benefits.Birthday", p.Benefits.Birthday); err != nil {
		return Plan{}, err
	}
	p.Version = 0
	p.CreatedAt = s.clock.Now()
	out, err := s.store.PutPlan(ctx, p)
	return out, wrap(op, err)
}

// Plans returns the newest version of each of the tenant's plans, by ID.
func (s *Service) Plans(ctx context.Context, tenant scrm.TenantID) ([]Plan, error) {
	const op = "member.Plans"
	ps, err := s.plans(ctx, op, tenant)
	if err != nil {
		return nil, err
	}
	var out []Plan
	for _, id := range ps.ids {
		out = append(out, ps.newest(id).Clone())
	}
	return out, nil
}

// plans returns the tenant's plan set from the cache, reloading it when
// the store's revision moved. The set is shared: callers must not change
// it.
func (s *Service) plans(ctx context.Context, op string, tenant scrm.TenantID) (*planSet, error) {
	rev, err := s.store.PlansRevision(ctx, tenant)
	if err != nil {
		return nil, wrap(op, err)
	}
	if ps := s.cache.plans.get(tenant); ps != nil && ps.revision == rev {
		return ps, nil
	}
	all, err := s.store.Plans(ctx, tenant)
	if err != nil {
		return nil, wrap(op, err)
	}
	ps := newPlanSet(rev, all)
	s.cache.plans.put(tenant, ps, func(ps *planSet) int64 { return ps.revision })
	return ps, nil
}
