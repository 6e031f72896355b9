package member

import (
	"context"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// RefundRequest reports a (partial) refund of an order.
type RefundRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	OrderID        string
	// Amount is the amount refunded, in yuan: a share of what the order
	// paid (the Amount its Earn credited on, or, for an order that only
	// redeemed points, the OrderAmount of its hold or redemption, or,
	// when none gave one, what its captured and redeemed points paid:
	// ¥5.00 for 500 points at 100 points a yuan). More than what is left
	// of that is ErrInvalid naming Amount (but for an order.refunded
	// event of an order not earned yet, which Handle remembers whole).
	Amount decimal.Decimal
}

// RefundResult is what a refund gave back and took back.
type RefundResult struct {
	// Returned is the spent points given back to their lots; Forfeited
	// the spent points not given back because their lot had expired.
	Returned  int64
	Forfeited int64
	// Clawed is the points taken back, including those the returned points
	// paid of what earlier clawbacks could not take (Account.Unclawed);
	// Debt is the part of it the balance could not cover and AllowNegative
	// recorded as debt; Forgiven is what TakeRemaining wrote off instead
	// (not part of Clawed), which is added to Account.Unclawed.
	Clawed   int64
	Debt     int64
	Forgiven int64
	// GrowthClawed is the growth value taken back (never below zero).
	GrowthClawed int64
	TierChange   *TierChange
	Balance      Balance
	Entries      []Entry
	Replayed     bool
}

// Refund undoes an order in proportion to the refunded amount. With R the
// total refunded so far (this refund included) and P the order's paid
// amount, each of the order's earned points, earned growth and spent points
// is undone to floor(x × R / P) in total, so partial refunds never undo more
// than the whole and a full refund undoes exactly everything. A refund
// undoes that total less what earlier refunds undid, so points spent on the
// order after a partial refund (a hold captured later) are given back by
// the refunds that follow: in full once the whole order is refunded (after
// a full refund, by the capture itself: see Capture).
//
// Points spent on the order are given back first, to the lots they came from
// (the latest-expiring first), unless a lot has expired since: those points
// are forfeited. Then the earned points are clawed back, from the order's own
// lot first, then in spending order; what the balance cannot cover is
// forgiven (TakeRemaining, the default) or recorded as debt (AllowNegative),
// as the program's Debt policy says and the entry records. What
// TakeRemaining forgives is remembered (AccountState.Unclawed) and taken
// from points that come back to the account without being earned: the
// points a Void releases, and the spent points a refund returns, which
// therefore pay it off (an EntryClawback noted "unclawed") before this
// order's own clawback, but only what clawbacks made since the points were
// held or spent forgave (AccountState.UnclawedParts). New points never pay
// it. Growth value is
// clawed back (never below zero) and the tier re-evaluated: under every
// policy and Downgrade mode it goes straight to the tier the remaining
// growth qualifies for. Under Rolling the growth leaves the window
// only if the order counted in it: an order earned before the window (a
// late order.paid) or before the policy became Rolling takes back growth
// but none of the window's (see removeGrowth).
//
// Errors: ErrInvalid for a malformed request or an Amount over what is left
// to refund; ErrNotFound for an order the ledger never saw, or saw only in
// refunds Handle remembered (not earned, nothing held or spent on it, no
// OrderAmount: Handle instead remembers such a refund for the order's
// Earn); ErrConflict for a reused key.
func (s *Service) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	return s.refundOrder(ctx, "member.Refund", req, false)
}

// refundOrder is Refund; with early, a refund of an order the ledger has
// not seen is recorded to be taken back when the order is earned (see
// Handle) rather than refused.
func (s *Service) refundOrder(ctx context.Context, op string, req RefundRequest, early bool) (RefundResult, error) {
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return RefundResult{}, err
	}
	if err := scrm.CheckID(op, "OrderID", req.OrderID); err != nil {
		return RefundResult{}, err
	}
	if err := checkAmount(op, "Amount", req.Amount); err != nil {
		return RefundResult{}, err
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.OrderID).dec(req.Amount).sum()
	out, replayed, err := s.update(ctx, op, UpdateParams{
		Tenant: req.Tenant, Customer: req.Customer, IdempotencyKey: req.IdempotencyKey, Fingerprint: fp, OrderID: req.OrderID,
	}, func(e *engine) error {
		return e.refund(op, req.OrderID, req.Amount, early)
	})
	r := RefundResult{Balance: out.After, Entries: out.Entries, Replayed: replayed, TierChange: netTierChange(out.Entries)}
	for i := range out.Entries {
		ent := &out.Entries[i]
		switch ent.Kind {
		case EntryRefund:
			r.Returned += ent.Points
			r.Forfeited += ent.Forfeited
		case EntryClawback:
			r.Clawed -= ent.Points
			r.Debt += ent.Debt
			r.Forgiven += ent.Forgiven
			r.GrowthClawed -= ent.Growth
		}
	}
	return r, err
}

// proportion returns floor(x × r / base).
func proportion(x int64, r, base decimal.Decimal) int64 {
	if x == 0 || r.IsZero() {
		return 0
	}
	q, _ := decimal.NewFromInt(x).Mul(r).QuoRem(base, 0)
	return q.IntPart()
}

func (e *engine) refund(op, orderID string, amount decimal.Decimal, early bool) error {
	o := e.tx.Order
	if o == nil {
		if !early {
			return scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no order %q", e.a.Customer, orderID)
		}
		o = e.tx.newOrder(orderID)
		e.tx.Order = o
	}
	base := o.refundBase()
	if !o.Earned {
		if early {
			// A refund delivered before its order.paid: remembered, and
			// taken back when the order is earned (earnOrder), against
			// the amount paid, which may be more than what is known now.
			// The points spent on the order are given back now, against
			// what is known now; earnOrder gives back the rest.
			o.Refunded = o.Refunded.Add(amount)
			if base.IsPositive() {
				e.returnSpent(orderID, o, decimal.Min(o.Refunded, base), base)
			}
			return nil
		}
		if !base.IsPositive() && o.Held == 0 && o.Spent == 0 {
			// Only refunds Handle remembered: the order is yet to come.
			return scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no paid order %q", e.a.Customer, orderID)
		}
	}
	if !base.IsPositive() {
		return scrm.Invalid(op, "OrderID", "order %q has no paid amount to refund against", orderID)
	}
	was := o.Refunded
	now := was.Add(amount)
	if now.GreaterThan(base) {
		return scrm.Invalid(op, "Amount", "%s exceeds the %s left to refund on order %q", amount, decimal.Max(base.Sub(was), decimal.Zero), orderID)
	}
	e.returnSpent(orderID, o, now, base)
	gc := e.clawBack(orderID, o, now, base)
	o.Refunded = now
	if gc > 0 {
		e.evaluate(e.now, byLoss, "downgrade", rewardGrant)
	}
	return nil
}

// refundBase returns what refunds of the order o are measured against
// (see RefundRequest.Amount): the amount its Earn credited on, else its
// OrderAmount, else what its spent points paid (a points-only order).
func (o *OrderRecord) refundBase() decimal.Decimal {
	switch {
	case o.Earned:
		return o.Paid
	case o.OrderAmount.IsPositive():
		return o.OrderAmount
	}
	return o.SpentValue
}

// returnSpent gives back the points spent on the order o, latest-expiring
// first, to floor(Spent × refunded / base) in total, less what was given
// back before; those whose lot has expired since are forfeited. The points
// that come back pay off AccountState.Unclawed first (see takeUnclawed).
func (e *engine) returnSpent(orderID string, o *OrderRecord, refunded, base decimal.Decimal) {
	ret := proportion(o.Spent, refunded, base) - o.Returned
	if ret <= 0 {
		return
	}
	before := e.a.Points()
	ent := e.entry(EntryRefund)
	ent.OrderID = orderID
	for left := ret; left > 0 && len(o.SpentLots) > 0; {
		m := &o.SpentLots[len(o.SpentLots)-1]
		t := min(-m.Points, left)
		if m.Expiry != 0 && m.Expiry <= e.now.UnixNano() {
			ent.Forfeited += t
		} else {
			ent.Forfeited += creditReturn(e.a, ent, t, m.Expiry, e.now.UnixNano(), m.Lot)
		}
		m.Points += t
		left -= t
		if m.Points == 0 {
			o.SpentLots = o.SpentLots[:len(o.SpentLots)-1]
		}
	}
	o.Returned += ret
	e.takeUnclawed(orderID, "", e.a.Points()-before, o.SpentAt)
}

// clawBack takes back what the order o earned, to floor(x × refunded /
// base) in total of its points and growth, less what was taken back
// before, and returns the growth it took.
func (e *engine) clawBack(orderID string, o *OrderRecord, refunded, base decimal.Decimal) int64 {
	pc := max(proportion(o.Points, refunded, base)-o.PointsClawed, 0)
	gc := max(proportion(o.Growth, refunded, base)-o.GrowthClawed, 0)
	if pc > 0 || gc > 0 {
		ent := e.entry(EntryClawback)
		ent.OrderID = orderID
		if pc > 0 {
			e.takeBack(ent, pc, o.Lot)
		}
		if gc > 0 {
			month := o.Month
			if month == 0 {
				month = notInWindow // earned before the window, or before Rolling
			}
			e.removeGrowth(ent, gc, month)
		}
		o.PointsClawed += pc
		o.GrowthClawed += gc
	}
	return gc
}

// takeBack takes n points from the balance in the clawback entry ent,
// from lot first: what the balance cannot cover becomes Debt under
// AllowNegative, else is forgiven and added to AccountState.Unclawed, to be
// taken from the held or spent points when they come back.
func (e *engine) takeBack(ent *Entry, n, first int64) {
	took := spend(e.a, ent, min(n, max(e.a.Points(), 0)), first)
	short := n - took
	if short <= 0 {
		return
	}
	if e.c.debt() == AllowNegative {
		owed := min(short, maxBalancePoints-e.a.Debt) // see maxBalancePoints
		e.a.Debt += owed
		ent.Debt += owed
		ent.Points -= owed
		ent.Forgiven = short - owed
		return
	}
	ent.Forgiven = short
	// Held or spent points: taken when they come back (those that left
	// the balance by now).
	e.a.addUnclawed(short, e.now)
}

// noteOverReturned is the Note of the clawback entries that take back the
// spent points a refund delivered before order.paid gave back beyond the
// share the paid amount gives them (see earnOrder).
const noteOverReturned = "over-returned"

// takeOverReturned takes back the points spent on the order o that earlier
// refunds gave back beyond floor(Spent × refunded / base) (an early refund
// measured against less than the amount paid), in an EntryClawback noted
// "over-returned", from the balance (see takeBack for what it cannot
// cover). The points taken count as spent on the order again, for the
// refunds that follow to give back.
func (e *engine) takeOverReturned(orderID string, o *OrderRecord, refunded, base decimal.Decimal) {
	over := o.Returned - proportion(o.Spent, refunded, base)
	if over <= 0 {
		return
	}
	ent := e.entry(EntryClawback)
	ent.OrderID, ent.Note = orderID, noteOverReturned
	e.takeBack(ent, over, 0)
	spent := slices.Clip(o.SpentLots) // never into an entry's moves
	for _, m := range ent.Lots {
		if m.Points < 0 {
			spent = append(spent, m)
		}
	}
	o.SpentLots = spent
	o.Returned -= over
}

// noteUnclawed is the Note of the clawback entries that pay off
// AccountState.Unclawed.
const noteUnclawed = "unclawed"

// takeUnclawed pays off Unclawed from points that just came back to the
// account without being earned (a Void's released points, a refund's
// returned ones): gained is how much they raised the balance, left when
// they left the balance (were held or spent). They pay only the parts of
// Unclawed forgiven at or after left (AccountState.UnclawedParts), the
// latest first: the clawbacks then may have missed them; to the earlier
// ones they are new points. It takes up to gained, never more than the
// balance, in an EntryClawback noted "unclawed" with the order (and hold)
// they came back from, and returns how much it took.
func (e *engine) takeUnclawed(orderID, holdID string, gained int64, left time.Time) int64 {
	if e.a.Unclawed <= 0 || gained <= 0 {
		return 0
	}
	t := min(e.a.unclawedSince(left), gained, max(e.a.Points(), 0))
	if t <= 0 {
		return 0
	}
	ent := e.entry(EntryClawback)
	ent.OrderID, ent.HoldID, ent.Note = orderID, holdID, noteUnclawed
	took := spend(e.a, ent, t, 0)
	e.a.payUnclawed(took)
	return took
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
