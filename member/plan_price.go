package member

import (
	"context"
	"errors"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// RateMode is how PriceFor combines the rates that apply to a member's
// price (Options.PlanRates).
type RateMode string

// The rate modes.
const (
	// RatesMultiply applies every rate: a plan's 8折 on a Friday with an
	// extra 85折 and a tier's 95折 price an item at 0.8 × 0.85 × 0.95. The
	// default.
	RatesMultiply RateMode = "multiply"
	// BestRate applies only the lowest of the rates.
	BestRate RateMode = "best"
)

// MemberPrice is what a member pays for an amount at a time.
type MemberPrice struct {
	// Amount is the amount priced; Price what the member pays,
	// scrm.RoundFen(Amount × Rate); Saved is Amount − Price (what to report
	// with RecordSaving).
	Amount decimal.Decimal
	Price  decimal.Decimal
	Saved  decimal.Decimal
	// Rate is the combined rate applied (1 when none applies).
	Rate decimal.Decimal
	// PlanRate, WeeklyRate and TierRate are the rates that applied: the
	// plan's discount, its weekly day's rate and the tier's discount; zero
	// when one does not.
	PlanRate   decimal.Decimal
	WeeklyRate decimal.Decimal
	TierRate   decimal.Decimal
	// Plan is the plan of the term covering the time ("" for none), Trial
	// whether that term is a trial; Tier is the customer's tier.
	Plan  string
	Trial bool
	Tier  string
}

// PriceFor returns the member price of amount for a customer at a time
// (zero means now): the discount of the plan whose term (trial or paid)
// covers at, its weekly day's rate when at falls on that weekday in the
// tenant's zone, and the Discount of the customer's current tier in the
// points program. Options.PlanRates says how they combine: RatesMultiply
// (the default) multiplies them, BestRate takes the lowest. The price is
// rounded once, to the fen, half up.
//
// A customer with no membership, no tier, or a tenant without plans or a
// program simply gets fewer rates (the price is the amount when none
// applies).
//
// Errors: ErrInvalid for a malformed request (amount negative or below the
// fen).
func (s *Service) PriceFor(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, at time.Time, amount decimal.Decimal) (MemberPrice, error) {
	const op = "member.PriceFor"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return MemberPrice{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return MemberPrice{}, err
	}
	if fen, ok := scrm.ToFen(amount); !ok || fen < 0 || fen > maxAmountFen {
		return MemberPrice{}, scrm.Invalid(op, "amount", "must be a non-negative amount in fen, got %s", amount)
	}
	if at.IsZero() {
		at = s.clock.Now()
	}
	loc := s.opts.LocationOf(tenant)
	r := MemberPrice{Amount: amount}
	ps, err := s.plans(ctx, op, tenant)
	if err != nil {
		return MemberPrice{}, err
	}
	if ps.revision > 0 {
		st, err := s.store.Membership(ctx, tenant, customer)
		if err != nil && !errors.Is(err, scrm.ErrNotFound) {
			return MemberPrice{}, wrap(op, err)
		}
		if t := termAt(st.Terms, at); t != nil {
			r.Plan, r.Trial = t.Plan, t.Trial
			p, err := s.termPlan(ctx, op, tenant, ps, t)
			if err != nil {
				return MemberPrice{}, err
			}
			if p != nil {
				r.PlanRate = p.Benefits.Discount
				wd := at.In(loc).Weekday()
				for _, w := range p.Benefits.Weekly {
					if w.Weekday == wd {
						r.WeeklyRate = w.Rate
					}
				}
			}
		}
	}
	c, err := s.program(ctx, op, tenant)
	switch {
	case errors.Is(err, scrm.ErrNotFound):
	case err != nil:
		return MemberPrice{}, err
	default:
		a, err := s.liveAccount(ctx, op, c, tenant, customer)
		if err != nil && !errors.Is(err, scrm.ErrNotFound) {
			return MemberPrice{}, err
		}
		if a != nil {
			r.Tier = a.Tier
			if i := c.tierIndex(a.Tier); i >= 0 {
				r.TierRate = c.p.Tiers[i].Discount
			}
		}
	}
	one := decimal.NewFromInt(1)
	r.Rate = one
	for _, rate := range []decimal.Decimal{r.PlanRate, r.WeeklyRate, r.TierRate} {
		switch {
		case rate.IsZero():
		case s.opts.PlanRates == BestRate:
			r.Rate = decimal.Min(r.Rate, rate)
		default:
			r.Rate = r.Rate.Mul(rate)
		}
	}
	r.Price = scrm.RoundFen(amount.Mul(r.Rate))
	r.Saved = amount.Sub(r.Price)
	return r, nil
}

// withPlanPoints wraps an Earn step with the points multiplier of the plan
// whose term covers the order's time at, when there is one: the step's
// points are multiplied (the extra floored) and credited to the order's lot,
// so that refunds claw them back with the rest. It reads the membership only
// when some plan of the tenant has a multiplier.
func (s *Service) withPlanPoints(ctx context.Context, op string, p UpdateParams, step func(*engine) error, at time.Time) (func(*engine) error, error) {
	ps, err := s.plans(ctx, op, p.Tenant)
	if err != nil || !ps.multiplier {
		return step, err
	}
	st, err := s.store.Membership(ctx, p.Tenant, p.Customer)
	if errors.Is(err, scrm.ErrNotFound) {
		return step, nil
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	t := termAt(st.Terms, at)
	if t == nil {
		return step, nil
	}
	plan, err := s.termPlan(ctx, op, p.Tenant, ps, t)
	if err != nil {
		return nil, err
	}
	if plan == nil || plan.Benefits.PointsMultiplier.IsZero() {
		return step, nil
	}
	const micro = 1_000_000
	extraMicro := plan.Benefits.PointsMultiplier.Shift(6).IntPart() - micro
	if extraMicro <= 0 {
		return step, nil
	}
	note := "plan:" + plan.ID + " ×" + plan.Benefits.PointsMultiplier.String()
	return func(e *engine) error {
		if err := step(e); err != nil {
			return err
		}
		o := e.tx.Order
		if o == nil || o.Points <= 0 {
			return nil
		}
		extra := mulDivFloor(o.Points, extraMicro, micro)
		if extra <= 0 {
			return nil
		}
		if o.Points+extra > maxPoints {
			return scrm.Invalid(op, "Amount", "the order earns more points than an account can hold")
		}
		if err := checkRoom(op, e.a, "Amount", extra, "", 0); err != nil {
			return err
		}
		for i := range e.tx.Outcome.Entries {
			ent := &e.tx.Outcome.Entries[i]
			if ent.Kind != EntryEarn || ent.OrderID != o.OrderID {
				continue
			}
			lot := credit(e.a, ent, extra, e.c.expiry(e.earn.at), e.earn.at.UnixNano(), o.Lot)
			if o.Lot == 0 {
				o.Lot = lot
			}
			o.Points += extra
			ent.Note = note
			break
		}
		return nil
	}, nil
}

// termPlan returns the plan version of term t, reloading the plans once
// when ps, loaded before the membership was read, does not know it (a
// version published since); nil when the store does not have it.
func (s *Service) termPlan(ctx context.Context, op string, tenant scrm.TenantID, ps *planSet, t *PlanTerm) (*Plan, error) {
	if p := ps.version(t.Plan, t.PlanVersion); p != nil {
		return p, nil
	}
	ps, err := s.plans(ctx, op, tenant)
	if err != nil {
		return nil, err
	}
	return ps.version(t.Plan, t.PlanVersion), nil
}
