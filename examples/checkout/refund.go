package main

import (
	"context"
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
// derived from it, and the order's totals change only when every step
// succeeded, so a refund that failed half way completes when retried.
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
	if rec := o.Refunds[in.key]; rec != nil {
		if rec.Fingerprint != fp {
			return refundResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "idempotency_key",
				Msg: fmt.Sprintf("key %q was used for another refund of order %s", in.key, o.ID)}
		}
		return rec.Response, true, nil
	}
	if o.State != statePaid {
		return refundResponse{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "order_id",
			Msg: fmt.Sprintf("order %s is %s; only a paid order can be refunded", o.ID, o.State)}
	}
	lines, err := o.refundLines(op, in.lines)
	if err != nil {
		return refundResponse{}, false, err
	}

	libKey := "refund:" + o.ID + ":" + in.key
	var rf coupon.Refund
	if len(o.Coupons) > 0 {
		if rf, err = s.coupons.Refund(ctx, coupon.RefundRequest{Tenant: s.tenant, OrderID: o.ID, Lines: lines, IdempotencyKey: libKey}); err != nil {
			return refundResponse{}, false, err
		}
	} else {
		rf = o.plainRefund(lines)
	}

	// The points' part, as member computes it.
	var mr member.RefundResult
	refunded := o.Refunded.Add(rf.Amount)
	memberRefunded := o.MemberRefunded
	if (o.HoldID != "" || o.Cash.IsPositive()) && o.Quote.Payable.IsPositive() {
		base := o.Cash // what Earn credited on
		if !base.IsPositive() {
			base = o.Quote.Payable // the hold's order amount
		}
		memberRefunded = scrm.RoundFen(refunded.Mul(base).Div(o.Quote.Payable))
		if r := memberRefunded.Sub(o.MemberRefunded); r.IsPositive() {
			mr, err = s.members.Refund(ctx, member.RefundRequest{Tenant: s.tenant, Customer: o.Customer, IdempotencyKey: libKey,
				OrderID: o.ID, Amount: r})
			if err != nil {
				return refundResponse{}, false, err
			}
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
	o.Refunded, o.MemberRefunded = refunded, memberRefunded
	o.PointsBack, o.PointsRefunded = pointsBack, pointsRefunded
	o.CashRefunded = o.CashRefunded.Add(cash)
	if rf.Full {
		o.State = stateRefunded
	}
	resp := refundResponse{
		OrderID: o.ID, Amount: yuan(rf.Amount), CouponDiscount: yuan(rf.Discount), Cash: yuan(cash),
		PointsReturned: mr.Returned, PointsForfeited: mr.Forfeited, PointsValue: yuan(pointsValue),
		PointsClawed: mr.Clawed, GrowthClawed: mr.GrowthClawed, Full: rf.Full,
		RestoredCoupons: rf.Restored, ExpiredCoupons: rf.Expired, State: string(o.State),
	}
	for _, l := range rf.Lines {
		resp.Lines = append(resp.Lines, refundLineOut{Line: l.Line, SKU: l.SKU, Quantity: l.Quantity,
			Discount: yuan(l.Discount), Amount: yuan(l.Amount)})
	}
	resp.Balance, _ = s.balance(ctx, o.Customer)
	o.Refunds[in.key] = &refundRecord{Fingerprint: fp, Response: resp}
	return resp, false, nil
}

// refundLines checks the lines asked for against what is left to refund
// and returns them with explicit quantities; none asked for means every
// unit left. Errors are ErrInvalid naming the field.
func (o *order) refundLines(op string, asked []coupon.RefundLine) ([]coupon.RefundLine, error) {
	var out []coupon.RefundLine
	if len(asked) == 0 {
		for i, it := range o.Cart.Items {
			if left := it.Quantity - o.Units[i]; left > 0 {
				out = append(out, coupon.RefundLine{Line: i, Quantity: left})
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
		left := o.Cart.Items[l.Line].Quantity - o.Units[l.Line]
		q := l.Quantity
		if q == 0 {
			q = left
		}
		switch {
		case left == 0:
			return nil, scrm.Invalid(op, field("lines", i, "quantity"), "line %d is refunded already", l.Line)
		case q > left:
			return nil, scrm.Invalid(op, field("lines", i, "quantity"), "%d units asked for, %d left to refund on line %d", q, left, l.Line)
		}
		out = append(out, coupon.RefundLine{Line: l.Line, Quantity: q})
	}
	slices.SortFunc(out, func(a, b coupon.RefundLine) int { return a.Line - b.Line })
	return out, nil
}

// plainRefund is coupon.Refund's arithmetic for an order without coupons,
// which coupon does not hold: each unit is refunded at its price, and the
// shipping fee with the last of them.
func (o *order) plainRefund(lines []coupon.RefundLine) coupon.Refund {
	rf := coupon.Refund{Order: o.ID, Discount: decimal.Zero, Amount: decimal.Zero, Full: true}
	refunding := make(map[int]int, len(lines))
	for _, l := range lines {
		it := o.Cart.Items[l.Line]
		amount := it.Price.Mul(decimal.NewFromInt(int64(l.Quantity)))
		rf.Lines = append(rf.Lines, coupon.RefundedLine{Line: l.Line, SKU: it.SKU, Quantity: l.Quantity,
			Discount: decimal.Zero, Amount: amount})
		rf.Amount = rf.Amount.Add(amount)
		refunding[l.Line] = l.Quantity
	}
	for i, it := range o.Cart.Items {
		if o.Units[i]+refunding[i] < it.Quantity {
			rf.Full = false
		}
	}
	if rf.Full {
		rf.Amount = rf.Amount.Add(o.Quote.Shipping.Sub(o.Quote.ShippingDiscount))
	}
	return rf
}
