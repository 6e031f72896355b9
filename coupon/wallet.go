package coupon

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Wallet returns every coupon of a customer (卡包) with its state at the
// Clock's now: an available coupon past its validity is reported expired
// even before Sweep marks it. Usable coupons come first, soonest to expire
// first; then locked, redeemed, expired and revoked ones.
func (s *Service) Wallet(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) ([]Coupon, error) {
	const op = "coupon.Wallet"
	if err := checkIDs(op, "tenant", string(tenant), "customer", string(customer)); err != nil {
		return nil, err
	}
	now := s.opts.Clock.Now()
	cs, err := s.list(ctx, op, ListCouponsParams{Tenant: tenant, Customer: customer})
	if err != nil {
		return nil, err
	}
	for i := range cs {
		cs[i].State = cs[i].StateAt(now)
	}
	rank := map[State]int{StateAvailable: 0, StateLocked: 1, StateRedeemed: 2, StateExpired: 3, StateRevoked: 4}
	slices.SortFunc(cs, func(a, b Coupon) int {
		return cmp.Or(cmp.Compare(rank[a.State], rank[b.State]), a.ValidTo.Compare(b.ValidTo), cmp.Compare(a.ID, b.ID))
	})
	return cs, nil
}

// Expiring returns the available coupons of a tenant whose validity ends
// within the next within (after now, at or before now+within), soonest
// first: the customers to remind (券即将过期提醒). Errors: ErrInvalid for a
// within that is not positive.
func (s *Service) Expiring(ctx context.Context, tenant scrm.TenantID, within time.Duration) ([]Coupon, error) {
	const op = "coupon.Expiring"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return nil, err
	}
	if within <= 0 {
		return nil, scrm.Invalid(op, "within", "must be positive, got %s", within)
	}
	now := s.opts.Clock.Now()
	cs, err := s.list(ctx, op, ListCouponsParams{Tenant: tenant, State: StateAvailable,
		ValidToAfter: now, ValidToBefore: now.Add(within)})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b Coupon) int { return cmp.Or(a.ValidTo.Compare(b.ValidTo), cmp.Compare(a.ID, b.ID)) })
	return cs, nil
}

func (s *Service) list(ctx context.Context, op string, p ListCouponsParams) ([]Coupon, error) {
	var out []Coupon
	p.Limit = 1000
	for {
		page, err := s.store.ListCoupons(ctx, p)
		if err != nil {
			return nil, scrm.Wrap(nil, op, err)
		}
		out = append(out, page.Coupons...)
		if p.Cursor = page.Next; p.Cursor == "" {
			return out, nil
		}
	}
}

// sweepBatch is how many coupons Sweep expires per store call.
const sweepBatch = 1000

// Sweep expires the tenant's available coupons whose validity has ended and
// returns how many it expired. Locked coupons are left to their order (a
// later Release makes them available, and the next Sweep expires them). Call
// it periodically. It publishes EventExpired per coupon; unlike the other
// events these are not published again on a retry (the coupons are no
// longer available to sweep), so a publish failure loses that coupon's
// event: Sweep goes on and returns the first such error with the count.
func (s *Service) Sweep(ctx context.Context, tenant scrm.TenantID) (int, error) {
	const op = "coupon.Sweep"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return 0, err
	}
	now := s.opts.Clock.Now()
	total := 0
	var pubErr error
	for {
		cs, err := s.store.Expire(ctx, ExpireParams{Tenant: tenant, Now: now, Limit: sweepBatch})
		if err != nil {
			return total, scrm.Wrap(nil, op, err)
		}
		total += len(cs)
		for _, c := range cs {
			err := s.emit(ctx, scrm.Event{ID: eventID(EventExpired, c.ID), Tenant: tenant, Customer: c.Customer,
				Type: EventExpired, Time: now, Props: map[string]any{"coupon": c.ID, "template": c.Template}})
			if pubErr == nil {
				pubErr = err
			}
		}
		if len(cs) < sweepBatch {
			return total, pubErr
		}
	}
}

// Revoke withdraws an available coupon (a mistaken issue, a fraud case).
// Revoking again returns it unchanged. Errors: ErrNotFound; ErrConflict for a
// locked, redeemed or expired coupon (expired as Wallet reports it: past its
// validity at the Clock's now, even before Sweep has marked it).
func (s *Service) Revoke(ctx context.Context, tenant scrm.TenantID, couponID string) (Coupon, error) {
	const op = "coupon.Revoke"
	if err := checkIDs(op, "tenant", string(tenant), "couponID", couponID); err != nil {
		return Coupon{}, err
	}
	c, err := s.store.Revoke(ctx, RevokeParams{Tenant: tenant, ID: couponID, Now: s.opts.Clock.Now()})
	return c, scrm.Wrap(nil, op, err)
}
