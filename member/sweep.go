package member

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// SweepResult counts what a Sweep did.
type SweepResult struct {
	// Accounts is how many accounts were due and brought up to date.
	Accounts int
	// Expired is the points expired.
	Expired int64
	// TierChanges is how many tier changes were recorded.
	TierChanges int
	// Failed is how many due accounts could not be updated (see the error).
	Failed int
}

// sweepPage is how many due accounts Sweep lists at a time.
const sweepPage = 1000

// Sweep brings every due account of the tenant up to now: it expires the
// free points of lots past their expiry (publishing points.expired), closes
// ended Validity periods (deduction, re-evaluation, member.tier_changed) and
// re-evaluates Rolling tiers whose window dropped a month. It visits only
// the accounts that are due (Store.ListDue), each in its own atomic update,
// and carries on past an account that fails; the failures are returned
// joined. Running it again at the same time does nothing more. A tenant
// without a program has nothing to sweep.
//
// Requests bring an account up to date on their own, so Sweep is about
// publishing events and tier downgrades on time, not about correctness;
// hosts run it from a scheduler, e.g. a few minutes after local midnight.
func (s *Service) Sweep(ctx context.Context, tenant scrm.TenantID) (SweepResult, error) {
	const op = "member.Sweep"
	var res SweepResult
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return res, err
	}
	if _, err := s.program(ctx, op, tenant); err != nil {
		if errors.Is(err, scrm.ErrNotFound) {
			return res, nil
		}
		return res, err
	}
	now := s.clock.Now()
	var errs []error
	cursor := ""
	for {
		page, err := s.store.ListDue(ctx, ListDueParams{Tenant: tenant, Before: now, Cursor: cursor, Limit: sweepPage})
		if err != nil {
			errs = append(errs, wrap(op, err))
			break
		}
		for _, d := range page.Accounts {
			out, _, err := s.update(ctx, op, UpdateParams{Tenant: tenant, Customer: d.Customer}, func(*engine) error { return nil })
			if err != nil && out.Entries == nil {
				res.Failed++
				errs = append(errs, err)
				if ctx.Err() != nil {
					return res, errors.Join(errs...)
				}
				continue
			}
			if err != nil {
				errs = append(errs, err) // saved; an event failed to publish
			}
			res.Accounts++
			for i := range out.Entries {
				ent := &out.Entries[i]
				switch ent.Kind {
				case EntryExpire:
					res.Expired -= ent.Points
				case EntryTier:
					res.TierChanges++
				}
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return res, errors.Join(errs...)
}

// ExpiringPoints is a customer with points expiring soon.
type ExpiringPoints struct {
	Customer scrm.CustomerID
	// Points is the spendable points that expire within the window.
	Points int64
	// ExpiresAt is the soonest of their expiries, in the tenant's zone.
	ExpiresAt time.Time
}

// lastExpiry bounds the window of Expiring: no lot expires later (a lot
// expires at the latest at local midnight on 1 January 2200, within a day of
// maxUnix in any zone), and instants after 2262 have no Unix nanoseconds.
var lastExpiry = time.Unix(maxUnix, 0).Add(24 * time.Hour)

// Expiring lists the tenant's customers whose spendable points expire within
// the coming `within` (after now, up to and including now+within), with how
// many, soonest first: the audience of an "your points expire soon" touch.
// No lot expires after 2200, so any window reaching past it (up to
// math.MaxInt64) lists every customer with expiring points.
//
// Errors: ErrInvalid when within is not positive; ErrNotFound when the tenant
// has no program.
func (s *Service) Expiring(ctx context.Context, tenant scrm.TenantID, within time.Duration) ([]ExpiringPoints, error) {
	const op = "member.Expiring"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return nil, err
	}
	if within <= 0 {
		return nil, scrm.Invalid(op, "within", "must be positive, got %s", within)
	}
	if _, err := s.program(ctx, op, tenant); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	end := now.Add(within)
	if end.After(lastExpiry) {
		end = lastExpiry // past it UnixNano overflows; no lot expires later
	}
	loc := s.opts.LocationOf(tenant)
	var out []ExpiringPoints
	cursor := ""
	for {
		page, err := s.store.ListExpiring(ctx, ListDueParams{Tenant: tenant, Before: end, Cursor: cursor, Limit: sweepPage})
		if err != nil {
			return nil, wrap(op, err)
		}
		for _, d := range page.Accounts {
			st, err := s.store.Account(ctx, tenant, d.Customer)
			if errors.Is(err, scrm.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, wrap(op, err)
			}
			// Only expiry matters here: expire what is past, without the
			// tier evaluation (and its profile read) of a full simulate.
			cp := st.Clone()
			expireDue(cp, func() *Entry { return &Entry{} }, now.UnixNano())
			var x ExpiringPoints
			for _, l := range cp.Lots {
				if l.Expiry == 0 || l.Expiry > end.UnixNano() {
					break
				}
				if f := l.Free(); f > 0 {
					if x.Points == 0 {
						x.ExpiresAt = l.ExpiresAt().In(loc)
					}
					x.Points += f
				}
			}
			if x.Points > 0 && cp.Debt == 0 {
				x.Customer = d.Customer
				out = append(out, x)
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	// The index orders accounts by their stored NextExpiry, which for an
	// account not swept yet may be a lot already expired.
	slices.SortStableFunc(out, func(x, y ExpiringPoints) int { return x.ExpiresAt.Compare(y.ExpiresAt) })
	return out, nil
}
