package main

import (
	"context"
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
// idempotency key.
//
// Providers deliver callbacks at least once: the same callback again gets
// the first response and changes nothing; another callback for a settled
// order is ErrConflict. Each step is idempotent on its own (Confirm,
// Capture and Earn by the order and hold), and the order is marked settled
// only after all of them succeeded, so a callback that failed half way
// (ErrUnavailable) completes when the provider retries it.
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
	switch {
	case o == nil:
		return orderResponse{}, false, &scrm.Error{Code: scrm.ErrNotFound, Op: op, Field: "order_id", Msg: fmt.Sprintf("no order %s", in.orderID)}
	case o.Payment != nil && o.Payment.Fingerprint == fp:
		return o.Payment.Response, true, nil
	case o.Payment != nil:
		return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "payment_id",
			Msg: fmt.Sprintf("order %s was already settled by payment %s (%s)", o.ID, o.Payment.ID, o.Payment.Status)}
	case o.State != statePending:
		return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "order_id",
			Msg: fmt.Sprintf("order %s is %s, not awaiting payment", o.ID, o.State)}
	}

	switch in.status {
	case paymentPaid:
		if !in.amount.Equal(o.Cash) {
			return orderResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "amount",
				Msg: fmt.Sprintf("¥%s paid, but ¥%s is due for order %s", yuan(in.amount), yuan(o.Cash), o.ID)}
		}
		if len(o.Coupons) > 0 {
			if _, err := s.coupons.Confirm(ctx, s.tenant, o.ID); err != nil {
				return orderResponse{}, false, err
			}
		}
		if o.HoldID != "" {
			if _, err := s.members.Capture(ctx, s.tenant, o.HoldID); err != nil {
				return orderResponse{}, false, err
			}
		}
		if o.Cash.IsPositive() {
			earned, err := s.members.Earn(ctx, member.EarnRequest{Tenant: s.tenant, Customer: o.Customer,
				IdempotencyKey: "earn:" + o.ID, OrderID: o.ID, Amount: o.Cash, Items: o.Cart.Items})
			if err != nil {
				return orderResponse{}, false, err
			}
			o.Earned = earned.Points
		}
		o.State = statePaid
	case paymentFailed:
		if o.HoldID != "" {
			if _, err := s.members.Void(ctx, s.tenant, o.HoldID); err != nil {
				return orderResponse{}, false, err
			}
		}
		if len(o.Coupons) > 0 {
			if _, err := s.coupons.Release(ctx, s.tenant, o.ID); err != nil {
				return orderResponse{}, false, err
			}
		}
		o.State = stateCancelled
	}
	o.Payment = &payment{ID: in.paymentID, Status: in.status, Fingerprint: fp}
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
