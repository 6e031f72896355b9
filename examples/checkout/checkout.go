package main

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// checkout is the try of try / confirm / cancel: it prices the cart as
// quote does, locks the coupons to the order (coupon.Lock: no other order
// can use them meanwhile) and holds the points (member.Hold: they leave the
// balance at once), and returns the cash the payment provider must collect.
//
// Idempotency works at two levels. The shop's order record keeps the key,
// a fingerprint of the body and the response: the same key and body get the
// same response (a replay, changing nothing) but for its state, which is
// the order's now (paid, or cancelled after a failed payment: then its
// cash is not to be collected), the same key with another
// body is ErrConflict, and another key for an order already checked out is
// ErrConflict too, unless its payment failed (the order was cancelled),
// which a new key may check out again; the new attempt's record replaces
// the order's, keeping the payment callbacks of the earlier attempts (see
// payment). The key of a failed attempt is spent: checking out with it
// again is ErrConflict (send a new key), as coupon keeps its released lock
// and member its voided hold under it. Under the record, Lock and Hold get
// keys derived from the order and the key, so a retry after a crash
// between them finds the coupons and points already taken for this attempt
// and takes nothing twice. Requests for one order run one at a time (the
// order's lock), so twenty concurrent submissions of one checkout take one
// lock and one hold, and get one response.
//
// When the hold fails after the lock succeeded, it depends on the failure.
// A store that is unavailable (503) leaves the coupons locked to this
// attempt: a retry with the same key finds the lock (coupon replays it)
// and holds the points then. (A host would also release the coupons of
// checkouts abandoned for some minutes, with coupon.Release; this example
// has no such timer.) Any other failure (the points ran out since the
// check, say) releases the lock and returns the error; the key of that
// attempt is then spent, as coupon keeps the released lock under it, and a
// retry with it is ErrConflict: send a new key.
func (s *server) checkout(ctx context.Context, req checkoutRequest) (checkoutResponse, bool, error) {
	const op = "checkout"
	in, err := req.parse(op, s.tenant, true)
	if err != nil {
		return checkoutResponse{}, false, err
	}
	key := req.IdempotencyKey
	if key == "" {
		key = req.OrderID
	} else if err := checkID(op, "idempotency_key", key); err != nil {
		return checkoutResponse{}, false, err
	}
	fp := in.fingerprint()

	unlock := s.orders.lock(req.OrderID)
	defer unlock()
	prev := s.orders.get(req.OrderID)
	if prev != nil {
		switch {
		case prev.Customer != in.cart.Customer:
			return checkoutResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "order_id",
				Msg: fmt.Sprintf("order %s belongs to another customer", prev.ID)}
		case prev.Spent[key]:
			return checkoutResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "idempotency_key",
				Msg: fmt.Sprintf("the checkout attempt %q of order %s failed earlier; send a new key", key, req.OrderID)}
		case prev.Key == key && prev.Fingerprint == fp:
			// The first response, with the order's state now: a client
			// retrying after its payment failed must not read
			// "pending_payment" and collect the cash again.
			r := prev.Checkout
			r.State = string(prev.State)
			return r, true, nil
		case prev.Key == key:
			return checkoutResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "idempotency_key",
				Msg: fmt.Sprintf("key %q was used for this order with another request", key)}
		case prev.State != stateCancelled:
			return checkoutResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "order_id",
				Msg: fmt.Sprintf("order %s is already checked out (%s) under another idempotency key", prev.ID, prev.State)}
		}
	}

	q, err := s.price(ctx, op, in, true)
	if err != nil {
		return checkoutResponse{}, false, err
	}
	// Check the points before locking anything, so that a request asking
	// for too many fails with nothing to undo.
	if _, _, err := s.points(ctx, op, in.cart.Customer, q.Payable, in.points); err != nil {
		return checkoutResponse{}, false, err
	}

	libKey := "checkout:" + req.OrderID + ":" + key
	chosen := q.Coupons()
	if len(chosen) > 0 {
		locked, err := s.coupons.Lock(ctx, coupon.LockRequest{Cart: in.cart, Coupons: chosen, IdempotencyKey: libKey})
		if err != nil {
			return checkoutResponse{}, false, err
		}
		if locked.State != coupon.OrderLocked {
			return checkoutResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "idempotency_key",
				Msg: fmt.Sprintf("the checkout attempt %q of order %s failed earlier and was released; send a new key", key, req.OrderID)}
		}
		q = locked.Quote // the price as locked, which the order keeps
	}
	hold := member.HoldResult{Value: decimal.Zero}
	if in.points > 0 {
		hold, err = s.members.Hold(ctx, member.HoldRequest{Tenant: s.tenant, Customer: in.cart.Customer, IdempotencyKey: libKey,
			OrderID: req.OrderID, Points: in.points, OrderAmount: q.Payable})
		if errors.Is(err, scrm.ErrUnavailable) {
			return checkoutResponse{}, false, err
		}
		if err != nil {
			return checkoutResponse{}, false, s.undoCheckout(ctx, req.OrderID, chosen, hold.HoldID, err)
		}
		if err := checkHoldOpen(op, req.OrderID, key, hold); err != nil {
			// The hold is not this attempt's to void; the coupons locked
			// now are.
			return checkoutResponse{}, false, s.undoCheckout(ctx, req.OrderID, chosen, "", err)
		}
	}

	o := &order{
		ID: req.OrderID, Customer: in.cart.Customer, Key: key, Fingerprint: fp, State: statePending,
		Cart: in.cart, Quote: q, Coupons: chosen,
		HoldID: hold.HoldID, Points: in.points, PointsValue: hold.Value, Cash: q.Payable.Sub(hold.Value),
		Refunds: make(map[string]*refundRecord), Units: make([]int, len(in.cart.Items)),
		Refunded: decimal.Zero, CashRefunded: decimal.Zero, PointsRefunded: decimal.Zero, MemberRefunded: decimal.Zero,
	}
	if prev != nil {
		// The order is checked out again after its payment failed: keep
		// the callbacks of the earlier attempts, which providers redeliver.
		o.Earlier = maps.Clone(prev.Earlier)
		if o.Earlier == nil {
			o.Earlier = make(map[string]*payment, 1)
		}
		o.Earlier[prev.Payment.ID] = prev.Payment
		o.Spent = maps.Clone(prev.Spent)
		if o.Spent == nil {
			o.Spent = make(map[string]bool, 1)
		}
		o.Spent[prev.Key] = true
	}
	o.Checkout = checkoutResponse{
		OrderID: o.ID, Customer: string(o.Customer), State: string(o.State),
		Subtotal: yuan(q.Subtotal), Shipping: yuan(q.Shipping), CouponDiscount: yuan(q.Discount), Payable: yuan(q.Payable),
		Coupons: appliedJSON(q), Lines: linesJSON(q),
		Points: o.Points, PointsValue: yuan(o.PointsValue), HoldID: o.HoldID, CashDue: yuan(o.Cash),
	}
	s.orders.put(o)
	return o.Checkout, false, nil
}

// checkHoldOpen refuses a hold that is not open: Hold replays the hold it
// made under the key, and when this key's attempt failed earlier, that one
// was voided since. It is ErrConflict, as for the coupons' lock: the key is
// spent.
// A replayed Hold tells the hold's state now: voided when this key's
// attempt failed and its points were given back.
func checkHoldOpen(op, orderID, key string, hold member.HoldResult) error {
	if hold.State != member.HoldOpen {
		return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "idempotency_key",
			Msg: fmt.Sprintf("the checkout attempt %q of order %s failed earlier and its points were given back (hold %s is %s); send a new key",
				key, orderID, hold.HoldID, hold.State)}
	}
	return nil
}

// undoCheckout releases what a failed checkout took (the coupons' lock, and
// a hold, should one have been saved) and returns the error that failed it,
// noting any failure to undo.
func (s *server) undoCheckout(ctx context.Context, orderID string, coupons []string, holdID string, cause error) error {
	if holdID != "" {
		if _, err := s.members.Void(ctx, s.tenant, holdID); err != nil {
			cause = fmt.Errorf("%w (voiding hold %s failed too: %v)", cause, holdID, err)
		}
	}
	if len(coupons) > 0 {
		if _, err := s.coupons.Release(ctx, s.tenant, orderID); err != nil {
			cause = fmt.Errorf("%w (releasing its coupons failed too: %v)", cause, err)
		}
	}
	return cause
}
