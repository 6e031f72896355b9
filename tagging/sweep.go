package tagging

import (
	"context"

	"github.com/scrmkit/scrmkit/scrm"
)

// SweepOptions bound one Sweep call.
type SweepOptions struct {
	// Cursor is the Next of the previous call's result; empty to start from
	// the first customer.
	Cursor string
	// Limit is how many profiles to scan in this call; 0 means all the
	// remaining ones.
	Limit int
}

// SweepResult reports what a Sweep call did.
type SweepResult struct {
	Scanned   int // profiles scanned
	Applied   int // tags applied (or refreshed) by time-based rules
	Removed   int // tags removed by Sync rules, or replaced in exclusive groups
	Expired   int // expired tags removed
	Customers int // customers with at least one change
	// Next is the cursor to resume from; empty when the sweep reached the
	// last customer.
	Next string
}

// Sweep re-evaluates, for every customer of the tenant (in customer ID
// order, Options.SweepPage profiles per read), the rules that can change by
// time passing alone (rule.Deps.TimeBased: windows, "last order older than
// 30d", tag ages, birthdays), so that a customer becomes "inactive 30 days"
// without any event arriving; and it removes tags whose expiry has passed,
// publishing tag.removed for each (ID "tag.removed:expire:<customer>:<expiry
// in unix ns>:<tag>", the same whichever sweep finds it).
//
// Marks applied by a sweep carry At = the sweep's time. A sweep is
// resumable: with a Limit it stops after that many profiles and returns the
// cursor to continue from; on an error (a cancelled ctx included) it
// returns what it did so far, with Next set to resume after the last
// customer it finished. Running sweeps concurrently for one tenant is safe
// (every change is a locked profile update) but wasteful.
//
// Expired tags stop matching rules at their expiry without a sweep; until a
// sweep removes them they stay on profiles and in Count and Customers.
func (s *Service) Sweep(ctx context.Context, tenant scrm.TenantID, o SweepOptions) (SweepResult, error) {
	const op = "tagging.Sweep"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return SweepResult{}, err
	}
	if o.Limit < 0 {
		return SweepResult{}, scrm.Invalid(op, "Limit", "must not be negative, got %d", o.Limit)
	}
	tr, err := s.rules(ctx, tenant)
	if err != nil {
		return SweepResult{}, err
	}
	now := s.now()
	cands := make([]cand, len(tr.timeBased))
	for i, r := range tr.timeBased {
		cands[i] = cand{r: r}
	}
	ps := &pass{tr: tr, now: now, at: now, trigger: "sweep", cands: cands, expire: true}
	res := SweepResult{Next: o.Cursor}
	for {
		page := s.opts.SweepPage
		if o.Limit > 0 {
			page = min(page, o.Limit-res.Scanned)
		}
		pp, err := s.profiles.List(ctx, scrm.ListProfilesParams{Tenant: tenant, Cursor: res.Next, Limit: page})
		if err != nil {
			return res, scrm.Wrap(nil, op, err)
		}
		for _, p := range pp.Profiles {
			ps.cause = sweepCause(p.Customer, now)
			out, err := s.run(ctx, tenant, p.Customer, ps, p, nil)
			if err != nil {
				return res, scrm.Wrap(nil, op, err)
			}
			if out.replayed {
				out.entries = nil // a sweep at the same instant: counted the first time
			}
			for _, e := range out.entries {
				switch {
				case e.Source == "expiry":
					res.Expired++
				case e.Action == ActionRemoved:
					res.Removed++
				default:
					res.Applied++
				}
			}
			if len(out.entries) > 0 {
				res.Customers++
			}
			res.Scanned++
			res.Next = string(p.Customer)
		}
		if pp.Next == "" {
			res.Next = ""
			return res, nil
		}
		if o.Limit > 0 && res.Scanned >= o.Limit {
			return res, nil
		}
		if err := scrm.CheckContext(ctx, op); err != nil {
			return res, err
		}
	}
}
