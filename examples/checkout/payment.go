package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// payment handles the payment provider's callback, the confirm or cancel
// of try / confirm / cancel.
//
// Paid: the amount must be the order's cash due (else ErrConflict: the
// shop would be short or owe money; a real host starts a reconciliation).
// The coupons are confirmed (redeemed, their budget spent), the held points
// captured (spent), and the cash paid earns points and growth value
// (member.Earn, keyed by the order: an order earns once). Points paid with
// do not earn points.
//
// Failed: the coupons are released and the held points voided, back to the
// customer; the order is cancelled and may be checked out again under a new
// idempotency key. The coupons go first: coupon refuses to release the
// coupons of a paid order, and then the points stay held too.
//
// Providers deliver callbacks at least once: the same callback again gets
// the first response and changes nothing, also once the order has been
// checked out again (the order keeps the callbacks of its earlier
// attempts); another callback for a settled order is ErrConflict. Each step
// is idempotent on its own (Confirm, Capture and Earn by the order and
// hold). The callback is recorded before its first step and the order is
// marked settled only after all of them succeeded, so a callback that
// failed half way (ErrUnavailable) completes when the provider retries it,
// and until then any other callback for the order (the late failure notice
// of an earlier payment, say) is ErrConflict and changes nothing. A
// callback whose first try a library refused at its first step (nothing
// written) is forgotten.
func (s *server) payment(ctx context.Context, req paymentRequest) (orderResponse, bool, error) {
	const op = "payment"
	in, err := req.parse(op)
	if err != nil {
		return orderResponse{}, false, err
	}
	fp := scrm.Fingerprint(in.paymentID, in.status, in.amount)

	unlock := s.orders.lock(in.orderID)
	defer unlock()
	o := s.orders.get(in.orderID)
	if o == nil {
		return orderResponse{}, false, &scrm.Error{Code: scrm.ErrNotFound, Op: op, Field: "order_id", Msg: fmt.Sprintf("no order %s", in.orderID)}
	}
	if p := o.Earlier[in.paymentID]; p != nil {
		if p.Fingerprint == fp {
			return p.Response, true, nil
		}
		return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "payment_id",
			Msg: fmt.Sprintf("payment %s settled an earlier checkout attempt of order %s (%s)", p.ID, o.ID, p.Status)}
	}
	switch p := o.Payment; {
	case p == nil:
		if o.State != statePending {
			return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "order_id",
				Msg: fmt.Sprintf("order %s is %s, not awaiting payment", o.ID, o.State)}
		}
		if in.status == paymentPaid && !in.amount.Equal(o.Cash) {
			return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "amount",
				Msg: fmt.Sprintf("¥%s paid, but ¥%s is due for order %s", yuan(in.amount), yuan(o.Cash), o.ID)}
		}
	case p.Fingerprint == fp && p.Settled:
		return p.Response, true, nil
	case p.Fingerprint == fp:
		// This callback failed half way: its retry completes it.
	case p.Settled:
		return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "payment_id",
			Msg: fmt.Sprintf("order %s was already settled by payment %s (%s)", o.ID, p.ID, p.Status)}
	default:
		return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "payment_id",
			Msg: fmt.Sprintf("order %s is being settled by payment %s (%s), which failed half way; it completes when retried", o.ID, p.ID, p.Status)}
	}

	// wrote tells whether anything of this callback may have been written:
	// until a step succeeded on its first try, a refusal (any error but
	// ErrUnavailable, after which the step may have been done) leaves
	// nothing to complete, and the callback is forgotten.
	wrote := o.Payment != nil
	if !wrote {
		o.Payment = &payment{ID: in.paymentID, Status: in.status, Fingerprint: fp}
	}
	stop := func(err error) (orderResponse, bool, error) {
		if !wrote && !errors.Is(err, scrm.ErrUnavailable) {
			o.Payment = nil
		}
		return orderResponse{}, false, err
	}
	switch in.status {
	case paymentPaid:
		if len(o.Coupons) > 0 {
			if _, err := s.coupons.Confirm(ctx, s.tenant, o.ID); err != nil {
				return stop(err)
			}
			wrote = true
		}
		if o.HoldID != "" {
			if _, err := s.members.Capture(ctx, s.tenant, o.HoldID); err != nil {
				return stop(err)
			}
			wrote = true
		}
		if o.Cash.IsPositive() {
			earned, err := s.members.Earn(ctx, member.EarnRequest{Tenant: s.tenant, Customer: o.Customer,
				IdempotencyKey: "earn:" + o.ID, OrderID: o.ID, Amount: o.Cash, Items: o.Cart.Items})
			if err != nil {
				return stop(err)
			}
			o.Earned = earned.Points
		}
		o.State = statePaid
	case paymentFailed:
		if len(o.Coupons) > 0 {
			if _, err := s.coupons.Release(ctx, s.tenant, o.ID); err != nil {
				return stop(err)
			}
			wrote = true
		}
		if o.HoldID != "" {
			if _, err := s.members.Void(ctx, s.tenant, o.HoldID); err != nil {
				return stop(err)
			}
		}
		o.State = stateCancelled
	}
	o.Payment.Settled = true
	o.Payment.Response = s.view(ctx, o)
	return o.Payment.Response, false, nil
}

// order is GET /orders/{id}.
func (s *server) order(ctx context.Context, id string) (orderResponse, error) {
	unlock := s.orders.lock(id)
	defer unlock()
	o := s.orders.get(id)
	if o == nil {
		return orderResponse{}, scrm.Errorf(scrm.ErrNotFound, "order", "no order %s", id)
	}
	return s.view(ctx, o), nil
}

// view is an order as the API shows it, with the customer's balances now
// (left out when they cannot be read: the order is what matters). Hold the
// order's lock.
func (s *server) view(ctx context.Context, o *order) orderResponse {
	b, _ := s.balance(ctx, o.Customer)
	r := orderResponse{
		OrderID: o.ID, Customer: string(o.Customer), State: string(o.State),
		Payable: yuan(o.Quote.Payable), Coupons: append([]string{}, o.Coupons...),
		Points: o.Points, PointsValue: yuan(o.PointsValue), CashDue: yuan(o.Cash), CashPaid: "0.00",
		PointsEarned: o.Earned, Refunded: yuan(o.Refunded), CashRefunded: yuan(o.CashRefunded),
		PointsBack: o.PointsBack, RefundedUnits: append([]int{}, o.Units...), Balance: b,
	}
	if o.Payment != nil {
		r.PaymentID = o.Payment.ID
	}
	if o.State == statePaid || o.State == stateRefunded {
		r.CashPaid = yuan(o.Cash)
	}
	return r
}

// customer is GET /customers/{id}: balances and the coupon wallet.
func (s *server) customer(ctx context.Context, id string) (customerResponse, error) {
	if err := checkID("customer", "id", id); err != nil {
		return customerResponse{}, err
	}
	b, err := s.balance(ctx, scrm.CustomerID(id))
	if err != nil {
		return customerResponse{}, err
	}
	w, err := s.coupons.Wallet(ctx, s.tenant, scrm.CustomerID(id))
	if err != nil {
		return customerResponse{}, err
	}
	return customerResponse{Customer: id, Balance: *b, Coupons: walletJSON(w, s.loc)}, nil
}
