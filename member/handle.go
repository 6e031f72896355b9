package member

import (
	"context"
	"errors"

	"github.com/scrmkit/scrmkit/scrm"
)

// Handle implements scrm.Handler:
//
//   - order.paid earns the order's points and growth (Earn with the event ID
//     as the idempotency key, Props "order_id" as the order, the event's
//     Amount, "items" and Time); an order.paid without an amount earns
//     nothing. "items" may take any form scrm.Event.OrderItems accepts (as
//     built in Go, or as JSON decoding leaves it); a malformed list is an
//     ErrInvalid naming it ("Props.items[1].Price"), and nothing is
//     earned, rather than an order earned without its category
//     multipliers;
//   - order.refunded claws back in proportion (Refund with the event ID as
//     the key). A negative Amount (a refund booked as a negative number,
//     as many ERPs do) counts as its absolute value, as referral and
//     metrics read it; a zero Amount refunds nothing here (referral reads
//     it as the whole order: send the amount refunded). A refund delivered before its order.paid (events from two
//     queues, a redelivery) is remembered on the order's record, whatever
//     points were held or spent on the order, and never refused for
//     exceeding what is known of the order yet: the points spent on it are
//     given back at once, in proportion to the refund against what is
//     known (its OrderAmount, else what its points paid), and the
//     order.paid that follows earns the order and undoes the refunded
//     share against the paid amount at once, in the same entries a refund
//     would write (all of it when the refunds reach the paid amount),
//     giving back the spent points the early refund did not, or taking
//     back from the balance those it gave back beyond the paid amount's
//     share (see Earn): so the order of the two events changes nothing
//     in points, growth, spent points and the tier they end in, and an
//     order refunded in full before its payment event arrived leaves no
//     points or growth and gives back all its spent points. Upgrade
//     rewards are the exception, by choice: delivered in order, a
//     payment that lifts the customer to a tier grants that tier's
//     rewards at once, and a later refund that takes the tier back does
//     not take them back (a coupon may be used already; rewards are never
//     clawed back); delivered refund first, the net order never reaches
//     the tier and grants nothing. Refund itself, called directly,
//     still answers ErrNotFound for an order whose order.paid has not
//     arrived and that nothing was held or spent on, even once Handle
//     remembered a refund of it.
//     A refund reaches the ledger once per key: a host that calls Refund
//     for a refund and also delivers its order.refunded event (keyed by
//     the event ID) takes the points back twice; use one path or the
//     other, or call Refund with the event's ID as the key;
//   - "order_id" may be a string or, as JSON decoding leaves it, an
//     integral number (json.Number, an integer type, or a float64 without
//     a fraction and below 2^53, where float64 is still exact), which names
//     the order by its decimal digits: 12345, json.Number("12345") and
//     12345.0 are the same order as "12345". Absent, nil or "", the event
//     ID names the order. Any other value (a fraction, a bool, a map) is an
//     ErrInvalid naming "Props.order_id", never a silent ignore;
//   - an event whose type has an EventRule earns its points, within the
//     rule's caps (an event over a cap is recorded with 0 points);
//   - every other event, and every event of a tenant without a program, is
//     ignored.
//
// Replaying an event changes nothing.
func (s *Service) Handle(ctx context.Context, ev scrm.Event) error {
	const op = "member.Handle"
	if ev.Type == scrm.EventTierChanged || ev.Type == EventPointsExpired {
		return nil // the service's own events
	}
	if err := ev.Validate(); err != nil {
		return err
	}
	c, err := s.program(ctx, op, ev.Tenant)
	if errors.Is(err, scrm.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var order string
	if ev.Type == scrm.EventOrderPaid || ev.Type == scrm.EventOrderRefunded {
		if order, err = orderID(op, ev); err != nil {
			return err
		}
	}
	switch ev.Type {
	case scrm.EventOrderPaid:
		if !ev.Amount.IsPositive() {
			return nil
		}
		items, err := ev.OrderItems(op)
		if err != nil {
			return err
		}
		_, err = s.Earn(ctx, EarnRequest{Tenant: ev.Tenant, Customer: ev.Customer, IdempotencyKey: ev.ID,
			OrderID: order, Amount: ev.Amount, Items: items, At: ev.Time})
		return err
	case scrm.EventOrderRefunded:
		amount := ev.Amount.Abs() // a refund booked as a negative number is the same refund
		if !amount.IsPositive() {
			return nil
		}
		_, err := s.refundOrder(ctx, "member.Refund", RefundRequest{Tenant: ev.Tenant, Customer: ev.Customer, IdempotencyKey: ev.ID,
			OrderID: order, Amount: amount}, true)
		return err
	}
	if _, ok := c.events[ev.Type]; !ok {
		return nil
	}
	_, err = s.earnEvent(ctx, ev)
	return err
}

// earnEvent awards an event rule's points for ev, keyed by the event ID.
func (s *Service) earnEvent(ctx context.Context, ev scrm.Event) (EarnResult, error) {
	const op = "member.Handle"
	now := s.clock.Now()
	at, err := checkAt(op, ev.Time, now)
	if err != nil {
		return EarnResult{}, err
	}
	fp := s.newFingerprint(op).str(string(ev.Customer)).str(ev.Type).time(ev.Time).sum()
	out, replayed, err := s.update(ctx, op, UpdateParams{
		Tenant: ev.Tenant, Customer: ev.Customer, IdempotencyKey: ev.ID, Fingerprint: fp,
	}, func(e *engine) error {
		// The rule is read from the program the step runs under, which
		// may be newer than the one Handle looked at.
		r, ok := e.c.events[ev.Type]
		if !ok {
			r = EventRule{Type: ev.Type}
		}
		u := e.a.Events[r.Type]
		// An event dated ahead of the clock (within FutureTolerance) on the
		// next date counts for today: a day that has not begun would make
		// the rest of today's events late, and uncapped per day.
		today := dayKey(e.now, e.c.loc)
		if u.Day > today {
			// The day counted is ahead of today: the tenant's zone moved
			// west (or the clock back). Its count stands for today, so the
			// cap holds rather than every event being "late".
			u.Day = today
		}
		day := min(dayKey(at, e.c.loc), today)
		if day > u.Day {
			u.Day, u.Today = day, 0
		}
		capped := r.Points <= 0 ||
			(r.Limit > 0 && u.Total >= r.Limit) ||
			(r.PerDay > 0 && day == u.Day && u.Today >= r.PerDay)
		if !capped {
			if err := checkRoom(op, e.a, "Points", r.Points, "", 0); err != nil {
				return err
			}
		}
		ent := e.entry(EntryEarn)
		ent.Note = "event:" + r.Type
		if capped {
			ent.Note += " (capped)"
			return nil
		}
		credit(e.a, ent, r.Points, e.c.expiry(at), at.UnixNano(), 0)
		u.Total++
		if day == u.Day {
			u.Today++
		}
		if e.a.Events == nil {
			e.a.Events = make(map[string]EventUsage)
		}
		e.a.Events[r.Type] = u
		return nil
	})
	return earnResult(out, replayed, s.opts.LocationOf(ev.Tenant)), err
}

// orderID returns the order an order event names (see Handle): its
// "order_id" (see scrm.Event.IDProp), or the event ID when there is none.
func orderID(op string, ev scrm.Event) (string, error) {
	id, err := ev.IDProp(op, "order_id")
	if err != nil || id != "" {
		return id, err
	}
	return ev.ID, nil
}
