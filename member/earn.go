package member

import (
	"context"
	"fmt"
	"math/bits"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// EarnRequest credits the points and growth value of a paid order.
type EarnRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	OrderID        string
	// Amount is the amount paid, in yuan (what points and growth are
	// computed on; a part paid with points is usually left out).
	Amount decimal.Decimal
	// Items are the order lines, for category multipliers; optional.
	Items []scrm.OrderItem
	// At is when the order was paid; zero means now. It decides the member
	// day, the expiry of the points and the Rolling month of the growth.
	At time.Time
}

// EarnResult is what an Earn (or an event rule award) credited.
type EarnResult struct {
	// Points is what the order earned; debt, if any, was repaid from it
	// first (see the entry's Debt).
	Points int64
	Growth int64
	// Clawed and GrowthClawed are what the order's earlier refunds took
	// back at once (see Earn); usually 0.
	Clawed       int64
	GrowthClawed int64
	// ExpiresAt is when the points expire, in the tenant's zone; zero for
	// never.
	ExpiresAt time.Time
	// TierChange is the net tier change the request caused, nil for none.
	TierChange *TierChange
	Balance    Balance
	// Entries are the journal entries the request wrote.
	Entries []Entry
	// Replayed tells that the key was seen before: nothing changed and this
	// is the original result.
	Replayed bool
}

// maxAmountFen bounds request amounts (¥10 billion) so that points stay far
// inside int64.
const maxAmountFen = 10_000_000_000 * 100

func checkAmount(op, field string, d decimal.Decimal) error {
	_, err := checkFen(op, field, d)
	return err
}

// checkFen is checkAmount that also returns the amount in fen, for callers
// that compute with it (converting a decimal is not free).
func checkFen(op, field string, d decimal.Decimal) (int64, error) {
	fen, ok := scrm.ToFen(d)
	switch {
	case !d.IsPositive():
		return 0, scrm.Invalid(op, field, "must be positive, got %s", d)
	case !ok && !scrm.IsFen(d):
		return 0, scrm.Invalid(op, field, "at most 2 decimal places (fen), got %s", d)
	case !ok || fen > maxAmountFen:
		return 0, scrm.Invalid(op, field, "must be at most %s, got %s", scrm.FromFen(maxAmountFen), d)
	}
	return fen, nil
}

func checkIDs(op string, tenant scrm.TenantID, customer scrm.CustomerID, key string) error {
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return err
	}
	return scrm.CheckID(op, "IdempotencyKey", key)
}

// Earn credits the points and growth value of a paid order (see EarnRule
// and GrowthRule for the arithmetic), re-evaluates the tier (upgrades are
// immediate; rewards go through Options.Rewarder) and remembers the order
// for refunds. An order earns once: a second Earn for the same OrderID with
// another key fails with ErrConflict. When refunds of the order came first
// (Handle remembers a refund delivered before its order.paid; a refund of
// an order that had only redeemed points), Earn undoes their share at once,
// measured against Amount (see Refund): it gives back the points spent on
// the order that those refunds did not (they measured against what was
// known then: the OrderAmount, else what the points paid), in an
// EntryRefund, or takes back from the balance those they gave back beyond
// that share (an EntryClawback noted "over-returned"; what the balance
// cannot cover is forgiven or becomes debt as the Debt policy says, see
// Refund), then takes back the share of what the order earned: the
// result's Points is what the order earned, and Clawed and GrowthClawed
// what was taken back. Refunds beyond Amount count as Amount.
//
// The member day and the points' expiry follow At, but the tier
// multiplier is that of the tier the account holds when Earn runs: orders
// earned out of their order (a queue delivering Tuesday's order.paid
// before Monday's, which lifted the customer to 银卡) earn at the tier of
// their turn, and points already earned are not recomputed when an earlier
// order processed later changes the tier. Keeping a tier history to judge
// each order at its own time would let a late event rewrite points a
// customer may have spent already.
//
// Errors: ErrInvalid for a malformed request (Amount not positive or below
// the fen, At in the future); ErrNotFound when the tenant has no program;
// ErrConflict for a key reused with another payload or an order already
// earned.
func (s *Service) Earn(ctx context.Context, req EarnRequest) (EarnResult, error) {
	const op = "member.Earn"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return EarnResult{}, err
	}
	if err := scrm.CheckID(op, "OrderID", req.OrderID); err != nil {
		return EarnResult{}, err
	}
	fen, err := checkFen(op, "Amount", req.Amount)
	if err != nil {
		return EarnResult{}, err
	}
	for i, it := range req.Items {
		if it.Quantity <= 0 {
			return EarnResult{}, scrm.Invalid(op, fmt.Sprintf("Items[%d].Quantity", i), "must be positive, got %d", it.Quantity)
		}
		if fen, ok := scrm.ToFen(it.Price); !ok || fen < 0 || fen > maxAmountFen {
			return EarnResult{}, scrm.Invalid(op, fmt.Sprintf("Items[%d].Price", i), "must be a non-negative amount in fen, got %s", it.Price)
		}
	}
	now := s.clock.Now()
	at, err := checkAt(op, req.At, now)
	if err != nil {
		return EarnResult{}, err
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.OrderID).fen(fen).items(req.Items).time(req.At).sum()
	out, replayed, err := s.updateArgs(ctx, op, UpdateParams{
		Tenant: req.Tenant, Customer: req.Customer, IdempotencyKey: req.IdempotencyKey, Fingerprint: fp, OrderID: req.OrderID,
	}, earnStep, earnArgs{orderID: req.OrderID, amount: req.Amount, fen: fen, items: req.Items, at: at}, grantArgs{})
	return earnResult(out, replayed, s.opts.LocationOf(req.Tenant)), err
}

// earnStep is Earn's step: earnOrder with the engine's earn arguments.
func earnStep(e *engine) error {
	return e.earnOrder(e.earn.orderID, e.earn.amount, e.earn.fen, e.earn.items, e.earn.at)
}

// earnOrder credits an order of amount (fen in fen) paid at at.
func (e *engine) earnOrder(orderID string, amount decimal.Decimal, fen int64, items []scrm.OrderItem, at time.Time) error {
	o := e.tx.Order
	if o != nil && o.Earned {
		return scrm.Errorf(scrm.ErrConflict, "member.Earn", "order %q already earned", orderID)
	}
	if o == nil {
		o = e.tx.newOrder(orderID)
		e.tx.Order = o
	}
	points := e.c.orderPoints(amount, fen, items, e.c.tierIndex(e.a.Tier), at)
	growth := e.c.rateFloor(amount, fen, e.c.p.Growth.PerYuan, e.c.growthInt)
	if points > maxPoints || growth > maxPoints {
		return scrm.Invalid("member.Earn", "Amount", "%s earns more points or growth than an account can hold", amount)
	}
	if err := checkRoom("member.Earn", e.a, "Amount", points, "Amount", growth); err != nil {
		return err
	}
	ent := e.entry(EntryEarn)
	ent.OrderID = orderID
	exp := e.c.expiry(at)
	o.Lot = credit(e.a, ent, points, exp, at.UnixNano(), 0)
	o.Month = e.addGrowth(ent, growth, at)
	o.Earned, o.Paid, o.EarnedAt, o.Points, o.Growth = true, amount, at, points, growth
	if o.Refunded.IsPositive() {
		// Refunds delivered before the order (Handle remembers them), or
		// made when it had only redeemed points: undo their share now,
		// against the amount paid, all of it when they refunded the whole
		// amount or more. They gave back the points spent on the order
		// against what was known then (OrderAmount, SpentValue): the rest
		// of their share comes back now, as a refund after this Earn
		// would have given it back, and what they gave back beyond it is
		// taken back, so that the order of the events changes nothing.
		r := decimal.Min(o.Refunded, amount)
		e.returnSpent(orderID, o, r, amount)
		e.takeOverReturned(orderID, o, r, amount)
		e.clawBack(orderID, o, r, amount)
		o.Refunded = r
	}
	e.evaluate(e.now, upOnly, "upgrade", rewardGrant)
	return nil
}

// rateFloor returns floor(amount × rate), in integers when rate is a whole
// number (rateInt >= 0) and amount, which is fen fen, is small enough.
func (c *compiled) rateFloor(amount decimal.Decimal, fen int64, rate decimal.Decimal, rateInt int64) int64 {
	if rateInt >= 0 && fen >= 0 && fen < 1<<40 && rateInt < 1<<20 {
		return fen * rateInt / 100
	}
	return clampPoints(amount.Mul(rate).Floor())
}

// orderPoints computes the points of an order (see EarnRule).
func (c *compiled) orderPoints(amount decimal.Decimal, fen int64, items []scrm.OrderItem, tier int, at time.Time) int64 {
	base := c.rateFloor(amount, fen, c.p.Earn.PointsPerYuan, c.rateInt)
	if base == 0 {
		return 0
	}
	wd := c.dayOf(at).weekday
	if len(c.p.Earn.Categories) == 0 || len(items) == 0 {
		// The common case in integers: base × tier × day in millionths.
		mt, md := uint64(1_000_000), uint64(1_000_000)
		if tier >= 0 {
			mt = c.multMicro[tier]
		}
		if c.hasDay[wd] {
			md = c.dayMicro[wd]
		}
		if hi, lo := bits.Mul64(uint64(base), mt); hi == 0 {
			if hi, lo = bits.Mul64(lo, md); hi < 1_000_000_000_000 {
				q, _ := bits.Div64(hi, lo, 1_000_000_000_000)
				if q <= uint64(maxPoints) {
					return int64(q)
				}
			}
		}
	}
	one := decimal.NewFromInt(1)
	num := decimal.NewFromInt(base)
	scaled := false
	if tier >= 0 && !c.mult[tier].Equal(one) {
		num, scaled = num.Mul(c.mult[tier]), true
	}
	if c.hasDay[wd] {
		num, scaled = num.Mul(c.day[wd]), true
	}
	if len(c.p.Earn.Categories) > 0 && len(items) > 0 {
		var weights, weighted decimal.Decimal
		for _, it := range items {
			w := it.Price.Mul(decimal.NewFromInt(int64(it.Quantity)))
			weights = weights.Add(w)
			if m, ok := c.p.Earn.Categories[it.Category]; ok {
				weighted = weighted.Add(w.Mul(m))
			} else {
				weighted = weighted.Add(w)
			}
		}
		if weights.IsPositive() && !weighted.Equal(weights) {
			q, _ := num.Mul(weighted).QuoRem(weights, 0)
			return clampPoints(q)
		}
	}
	if !scaled {
		return base
	}
	return clampPoints(num.Floor())
}

// clampPoints converts a whole decimal of points to int64, as maxPoints+1
// when it is larger than the ledger holds.
func clampPoints(d decimal.Decimal) int64 {
	if d.GreaterThan(decimal.NewFromInt(maxPoints)) {
		return maxPoints + 1
	}
	return d.IntPart()
}

func earnResult(out Outcome, replayed bool, loc *time.Location) EarnResult {
	r := EarnResult{Balance: out.After, Entries: out.Entries, Replayed: replayed, TierChange: netTierChange(out.Entries)}
	for i := range out.Entries {
		e := &out.Entries[i]
		if e.Kind == EntryEarn || e.Kind == EntryGrant || e.Kind == EntryAdjust || e.Kind == EntryImport {
			r.Points += e.Points
			r.Growth += e.Growth
			for _, m := range e.Lots {
				if m.Points > 0 && m.Expiry != 0 && (r.ExpiresAt.IsZero() || m.Expiry < r.ExpiresAt.UnixNano()) {
					r.ExpiresAt = m.ExpiresAt().In(loc)
				}
			}
		} else if e.Kind == EntryClawback {
			r.Clawed -= e.Points
			r.GrowthClawed -= e.Growth
		}
	}
	return r
}

// netTierChange returns the tier change from the first tier entry's From to
// the last one's To, or nil when there is none or it nets out.
func netTierChange(entries []Entry) *TierChange {
	var tc *TierChange
	for i := range entries {
		e := &entries[i]
		if e.Kind != EntryTier {
			continue
		}
		if tc == nil {
			tc = &TierChange{From: e.From}
		}
		tc.To = e.To
	}
	if tc != nil && tc.From == tc.To {
		return nil
	}
	return tc
}
