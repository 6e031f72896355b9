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

// refund refunds units of a paid order, in full or in part, and says how
// much to pay back in cash and how many points go back.
//
// The amount is what the refunded units were paid: coupon.Refund computes
// it for an order with coupons (unit price × units − the coupons' exact
// share of them, plus the shipping paid when nothing is left), and the
// shop the same way with no discount for an order without. Points paid
// part of every line, so the amount is split between cash and points:
//
//   - member.Refund undoes the order's points in proportion (points spent
//     on it go back, points it earned are clawed back, growth too). It is
//     told the refunded share of the amount its Earn credited on (the cash
//     paid; for an order paid without cash, the order amount):
//     R = round(refunded so far × cash paid ÷ payable) − what earlier
//     refunds told it, so that the shares add up to the cash paid.
//   - The points it gives back (those forfeited because their lot has
//     expired included) are worth their share of what the held points paid,
//     cumulatively: round(points value × points back so far ÷ points spent),
//     minus what earlier refunds counted.
//   - The cash to pay back is the rest of the amount.
//
// So each refund's cash and points value add up exactly to its amount, and
// once the order is refunded in full the cash refunded equals the cash paid
// and every spent point is back, whatever the partial refunds were.
//
// The idempotency key is required: the same key and body get the first
// response; another body under it is ErrConflict. The libraries get keys
// derived from it. The refund is recorded before its first step, with its
// lines, then with what it refunds once coupon answered; the order's totals
// change only when every step succeeded. So a refund that failed half way
// (ErrUnavailable) completes when retried, with the lines and amounts it
// started with, whatever other refunds did meanwhile: they count its units
// as taken and its amounts as told, and the order is refunded only once
// its completed refunds cover every unit.
func (s *server) refund(ctx context.Context, req refundRequest) (refundResponse, bool, error) {
	const op = "refund"
	in, err := req.parse(op)
	if err != nil {
		return refundResponse{}, false, err
	}
	fp := scrm.Fingerprint(in.lines)

	unlock := s.orders.lock(in.orderID)
	defer unlock()
	o := s.orders.get(in.orderID)
	if o == nil {
		return refundResponse{}, false, &scrm.Error{Code: scrm.ErrNotFound, Op: op, Field: "order_id", Msg: fmt.Sprintf("no order %s", in.orderID)}
	}
	rec := o.Refunds[in.key]
	switch {
	case rec == nil:
		if o.State != statePaid {
			return refundResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "order_id",
				Msg: fmt.Sprintf("order %s is %s; only a paid order can be refunded", o.ID, o.State)}
		}
		lines, err := o.refundLines(op, in.lines)
		if err != nil {
			return refundResponse{}, false, err
		}
		rec = &refundRecord{Fingerprint: fp, Lines: lines}
		o.Refunds[in.key] = rec
	case rec.Fingerprint != fp:
		return refundResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "idempotency_key",
			Msg: fmt.Sprintf("key %q was used for another refund of order %s", in.key, o.ID)}
	case rec.Response != nil:
		return *rec.Response, true, nil
	}

	libKey := "refund:" + o.ID + ":" + in.key
	if rec.Refund == nil {
		var rf coupon.Refund
		if len(o.Coupons) > 0 {
			rf, err = s.coupons.Refund(ctx, coupon.RefundRequest{Tenant: s.tenant, OrderID: o.ID, Lines: rec.Lines, IdempotencyKey: libKey})
			if err != nil {
				if !errors.Is(err, scrm.ErrUnavailable) {
					delete(o.Refunds, in.key) // refused: nothing was written
				}
				return refundResponse{}, false, err
			}
		} else {
			rf = o.plainRefund(rec.Lines)
		}
		rec.Refund, rec.Member = &rf, o.memberShare(rf.Amount)
	}
	rf := *rec.Refund

	// The points' part, as member computes it.
	var mr member.RefundResult
	if rec.Member.IsPositive() {
		mr, err = s.members.Refund(ctx, member.RefundRequest{Tenant: s.tenant, Customer: o.Customer, IdempotencyKey: libKey,
			OrderID: o.ID, Amount: rec.Member})
		if err != nil {
			return refundResponse{}, false, err
		}
	}
	pointsBack := o.PointsBack + mr.Returned + mr.Forfeited
	pointsRefunded := decimal.Zero
	if o.Points > 0 {
		pointsRefunded = scrm.RoundFen(o.PointsValue.Mul(decimal.NewFromInt(pointsBack)).Div(decimal.NewFromInt(o.Points)))
	}
	pointsValue := pointsRefunded.Sub(o.PointsRefunded)
	cash := rf.Amount.Sub(pointsValue)

	// Every step succeeded: the order's totals move.
	for _, l := range rf.Lines {
		o.Units[l.Line] += l.Quantity
	}
	o.Refunded, o.MemberRefunded = o.Refunded.Add(rf.Amount), o.MemberRefunded.Add(rec.Member)
	o.PointsBack, o.PointsRefunded = pointsBack, pointsRefunded
	o.CashRefunded = o.CashRefunded.Add(cash)
	full := o.covers(o.Units)
	if full {
		o.State = stateRefunded
	}
	resp := refundResponse{
		OrderID: o.ID, Amount: yuan(rf.Amount), CouponDiscount: yuan(rf.Discount), Cash: yuan(cash),
		PointsReturned: mr.Returned, PointsForfeited: mr.Forfeited, PointsValue: yuan(pointsValue),
		PointsClawed: mr.Clawed, GrowthClawed: mr.GrowthClawed, Full: full,
		RestoredCoupons: rf.Restored, ExpiredCoupons: rf.Expired, State: string(o.State),
	}
	for _, l := range rf.Lines {
		resp.Lines = append(resp.Lines, refundLineOut{Line: l.Line, SKU: l.SKU, Quantity: l.Quantity,
			Discount: yuan(l.Discount), Amount: yuan(l.Amount)})
	}
	resp.Balance, _ = s.balance(ctx, o.Customer)
	rec.Response = &resp
	return resp, false, nil
}

// taken returns the units of each line refunded or being refunded: by the
// completed refunds, and by those that failed half way.
func (o *order) taken() []int {
	taken := slices.Clone(o.Units)
	for _, r := range o.Refunds {
		if r.Response == nil {
			for _, l := range r.Lines {
				taken[l.Line] += l.Quantity
			}
		}
	}
	return taken
}

// left returns the units of each line not in taken.
func (o *order) left(taken []int) []int {
	left := make([]int, len(o.Cart.Items))
	for i, it := range o.Cart.Items {
		left[i] = it.Quantity - taken[i]
	}
	return left
}

// covers reports whether units covers every unit of the order.
func (o *order) covers(units []int) bool {
	for i, it := range o.Cart.Items {
		if units[i] < it.Quantity {
			return false
		}
	}
	return true
}

// memberShare is what a refund of amount tells member.Refund: the share of
// it in the amount Earn credited on (see refund), rounded cumulatively over
// the order's refunds, completed or half done with their share fixed, so
// that all shares add up to that amount. Zero when member has nothing of
// the order.
func (o *order) memberShare(amount decimal.Decimal) decimal.Decimal {
	if (o.HoldID == "" && !o.Cash.IsPositive()) || !o.Quote.Payable.IsPositive() {
		return decimal.Zero
	}
	base := o.Cash // what Earn credited on
	if !base.IsPositive() {
		base = o.Quote.Payable // the hold's order amount
	}
	refunded, told := o.Refunded, o.MemberRefunded
	for _, r := range o.Refunds {
		if r.Response == nil && r.Refund != nil {
			refunded, told = refunded.Add(r.Refund.Amount), told.Add(r.Member)
		}
	}
	return scrm.RoundFen(refunded.Add(amount).Mul(base).Div(o.Quote.Payable)).Sub(told)
}

// refundLines checks the lines asked for against what is left to refund
// (not refunded nor being refunded) and returns them with explicit
// quantities; none asked for (nil) means every unit left. Errors are
// ErrInvalid naming the field.
func (o *order) refundLines(op string, asked []coupon.RefundLine) ([]coupon.RefundLine, error) {
	left := o.left(o.taken())
	var out []coupon.RefundLine
	if asked == nil {
		for i, n := range left {
			if n > 0 {
				out = append(out, coupon.RefundLine{Line: i, Quantity: n})
			}
		}
		if len(out) == 0 {
			return nil, scrm.Invalid(op, "lines", "nothing is left to refund")
		}
		return out, nil
	}
	for i, l := range asked {
		if l.Line >= len(o.Cart.Items) {
			return nil, scrm.Invalid(op, field("lines", i, "line"), "order %s has %d lines, no line %d", o.ID, len(o.Cart.Items), l.Line)
		}
		q := l.Quantity
		if q == 0 {
			q = left[l.Line]
		}
		switch {
		case left[l.Line] == 0:
			return nil, scrm.Invalid(op, field("lines", i, "quantity"), "line %d is refunded already (or being refunded: retry that refund)", l.Line)
		case q > left[l.Line]:
			return nil, scrm.Invalid(op, field("lines", i, "quantity"), "%d units asked for, %d left to refund on line %d", q, left[l.Line], l.Line)
		}
		out = append(out, coupon.RefundLine{Line: l.Line, Quantity: q})
	}
	slices.SortFunc(out, func(a, b coupon.RefundLine) int { return a.Line - b.Line })
	return out, nil
}

// plainRefund is coupon.Refund's arithmetic for an order without coupons,
// which coupon does not hold: each unit is refunded at its price, and the
// shipping fee with the refund that leaves nothing unrefunded. Call it once
// the refund's record holds lines, so that taken counts them.
func (o *order) plainRefund(lines []coupon.RefundLine) coupon.Refund {
	rf := coupon.Refund{Order: o.ID, Discount: decimal.Zero, Amount: decimal.Zero}
	for _, l := range lines {
		it := o.Cart.Items[l.Line]
		amount := it.Price.Mul(decimal.NewFromInt(int64(l.Quantity)))
		rf.Lines = append(rf.Lines, coupon.RefundedLine{Line: l.Line, SKU: it.SKU, Quantity: l.Quantity,
			Discount: decimal.Zero, Amount: amount})
		rf.Amount = rf.Amount.Add(amount)
	}
	rf.Full = o.covers(o.taken())
	if rf.Full {
		rf.Amount = rf.Amount.Add(o.Quote.Shipping.Sub(o.Quote.ShippingDiscount))
	}
	return rf
}
