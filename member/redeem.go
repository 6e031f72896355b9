package member

import (
	"context"
	"errors"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// QuoteRequest asks how many points a customer can use on an order.
type QuoteRequest struct {
	Tenant      scrm.TenantID
	Customer    scrm.CustomerID
	OrderAmount decimal.Decimal
}

// Quote is the most points a customer can use on an order under the redeem
// rule, and what they pay.
type Quote struct {
	// Points is the maximum usable: the smaller of the spendable balance
	// and the MaxShare of the order, rounded down to a multiple of Step,
	// or 0 when that is below MinPoints.
	Points int64
	// Value is what Points pay, in yuan.
	Value decimal.Decimal
	// Balance is the spendable balance.
	Balance int64
	// MaxByShare is the most the order's MaxShare allows, in points
	// (a multiple of Step).
	MaxByShare int64
	// MinPoints and Step repeat the rule, for the checkout UI.
	MinPoints int64
	Step      int64
}

// Quote returns the most points the customer can use on an order of
// OrderAmount. A customer without an account, or a tenant whose program has
// redemption disabled, gets a zero Quote.
//
// Errors: ErrInvalid for a malformed request; ErrNotFound when the tenant has
// no program.
func (s *Service) Quote(ctx context.Context, req QuoteRequest) (Quote, error) {
	const op = "member.Quote"
	if err := scrm.CheckID(op, "Tenant", string(req.Tenant)); err != nil {
		return Quote{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
		return Quote{}, err
	}
	if err := checkAmount(op, "OrderAmount", req.OrderAmount); err != nil {
		return Quote{}, err
	}
	c, err := s.program(ctx, op, req.Tenant)
	if err != nil {
		return Quote{}, err
	}
	r := c.p.Redeem
	q := Quote{Value: decimal.Zero, MinPoints: r.MinPoints, Step: r.step()}
	if r.PointsPerYuan <= 0 {
		return q, nil
	}
	st, err := s.liveAccount(ctx, op, c, req.Tenant, req.Customer)
	if errors.Is(err, scrm.ErrNotFound) {
		err = nil
	}
	if err != nil {
		return Quote{}, err
	}
	if st != nil {
		q.Balance = st.Points()
	}
	step := r.step()
	q.MaxByShare = shareLimit(r, req.OrderAmount) / step * step
	q.Points = min(max(q.Balance, 0), q.MaxByShare) / step * step
	if q.Points < r.MinPoints {
		q.Points = 0
	}
	q.Value = r.Value(q.Points)
	return q, nil
}

// shareLimit is the most points MaxShare lets pay an order of amount:
// floor(amount × MaxShare × PointsPerYuan).
func shareLimit(r RedeemRule, amount decimal.Decimal) int64 {
	return amount.Mul(r.maxShare()).Mul(decimal.NewFromInt(r.PointsPerYuan)).Floor().IntPart()
}

// HoldRequest reserves points for an order at checkout.
type HoldRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	OrderID        string
	Points         int64
	// OrderAmount is the order's amount in yuan, for the MaxShare rule:
	// required when the program's MaxShare is below 1; when given, the
	// points of all open and captured holds of the order may not pay more
	// than MaxShare of it. It is also what refunds of an order that earned
	// nothing are shares of; when no hold or redemption of the order gave
	// one, that is what the order's captured and redeemed points paid
	// (HoldResult.Value), e.g. ¥5.00 for an order paid entirely with 500
	// points at 100 points a yuan (see RefundRequest).
	OrderAmount decimal.Decimal
}

// HoldResult describes a hold (or a direct redemption).
type HoldResult struct {
	HoldID string
	Points int64
	// Value is what the points pay, in yuan, under the redeem rule of the
	// program the hold or redemption was made under: a replay returns it
	// unchanged after the program changed.
	Value decimal.Decimal
	// State is the hold's state; for a replayed Hold, its state now (see
	// Hold).
	State HoldState
	// Clawed is, for a Void, the released points taken back at once to pay
	// off what earlier refunds could not claw back (see Void); 0 otherwise.
	Clawed  int64
	Balance Balance
	Entries []Entry
	// Replayed tells that nothing changed: the key was seen before, or the
	// hold was already in the requested state.
	Replayed bool
}

// checkRedeem validates a redemption of points against the rule: positive,
// at least MinPoints, a multiple of Step.
func checkRedeem(op string, c *compiled, points int64, orderAmount decimal.Decimal) error {
	r := c.p.Redeem
	if r.PointsPerYuan <= 0 {
		return scrm.Errorf(scrm.ErrForbidden, op, "tenant %q does not allow redeeming points", c.p.Tenant)
	}
	if points <= 0 || points > maxPoints {
		return scrm.Invalid(op, "Points", "must be positive, got %d", points)
	}
	if points < r.MinPoints {
		return scrm.Invalid(op, "Points", "%d is below the minimum of %d points per use (Redeem.MinPoints)", points, r.MinPoints)
	}
	if points%r.step() != 0 {
		return scrm.Invalid(op, "Points", "%d is not a multiple of %d (Redeem.Step)", points, r.step())
	}
	if !orderAmount.IsZero() {
		if err := checkAmount(op, "OrderAmount", orderAmount); err != nil {
			return err
		}
	} else if r.maxShare().LessThan(decimal.NewFromInt(1)) {
		return scrm.Invalid(op, "OrderAmount", "required by the %s%% cap of Redeem.MaxShare", r.maxShare().Shift(2))
	}
	return nil
}

// redeemOnOrder checks the MaxShare cap of the order against what its holds
// and redemptions already use, and the balance.
func (e *engine) redeemOnOrder(op, orderID string, points int64, orderAmount decimal.Decimal) (*OrderRecord, error) {
	o := e.tx.Order
	if o == nil {
		o = e.tx.newOrder(orderID)
	}
	if base := o.refundBase(); base.IsPositive() && !o.Refunded.LessThan(base) {
		// Points spent now could never be given back: no refund is left.
		return nil, scrm.Errorf(scrm.ErrConflict, op, "order %q was refunded in full; its points cannot pay for it", orderID)
	}
	if !orderAmount.IsZero() {
		used := o.Held + o.Spent - o.Returned
		limit := shareLimit(e.c.p.Redeem, orderAmount)
		if used+points > limit {
			return nil, scrm.Invalid(op, "Points", "%d points (with %d already on the order) exceed the %s%% of ¥%s points may pay, %d points (Redeem.MaxShare)",
				points, used, e.c.p.Redeem.maxShare().Shift(2), orderAmount, limit)
		}
		o.OrderAmount = orderAmount
	}
	if avail := e.a.Points(); avail < points {
		return nil, scrm.Errorf(scrm.ErrExhausted, op, "%d points requested, %d available", points, max(avail, 0))
	}
	e.tx.Order = o
	return o, nil
}

// Hold reserves points for an order: they leave the spendable balance at
// once and are taken from the lots in spending order (soonest expiry first),
// where they stay, marked held, until Capture spends them or Void releases
// them.
//
// Held points cannot expire out from under a hold: a lot's held points are
// exempt from expiry while the hold is open, so a Capture always gets all of
// them. Holding does not extend their life, though: when Void releases
// points whose lot expired meanwhile, they expire then (an "expire" entry
// and a points.expired event follow the "void" entry), exactly as if they had
// never been held. A hold stays open until captured or voided; hosts void
// the holds of abandoned checkouts.
//
// A request replayed with its key returns the original result, except
// State, which is the hold's state now: HoldCaptured or HoldVoided when it
// was captured or voided since, so that a checkout retried with the key of
// a failed attempt sees that its points are no longer held.
//
// Errors: ErrInvalid naming the rule for points that are not positive, below
// Redeem.MinPoints, not a multiple of Redeem.Step, or over Redeem.MaxShare of
// the order; ErrExhausted when the balance is short; ErrForbidden when the
// program does not allow redemption; ErrConflict for a reused key, or for
// an order already refunded in full (points spent on it could never be
// given back).
func (s *Service) Hold(ctx context.Context, req HoldRequest) (HoldResult, error) {
	const op = "member.Hold"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return HoldResult{}, err
	}
	if err := scrm.CheckID(op, "OrderID", req.OrderID); err != nil {
		return HoldResult{}, err
	}
	c, err := s.program(ctx, op, req.Tenant)
	if err != nil {
		return HoldResult{}, err
	}
	if err := checkRedeem(op, c, req.Points, req.OrderAmount); err != nil {
		return HoldResult{}, err
	}
	holdID := s.opts.NewID()
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.OrderID).int(req.Points).dec(req.OrderAmount).sum()
	out, replayed, err := s.update(ctx, op, UpdateParams{
		Tenant: req.Tenant, Customer: req.Customer, IdempotencyKey: req.IdempotencyKey, Fingerprint: fp,
		OrderID: req.OrderID, HoldID: holdID,
	}, func(e *engine) error {
		if err := checkRedeem(op, e.c, req.Points, req.OrderAmount); err != nil {
			return err // the program changed since
		}
		if e.tx.Hold != nil {
			return scrm.Errorf(scrm.ErrConflict, op, "hold ID %q already in use", holdID)
		}
		o, err := e.redeemOnOrder(op, req.OrderID, req.Points, req.OrderAmount)
		if err != nil {
			return err
		}
		ent := e.entry(EntryHold)
		ent.OrderID, ent.HoldID = req.OrderID, holdID
		moves := hold(e.a, ent, req.Points)
		o.Held += req.Points
		e.tx.Hold = &HoldRecord{
			ID: holdID, Tenant: req.Tenant, Customer: req.Customer, OrderID: req.OrderID, Key: req.IdempotencyKey,
			Points: req.Points, Value: e.c.p.Redeem.Value(req.Points), OrderAmount: req.OrderAmount,
			State: HoldOpen, Lots: moves, Program: e.c.p.Version, CreatedAt: e.now,
		}
		e.tx.Outcome.HoldID = holdID
		return nil
	})
	if err != nil && out.HoldID == "" {
		return HoldResult{}, err
	}
	value, verr := s.redeemedValue(ctx, op, req.Tenant, c, out.Entries, EntryHold, req.Points)
	if verr != nil {
		return HoldResult{}, verr
	}
	state := HoldOpen
	if replayed && err == nil {
		// The hold may have been captured or voided since: a replay tells
		// its state now, so that a retried checkout does not count on
		// points that are no longer held.
		h, herr := s.store.Hold(ctx, req.Tenant, out.HoldID)
		if herr != nil {
			return HoldResult{}, wrap(op, herr)
		}
		state = h.State
	}
	return HoldResult{HoldID: out.HoldID, Points: req.Points, Value: value, State: state,
		Balance: out.After, Entries: out.Entries, Replayed: replayed}, err
}

// redeemedValue is what points paid in the outcome entries of a Hold or a
// Redeem, under the redeem rule of the program version its kind entry was
// computed under (the Value its hold record keeps), so that a replay after
// a program change returns the original value, not today's.
func (s *Service) redeemedValue(ctx context.Context, op string, tenant scrm.TenantID, c *compiled, entries []Entry, kind EntryKind, points int64) (decimal.Decimal, error) {
	v := c.p.Version
	for i := range entries {
		if entries[i].Kind == kind {
			v = entries[i].Program
			break
		}
	}
	if v == c.p.Version {
		return c.p.Redeem.Value(points), nil
	}
	p, err := s.store.Program(ctx, tenant, v)
	if err != nil {
		return decimal.Decimal{}, wrap(op, err)
	}
	return p.Redeem.Value(points), nil
}

// RedeemRequest spends points on an order in one step, without a hold.
type RedeemRequest = HoldRequest

// Redeem spends points on an order at once (a Hold and its Capture in one
// step): for point-of-sale flows with nothing to confirm. The same rules and
// errors as Hold apply; the spent points are remembered for refunds.
func (s *Service) Redeem(ctx context.Context, req RedeemRequest) (HoldResult, error) {
	const op = "member.Redeem"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return HoldResult{}, err
	}
	if err := scrm.CheckID(op, "OrderID", req.OrderID); err != nil {
		return HoldResult{}, err
	}
	c, err := s.program(ctx, op, req.Tenant)
	if err != nil {
		return HoldResult{}, err
	}
	if err := checkRedeem(op, c, req.Points, req.OrderAmount); err != nil {
		return HoldResult{}, err
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.OrderID).int(req.Points).dec(req.OrderAmount).sum()
	out, replayed, err := s.update(ctx, op, UpdateParams{
		Tenant: req.Tenant, Customer: req.Customer, IdempotencyKey: req.IdempotencyKey, Fingerprint: fp, OrderID: req.OrderID,
	}, func(e *engine) error {
		if err := checkRedeem(op, e.c, req.Points, req.OrderAmount); err != nil {
			return err
		}
		o, err := e.redeemOnOrder(op, req.OrderID, req.Points, req.OrderAmount)
		if err != nil {
			return err
		}
		ent := e.entry(EntrySpend)
		ent.OrderID = req.OrderID
		spend(e.a, ent, req.Points, 0)
		o.SpentLots = appendSpent(o.SpentLots, ent.Lots)
		o.Spent += req.Points
		o.SpentValue = o.SpentValue.Add(e.c.p.Redeem.Value(req.Points))
		o.SpentAt = later(o.SpentAt, e.now)
		return nil
	})
	if err != nil && len(out.Entries) == 0 {
		return HoldResult{}, err
	}
	value, verr := s.redeemedValue(ctx, op, req.Tenant, c, out.Entries, EntrySpend, req.Points)
	if verr != nil {
		return HoldResult{}, verr
	}
	return HoldResult{Points: req.Points, Value: value, State: HoldCaptured,
		Balance: out.After, Entries: out.Entries, Replayed: replayed}, err
}

// appendSpent adds the lot moves of a spend or capture entry to an order's
// SpentLots. The first ones are shared with the entry rather than copied:
// both are immutable once saved, and stores copy order records before
// changing them.
func appendSpent(spent, moves []LotMove) []LotMove {
	if spent == nil {
		return moves[:len(moves):len(moves)]
	}
	return append(spent, moves...)
}

// errHoldSettled tells Capture and Void that the hold reached the requested
// state between their read and their update.
var errHoldSettled = errors.New("member: hold already settled")

// Capture spends the points of an open hold; they are remembered on the
// hold's order for refunds, which give them back (see Refund). When the
// order is already refunded in full (the refunds reach what it paid, see
// RefundRequest.Amount), no refund is left to do so: the capture gives
// the order's spent points back at once, in an EntryRefund after the
// EntryCapture (to their lots; those of expired lots are forfeited, as a
// refund's are, and the returned points pay off AccountState.Unclawed as
// a refund's do). After a partial refund, the refunds that follow give
// them back. Capturing a captured hold changes nothing and returns it
// with Replayed set.
//
// Errors: ErrNotFound for an unknown hold; ErrConflict for a voided one.
func (s *Service) Capture(ctx context.Context, tenant scrm.TenantID, holdID string) (HoldResult, error) {
	return s.settle(ctx, "member.Capture", tenant, holdID, HoldCaptured)
}

// Void releases the points of an open hold back to their lots (see Hold for
// lots that expired meanwhile). Released points pay off first what earlier
// refunds could not claw back because the points were held or spent
// (AccountState.Unclawed), but only what refunds made since the hold was
// created forgave (AccountState.UnclawedParts; what was forgiven before
// it, the hold's points could not have paid): an EntryClawback noted
// "unclawed" takes them, reported as HoldResult.Clawed. Voiding a voided
// hold changes nothing and returns it with Replayed set.
//
// Errors: ErrNotFound for an unknown hold; ErrConflict for a captured one.
func (s *Service) Void(ctx context.Context, tenant scrm.TenantID, holdID string) (HoldResult, error) {
	return s.settle(ctx, "member.Void", tenant, holdID, HoldVoided)
}

func (s *Service) settle(ctx context.Context, op string, tenant scrm.TenantID, holdID string, to HoldState) (HoldResult, error) {
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return HoldResult{}, err
	}
	if err := scrm.CheckID(op, "HoldID", holdID); err != nil {
		return HoldResult{}, err
	}
	h, err := s.store.Hold(ctx, tenant, holdID)
	if err != nil {
		return HoldResult{}, wrap(op, err)
	}
	settled := func(h HoldRecord) (HoldResult, error) {
		if h.State != to {
			return HoldResult{}, scrm.Errorf(scrm.ErrConflict, op, "hold %q is %s", holdID, h.State)
		}
		r := HoldResult{HoldID: h.ID, Points: h.Points, Value: h.Value, State: h.State, Replayed: true}
		if c, err := s.program(ctx, op, tenant); err == nil {
			if st, err := s.liveAccount(ctx, op, c, tenant, h.Customer); err == nil {
				r.Balance = st.balance()
			}
		}
		return r, nil
	}
	if h.State != HoldOpen {
		return settled(h)
	}
	out, _, err := s.update(ctx, op, UpdateParams{Tenant: tenant, Customer: h.Customer, HoldID: holdID, OrderID: h.OrderID},
		func(e *engine) error {
			hh := e.tx.Hold
			if hh == nil {
				return scrm.Errorf(scrm.ErrNotFound, op, "no hold %q", holdID)
			}
			if hh.State != HoldOpen {
				return errHoldSettled
			}
			o := e.tx.Order
			if o == nil {
				o = e.tx.newOrder(hh.OrderID)
				e.tx.Order = o
			}
			if to == HoldCaptured {
				ent := e.entry(EntryCapture)
				ent.OrderID, ent.HoldID = hh.OrderID, hh.ID
				capture(e.a, ent, hh.Lots)
				o.SpentLots = appendSpent(o.SpentLots, ent.Lots)
				o.Spent += hh.Points
				o.SpentValue = o.SpentValue.Add(hh.Value)
				// The points left the balance when they were held.
				o.SpentAt = later(o.SpentAt, hh.CreatedAt)
				if base := o.refundBase(); base.IsPositive() && !o.Refunded.LessThan(base) {
					// The order is refunded in full already: no refund
					// is left to give the points back, so they come
					// back now, in an EntryRefund. SpentLots may share
					// the capture entry's moves: returnSpent changes it.
					o.SpentLots = slices.Clone(o.SpentLots)
					e.returnSpent(hh.OrderID, o, base, base)
				}
			} else {
				before := e.a.Points()
				ent := e.entry(EntryVoid)
				ent.OrderID, ent.HoldID = hh.OrderID, hh.ID
				release(e.a, ent, hh.Lots)
				if e.a.unclawedSince(hh.CreatedAt) > 0 {
					// Released points pay off what clawbacks could not
					// take, those since the hold was created
					// (AccountState.UnclawedParts); those whose lot
					// expired meanwhile expire first: they do not come
					// back.
					e.expire()
					e.takeUnclawed(hh.OrderID, hh.ID, e.a.Points()-before, hh.CreatedAt)
				}
			}
			o.Held -= hh.Points
			hh.State, hh.ClosedAt = to, e.now
			return nil
		})
	if errors.Is(err, errHoldSettled) {
		if h, err = s.store.Hold(ctx, tenant, holdID); err != nil {
			return HoldResult{}, wrap(op, err)
		}
		return settled(h)
	}
	if err != nil && len(out.Entries) == 0 {
		return HoldResult{}, err
	}
	r := HoldResult{HoldID: h.ID, Points: h.Points, Value: h.Value, State: to, Balance: out.After, Entries: out.Entries}
	for i := range out.Entries {
		if out.Entries[i].Kind == EntryClawback {
			r.Clawed -= out.Entries[i].Points
		}
	}
	return r, err
}
