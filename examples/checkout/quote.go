package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// quote prices a cart without writing anything: the coupons (the best
// combination from the wallet, or the ones asked for, with the reason each
// rejected one does not apply), then the points the customer may use on
// what is left, then the cash due.
func (s *server) quote(ctx context.Context, req cartRequest) (quoteResponse, bool, error) {
	const op = "quote"
	in, err := req.parse(op, s.tenant, false)
	if err != nil {
		return quoteResponse{}, false, err
	}
	q, err := s.price(ctx, op, in, false)
	if err != nil {
		return quoteResponse{}, false, err
	}
	pts, value, err := s.points(ctx, op, in.cart.Customer, q.Payable, in.points)
	if err != nil {
		return quoteResponse{}, false, err
	}
	return quoteResponse{
		Customer: req.Customer, OrderID: req.OrderID,
		Subtotal: yuan(q.Subtotal), Shipping: yuan(q.Shipping), CouponDiscount: yuan(q.Discount), Payable: yuan(q.Payable),
		Coupons: appliedJSON(q), Rejected: rejectedJSON(q), Lines: linesJSON(q),
		Points: pts, CashDue: yuan(q.Payable.Sub(value)),
	}, false, nil
}

// price prices the cart with its coupons: coupon.Best when the request
// named none, else coupon.Quote with the ones named. With strict, a named
// coupon that does not apply is an error naming it, of the class Lock
// would refuse it with.
func (s *server) price(ctx context.Context, op string, in cartInput, strict bool) (coupon.Quote, error) {
	if in.best {
		return s.coupons.Best(ctx, in.cart)
	}
	q, err := s.coupons.Quote(ctx, in.cart, in.coupons)
	if err != nil || !strict || len(q.Rejected) == 0 {
		return q, err
	}
	r := q.Rejected[0]
	code := scrm.ErrForbidden
	switch r.Reason {
	case coupon.ReasonLocked, coupon.ReasonRedeemed, coupon.ReasonRevoked:
		code = scrm.ErrConflict
	case coupon.ReasonExpired, coupon.ReasonNotStarted:
		code = scrm.ErrExpired
	case coupon.ReasonBudget:
		code = scrm.ErrExhausted
	}
	return q, &scrm.Error{Code: code, Op: op, Field: fmt.Sprintf("coupons[%d]", slices.Index(in.coupons, r.Coupon)),
		Msg: fmt.Sprintf("coupon %s does not apply (%s): %s", r.Coupon, r.Reason, r.Message)}
}

// points says what points can do for an order of payable (after coupons),
// and checks the use asked for against it: the redeem rule's minimum and
// step and its share of the order (ErrInvalid, field "points"), and the
// balance (ErrExhausted). It returns what the points asked for pay.
func (s *server) points(ctx context.Context, op string, customer scrm.CustomerID, payable decimal.Decimal, use int64) (pointsJSON, decimal.Decimal, error) {
	prog, err := s.members.Program(ctx, s.tenant)
	if err != nil {
		return pointsJSON{}, decimal.Decimal{}, err
	}
	var q member.Quote
	if payable.IsPositive() {
		if q, err = s.members.Quote(ctx, member.QuoteRequest{Tenant: s.tenant, Customer: customer, OrderAmount: payable}); err != nil {
			return pointsJSON{}, decimal.Decimal{}, err
		}
	} else {
		// Nothing left to pay: no points can be used.
		b, err := s.balance(ctx, customer)
		if err != nil {
			return pointsJSON{}, decimal.Decimal{}, err
		}
		q = member.Quote{Balance: b.Points, MinPoints: prog.Redeem.MinPoints, Step: max(prog.Redeem.Step, 1)}
	}
	value := prog.Redeem.Value(use)
	pts := pointsJSON{Balance: q.Balance, Max: q.Points, MaxValue: yuan(prog.Redeem.Value(q.Points)),
		Min: q.MinPoints, Step: q.Step, Use: use, Value: yuan(value)}
	switch {
	case use == 0:
	case !payable.IsPositive():
		err = scrm.Invalid(op, "points", "nothing is left to pay with points")
	case use < q.MinPoints:
		err = scrm.Invalid(op, "points", "%d is below the minimum of %d points", use, q.MinPoints)
	case use%q.Step != 0:
		err = scrm.Invalid(op, "points", "%d is not a multiple of %d", use, q.Step)
	case use > q.MaxByShare:
		err = scrm.Invalid(op, "points", "at most %d points may pay for this order of ¥%s", q.MaxByShare, yuan(payable))
	case use > q.Balance:
		err = &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "points",
			Msg: fmt.Sprintf("%d points asked for, %d available", use, max(q.Balance, 0))}
	}
	return pts, value, err
}

// balance returns a customer's balances; a customer without an account
// has none.
func (s *server) balance(ctx context.Context, customer scrm.CustomerID) (*balanceJSON, error) {
	a, err := s.members.Account(ctx, s.tenant, customer)
	if errors.Is(err, scrm.ErrNotFound) {
		return &balanceJSON{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &balanceJSON{Points: a.Points, Held: a.Held, Growth: a.Growth, Tier: a.Tier}, nil
}
