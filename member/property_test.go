package member_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// TestLedgerProperties runs random sequences of earn / hold / capture / void
// / redeem / refund / adjust / grant / sweep over simulated months and checks
// after every step that
//
//   - the balance is the free points of the live lots minus debt, and the
//     held points are the lots' held points and the open holds' points;
//   - the balance is never negative unless the debt policy allows it,
//     growth is never negative, and the Rolling window never holds more
//     growth than the account;
//   - the journal explains every balance and every lot, and the points
//     refunds could not claw back (Unclawed: what TakeRemaining forgave,
//     less what "unclawed" clawbacks took since; never negative, zero
//     under AllowNegative), which only points that came back in the same
//     request (a Void's, a refund's) ever pay off, and only the parts of
//     it (UnclawedParts, adding up to Unclawed) forgiven at or after those
//     points were held or spent, the latest first;
//   - replaying any earlier request changes nothing and returns the
//     original result.
func TestLedgerProperties(t *testing.T) {
	programs := map[string]func(p *member.Program){
		"cumulative/month-expiry": func(p *member.Program) {
			p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Month, Periods: 1}
		},
		"validity/days/debt": func(p *member.Program) {
			p.TierPolicy = member.TierPolicy{Kind: member.Validity, Months: 2}
			p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 20}
			p.Debt = member.AllowNegative
		},
		"rolling/quarter/recompute": func(p *member.Program) {
			p.TierPolicy = member.TierPolicy{Kind: member.Rolling, Months: 2, Downgrade: member.Recompute}
			p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Quarter}
			p.Earn.MemberDays = []member.MemberDay{{Weekday: time.Friday, Multiplier: dec("1.5")}}
		},
	}
	seeds := 8
	steps := 250
	if testing.Short() {
		seeds, steps = 2, 100
	}
	for name, change := range programs {
		for seed := 0; seed < seeds; seed++ {
			t.Run(fmt.Sprintf("%s/%d", name, seed), func(t *testing.T) {
				p := rewarded()
				p.Tiers[2].UpgradeRewards = nil // no coupon rewarder here
				p.Redeem = member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: dec("0.5"), Step: 50}
				change(&p)
				runProperties(t, p, uint64(seed), steps)
			})
		}
	}
}

type replay struct {
	name string
	run  func() (any, error)
	want any
}

func runProperties(t *testing.T, p member.Program, seed uint64, steps int) {
	ctx := context.Background()
	f := newFixture(t, p)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	customers := []scrm.CustomerID{"c1", "c2", "c3"}
	type order struct {
		customer scrm.CustomerID
		id       string
		paid     int64 // fen
		refunded int64
	}
	var orders []*order
	// paidWithPoints are orders points paid for, waiting for the Earn of
	// their cash part, so that refunds also return spent points.
	var paidWithPoints []*order
	open := map[string]member.HoldResult{}
	openPoints := map[scrm.CustomerID]int64{}
	var replays []replay
	n := 0
	key := func(prefix string) string { n++; return fmt.Sprintf("%s-%d", prefix, n) }

	// do runs a request that must succeed and keeps it for replays.
	do := func(name string, run func() (any, error)) any {
		t.Helper()
		got, err := run()
		require.NoError(t, err, name)
		replays = append(replays, replay{name: name, run: run, want: got})
		return got
	}

	for step := 0; step < steps; step++ {
		c := customers[rng.IntN(len(customers))]
		switch op := rng.IntN(100); {
		case op < 30: // earn
			fen := int64(100 + rng.IntN(80000))
			o := &order{customer: c, id: key("o"), paid: fen}
			if k := len(paidWithPoints); k > 0 && rng.IntN(2) == 0 {
				o.customer, o.id = paidWithPoints[k-1].customer, paidWithPoints[k-1].id
				paidWithPoints = paidWithPoints[:k-1]
				c = o.customer
			}
			req := member.EarnRequest{Tenant: tenant, Customer: c, IdempotencyKey: o.id, OrderID: o.id, Amount: scrm.FromFen(fen)}
			do("earn", func() (any, error) { r, err := f.svc.Earn(ctx, req); r.Replayed = false; return r, err })
			orders = append(orders, o)
		case op < 45: // hold
			q, err := f.svc.Quote(ctx, member.QuoteRequest{Tenant: tenant, Customer: c, OrderAmount: dec("500")})
			require.NoError(t, err)
			if q.Points == 0 {
				continue
			}
			pts := q.Points
			if rng.IntN(2) == 0 {
				pts = max(p.Redeem.MinPoints, (q.Points/2)/50*50)
			}
			req := member.HoldRequest{Tenant: tenant, Customer: c, IdempotencyKey: key("h"), OrderID: key("ho"), Points: pts, OrderAmount: dec("500")}
			h := do("hold", func() (any, error) { r, err := f.svc.Hold(ctx, req); r.Replayed = false; return r, err }).(member.HoldResult)
			open[h.HoldID] = h
			openPoints[c] += pts
		case op < 55: // capture or void an open hold
			for id, h := range open {
				var err error
				if rng.IntN(2) == 0 {
					_, err = f.svc.Capture(ctx, tenant, id)
				} else {
					_, err = f.svc.Void(ctx, tenant, id)
				}
				require.NoError(t, err)
				hr, err := f.store.Hold(ctx, tenant, id)
				require.NoError(t, err)
				openPoints[hr.Customer] -= h.Points
				if hr.State == member.HoldCaptured {
					paidWithPoints = append(paidWithPoints, &order{customer: hr.Customer, id: hr.OrderID})
				}
				delete(open, id)
				break
			}
		case op < 62: // redeem directly
			q, err := f.svc.Quote(ctx, member.QuoteRequest{Tenant: tenant, Customer: c, OrderAmount: dec("80")})
			require.NoError(t, err)
			if q.Points == 0 {
				continue
			}
			req := member.RedeemRequest{Tenant: tenant, Customer: c, IdempotencyKey: key("r"), OrderID: key("ro"), Points: q.Points, OrderAmount: dec("80")}
			do("redeem", func() (any, error) { r, err := f.svc.Redeem(ctx, req); r.Replayed = false; return r, err })
			paidWithPoints = append(paidWithPoints, &order{customer: c, id: req.OrderID})
		case op < 75: // refund part or all of an order
			if len(orders) == 0 {
				continue
			}
			o := orders[rng.IntN(len(orders))]
			left := o.paid - o.refunded
			if left == 0 {
				continue
			}
			amt := left
			if rng.IntN(2) == 0 {
				amt = 1 + rng.Int64N(left)
			}
			req := member.RefundRequest{Tenant: tenant, Customer: o.customer, IdempotencyKey: key("rf"), OrderID: o.id, Amount: scrm.FromFen(amt)}
			do("refund", func() (any, error) { r, err := f.svc.Refund(ctx, req); r.Replayed = false; return r, err })
			o.refunded += amt
		case op < 80: // operator adjustment, sometimes refused
			req := member.AdjustRequest{Tenant: tenant, Customer: c, IdempotencyKey: key("a"),
				Points: rng.Int64N(400) - 200, Growth: rng.Int64N(400) - 200, Reason: "r", Operator: "op"}
			if req.Points == 0 && req.Growth == 0 {
				continue
			}
			run := func() (any, error) { r, err := f.svc.Adjust(ctx, req); r.Replayed = false; return r, err }
			got, err := run()
			if err != nil {
				require.ErrorIs(t, err, scrm.ErrExhausted, "adjust")
				continue
			}
			replays = append(replays, replay{name: "adjust", run: run, want: got})
		case op < 84: // a grant from another package
			g := scrm.Grant{Tenant: tenant, Customer: c, IdempotencyKey: key("g"), Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 1 + rng.Int64N(300)}}
			if rng.IntN(3) == 0 {
				g.Reward.Kind = scrm.RewardGrowth
			}
			do("grant", func() (any, error) { return nil, f.svc.Grant(ctx, g) })
		case op < 90: // sweep
			_, err := f.svc.Sweep(ctx, tenant)
			require.NoError(t, err)
		default: // time passes: hours to weeks
			f.clock.Advance(time.Duration(1+rng.IntN(24*21)) * time.Hour)
		}

		for _, c := range customers {
			checkAccount(t, f, p, c, openPoints[c])
		}
		// Replay an earlier request: same result, nothing changes.
		if len(replays) > 0 {
			r := replays[rng.IntN(len(replays))]
			before := snapshot(t, f, customers)
			got, err := r.run()
			require.NoError(t, err, "replay of %s", r.name)
			want := r.want
			if h, ok := got.(member.HoldResult); ok && r.name == "hold" {
				// A replayed Hold tells the hold's state now, the rest as
				// it was.
				stored, err := f.store.Hold(ctx, tenant, h.HoldID)
				require.NoError(t, err)
				assert.Equal(t, stored.State, h.State, "replay of hold tells its state now")
				w := want.(member.HoldResult)
				w.State = h.State
				want = w
			}
			assert.Equal(t, want, got, "replay of %s returns the original result", r.name)
			assert.Equal(t, before, snapshot(t, f, customers), "replay of %s changes nothing", r.name)
		}
		if t.Failed() {
			t.Fatalf("failed at step %d", step)
		}
	}
}

// snapshot is everything a replay must not change.
func snapshot(t *testing.T, f *fixture, customers []scrm.CustomerID) map[scrm.CustomerID][2]any {
	out := map[scrm.CustomerID][2]any{}
	for _, c := range customers {
		st, err := f.store.Account(context.Background(), tenant, c)
		if errors.Is(err, scrm.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		out[c] = [2]any{st, len(f.journal(t, c))}
	}
	return out
}

func checkAccount(t *testing.T, f *fixture, p member.Program, c scrm.CustomerID, openHolds int64) {
	t.Helper()
	ctx := context.Background()
	st, err := f.store.Account(ctx, tenant, c)
	if errors.Is(err, scrm.ErrNotFound) {
		return
	}
	require.NoError(t, err)
	a := f.account(t, c)

	// The view: balance = live lots - holds - debt.
	var remaining, held int64
	for _, l := range a.Lots {
		remaining += l.Remaining
		held += l.Held
		assert.GreaterOrEqual(t, l.Held, int64(0))
		assert.GreaterOrEqual(t, l.Remaining, l.Held)
	}
	assert.Equal(t, remaining-held-a.Debt, a.Points, "%s: balance = lots - holds - debt", c)
	assert.Equal(t, held, a.Held, "%s: held = the lots' held points", c)
	assert.Equal(t, openHolds, a.Held, "%s: held = the open holds", c)
	if p.Debt != member.AllowNegative {
		assert.GreaterOrEqual(t, a.Points, int64(0), "%s: no debt without AllowNegative", c)
		assert.Zero(t, a.Debt)
	}
	assert.GreaterOrEqual(t, a.Growth, int64(0))
	// The Rolling window never holds more growth than the account.
	var window int64
	for _, m := range st.Rolling {
		assert.Positive(t, m.Growth, "%s: month %d of the window", c, m.Month)
		window += m.Growth
	}
	assert.LessOrEqual(t, window, st.Growth, "%s: window growth <= growth", c)
	assert.LessOrEqual(t, a.TierGrowth, a.Growth, "%s: tier growth <= growth", c)
	if a.Debt > 0 {
		assert.Equal(t, -a.Debt, a.Points, "%s: no free points while in debt", c)
	}

	// The journal explains the stored state, lot by lot.
	var points, heldSum, debt, growth, unclawed, cameBack int64
	lots := map[int64][2]int64{}
	// When the points that came back left the balance (a voided hold's
	// creation, the latest spend of a refunded order), and the parts of
	// Unclawed by when clawbacks forgave them (see
	// AccountState.UnclawedParts: at most 8, the two oldest merged at the
	// older time).
	var cameAt time.Time
	var parts []member.UnclawedPart
	heldAt, spentAt := map[string]time.Time{}, map[string]time.Time{}
	for i, e := range f.journal(t, c) {
		assert.Equal(t, int64(i+1), e.Seq, "%s: entries numbered without gaps", c)
		switch e.Kind {
		case member.EntryHold:
			heldAt[e.HoldID] = e.At
		case member.EntrySpend, member.EntryCapture:
			at := e.At
			if e.Kind == member.EntryCapture {
				at = heldAt[e.HoldID]
			}
			if at.After(spentAt[e.OrderID]) {
				spentAt[e.OrderID] = at
			}
		}
		switch {
		case e.Kind == member.EntryClawback && e.Note == "unclawed":
			assert.LessOrEqual(t, -e.Points, cameBack, "%s: entry %d takes Unclawed only from points that came back", c, e.Seq)
			var since int64
			for i := len(parts) - 1; i >= 0 && !parts[i].At.Before(cameAt); i-- {
				since += parts[i].Points
			}
			assert.LessOrEqual(t, -e.Points, since, "%s: entry %d takes only what clawbacks forgave since the points were held or spent", c, e.Seq)
			for pay := -e.Points; pay > 0 && len(parts) > 0; {
				last := &parts[len(parts)-1]
				n := min(last.Points, pay)
				last.Points -= n
				pay -= n
				if last.Points == 0 {
					parts = parts[:len(parts)-1]
				}
			}
			assert.Zero(t, e.Forgiven)
			unclawed += e.Points
			cameBack = 0
		case e.Kind == member.EntryClawback:
			unclawed += e.Forgiven
			if e.Forgiven > 0 && p.Debt != member.AllowNegative {
				switch n := len(parts); {
				case n > 0 && !parts[n-1].At.Before(e.At):
					parts[n-1].Points += e.Forgiven
					parts[n-1].At = e.At
				case n == 8:
					parts[0].Points += parts[1].Points
					parts = append(parts[:1], parts[2:]...)
					fallthrough
				default:
					parts = append(parts, member.UnclawedPart{At: e.At, Points: e.Forgiven})
				}
			}
			cameBack = 0
		case e.Kind == member.EntryVoid || e.Kind == member.EntryRefund:
			cameBack = e.Points
			if cameAt = spentAt[e.OrderID]; e.Kind == member.EntryVoid {
				cameAt = heldAt[e.HoldID]
			}
		case e.Kind == member.EntryExpire:
			cameBack = max(cameBack+e.Points, 0) // a voided hold's expired lots
		default:
			cameBack = 0
		}
		points += e.Points
		heldSum += e.Held
		debt += e.Debt
		growth += e.Growth
		var free int64
		for _, m := range e.Lots {
			v := lots[m.Lot]
			lots[m.Lot] = [2]int64{v[0] + m.Points, v[1] + m.Held}
			free += m.Points - m.Held
		}
		assert.Equal(t, e.Points, free-e.Debt, "%s: entry %d (%s) points = its lot moves - debt", c, e.Seq, e.Kind)
	}
	assert.Equal(t, st.Points(), points, "%s: journal points", c)
	assert.Equal(t, st.Held, heldSum, "%s: journal held", c)
	assert.Equal(t, st.Debt, debt, "%s: journal debt", c)
	assert.Equal(t, st.Growth, growth, "%s: journal growth", c)
	assert.GreaterOrEqual(t, st.Unclawed, int64(0), "%s: Unclawed", c)
	assert.Equal(t, st.Unclawed, a.Unclawed, "%s: Account.Unclawed", c)
	if p.Debt == member.AllowNegative {
		assert.Zero(t, st.Unclawed, "%s: AllowNegative records debt, not Unclawed", c)
	} else {
		assert.Equal(t, st.Unclawed, unclawed, "%s: journal Unclawed (forgiven - taken)", c)
		var sum int64
		for i, part := range st.UnclawedParts {
			assert.Positive(t, part.Points, "%s: UnclawedParts[%d]", c, i)
			sum += part.Points
		}
		assert.Equal(t, st.Unclawed, sum, "%s: UnclawedParts add up to Unclawed", c)
		if assert.Len(t, st.UnclawedParts, len(parts), "%s: UnclawedParts", c) {
			for i := range parts {
				assert.True(t, parts[i].At.Equal(st.UnclawedParts[i].At), "%s: UnclawedParts[%d].At", c, i)
				assert.Equal(t, parts[i].Points, st.UnclawedParts[i].Points, "%s: UnclawedParts[%d].Points", c, i)
			}
		}
	}
	live := map[int64]bool{}
	for _, l := range st.Lots {
		live[l.ID] = true
		assert.Equal(t, [2]int64{l.Remaining, l.Held}, lots[l.ID], "%s: lot %d explained by its moves", c, l.ID)
	}
	for id, v := range lots {
		if !live[id] {
			assert.Equal(t, [2]int64{0, 0}, v, "%s: lot %d is gone, so its moves net to zero", c, id)
		}
	}
}
