package member

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Account is a customer's membership as of now: balances, tier and the live
// lots with their expiry.
type Account struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// Points is the spendable balance: the free points of Lots minus Debt,
	// so Points = sum of the lots' Remaining - Held - Debt. Negative while
	// in debt.
	Points int64
	// Held is the points reserved by open holds.
	Held int64
	Debt int64
	// Unclawed is points refunds could not claw back because they were
	// held or spent, still to be taken from points that come back (see
	// AccountState.Unclawed); not part of Points.
	Unclawed int64
	// Growth is the growth value (成长值).
	Growth int64
	// TierGrowth is what the tier is evaluated on: Growth, or under the
	// Rolling policy the growth earned inside the window.
	TierGrowth int64
	Tier       string // the tier ID; "" for none
	TierName   string
	TierSince  time.Time
	// TierValidUntil is when the current Validity period ends (the tier is
	// then re-evaluated); zero when the tier does not expire.
	TierValidUntil time.Time
	// Lots are the live lots in spending order.
	Lots []Lot
	// NextExpiry is the soonest expiry of spendable points, in the tenant's
	// zone; zero for none.
	NextExpiry time.Time
}

// Account returns a customer's account as of now. Lots past their expiry
// and tier periods that ended are shown as the next request (or Sweep) will
// record them, even if that has not happened yet.
//
// Errors: ErrNotFound when the customer has no account (never earned) or the
// tenant has no program.
func (s *Service) Account(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (Account, error) {
	const op = "member.Account"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return Account{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return Account{}, err
	}
	c, err := s.program(ctx, op, tenant)
	if err != nil {
		return Account{}, err
	}
	st, err := s.liveAccount(ctx, op, c, tenant, customer)
	if err != nil {
		return Account{}, err
	}
	a := Account{
		Tenant: tenant, Customer: customer,
		Points: st.Points(), Held: st.Held, Debt: st.Debt, Unclawed: st.Unclawed, Growth: st.Growth,
		Tier: st.Tier, TierSince: st.TierSince, TierValidUntil: st.TierUntil,
		Lots: st.Lots, NextExpiry: st.NextExpiry().In(c.loc),
	}
	e := &engine{c: c, a: st}
	a.TierGrowth = e.tierGrowth()
	if i := c.tierIndex(st.Tier); i >= 0 {
		a.TierName = c.p.Tiers[i].Name
	}
	return a, nil
}

// liveAccount loads an account and brings a copy of it up to now.
func (s *Service) liveAccount(ctx context.Context, op string, c *compiled, tenant scrm.TenantID, customer scrm.CustomerID) (*AccountState, error) {
	st, err := s.store.Account(ctx, tenant, customer)
	if err != nil {
		return nil, wrap(op, err)
	}
	env, err := s.env(ctx, op, c, tenant, customer)
	if err != nil {
		return nil, err
	}
	return simulate(c, env, &st, s.clock.Now()), nil
}

// Entries returns a page of a customer's journal, oldest first: every
// change of every balance, with the lots it touched.
func (s *Service) Entries(ctx context.Context, p ListEntriesParams) (EntryPage, error) {
	const op = "member.Entries"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return EntryPage{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return EntryPage{}, err
	}
	page, err := s.store.Entries(ctx, p)
	return page, wrap(op, err)
}
