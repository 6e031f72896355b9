package coupon

import (
	"context"
	"errors"
	"slices"

	"github.com/scrmkit/scrmkit/scrm"
)

// RefundRequest refunds a confirmed order, in full or in part.
type RefundRequest struct {
	Tenant  scrm.TenantID
	OrderID string
	// Lines are the units refunded; empty means everything not yet
	// refunded (a full refund).
	Lines []RefundLine
	// IdempotencyKey is optional. With one, a retry returns the first
	// result. Without one, each call refunds again, within the units left;
	// a full refund of a fully refunded order returns that refund.
	IdempotencyKey string
}

// RefundLine is a refund of units of one cart line.
type RefundLine struct {
	Line     int // position in the order's Cart.Items
	Quantity int // 0 means every unit not yet refunded
}

// maxRefundAttempts bounds Refund's retries when the order changes under it.
const maxRefundAttempts = 8

// Refund records a refund of a confirmed order and reports the coupons'
// share of the refunded units per line (RefundedLine.Discount) and what the
// customer paid for them (Amount), so the host refunds the right money.
// Shares are cumulative per line: line discount × units refunded so far ÷
// quantity, rounded half-up to the fen, minus what earlier refunds reported,
// so that all refunds of a line add up exactly to its discount.
//
// A refund that leaves nothing unrefunded is full: the shipping discount
// and shipping paid are added, the order becomes refunded, and each coupon
// goes back to the wallet if its validity has not ended (Refund.Restored),
// else stays expired (Refund.Expired). A partial refund keeps the coupons
// redeemed. The refunded share goes back to each template's budget and
// stats.
//
// Errors: ErrInvalid (a line out of range, more units than are left, a line
// given twice, nothing to refund); ErrNotFound; ErrConflict (the order is
// locked, released or refunded; the key was used with another request).
func (s *Service) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	const op = "coupon.Refund"
	if err := checkIDs(op, "Tenant", string(req.Tenant), "OrderID", req.OrderID); err != nil {
		return Refund{}, err
	}
	if req.IdempotencyKey != "" {
		if err := scrm.CheckID(op, "IdempotencyKey", req.IdempotencyKey); err != nil {
			return Refund{}, err
		}
	}
	fp := scrm.Fingerprint("refund", req.Tenant, req.OrderID, req.Lines)
	var lastErr error
	for range maxRefundAttempts {
		o, err := s.store.Order(ctx, req.Tenant, req.OrderID)
		if err != nil {
			return Refund{}, scrm.Wrap(nil, op, err)
		}
		if req.IdempotencyKey != "" && slices.ContainsFunc(o.Refunds, func(r Refund) bool { return r.IdempotencyKey == req.IdempotencyKey }) {
			res, err := s.store.Refund(ctx, RefundParams{Tenant: req.Tenant, OrderID: req.OrderID, Version: o.Version,
				Refund: Refund{Order: o.ID, IdempotencyKey: req.IdempotencyKey}, Fingerprint: fp, Now: s.opts.Clock.Now()})
			return res.Refund, scrm.Wrap(nil, op, err)
		}
		if o.State == OrderRefunded && len(req.Lines) == 0 && req.IdempotencyKey == "" && len(o.Refunds) > 0 {
			return o.Refunds[len(o.Refunds)-1].Clone(), nil
		}
		if o.State != OrderConfirmed {
			return Refund{}, scrm.Errorf(scrm.ErrConflict, op, "order %q is %s: only confirmed orders are refunded", o.ID, o.State)
		}
		params, err := s.computeRefund(op, o, req)
		if err != nil {
			return Refund{}, err
		}
		params.Fingerprint = fp
		res, err := s.store.Refund(ctx, params)
		if errors.Is(err, scrm.ErrConflict) && !res.Replayed {
			lastErr = err
			continue // the order changed since it was read; compute again
		}
		if err != nil {
			return Refund{}, scrm.Wrap(nil, op, err)
		}
		if !res.Replayed {
			if err := s.emitRestored(ctx, res.Order, res.Refund); err != nil {
				return res.Refund, err
			}
		}
		return res.Refund, nil
	}
	return Refund{}, scrm.Wrap(nil, op, lastErr)
}

// computeRefund works out the shares of a refund of order o.
func (s *Service) computeRefund(op string, o Order, req RefundRequest) (RefundParams, error) {
	items := o.Cart.Items
	prev := o.Refunded
	if prev == nil {
		prev = make([]int, len(items))
	}
	units := make([]int, len(items))
	if len(req.Lines) == 0 {
		for i, it := range items {
			units[i] = it.Quantity - prev[i]
		}
	}
	for k, l := range req.Lines {
		f := "Lines[" + itoa(k) + "]"
		switch {
		case l.Line < 0 || l.Line >= len(items):
			return RefundParams{}, scrm.Invalid(op, f+".Line", "order %q has lines 0 to %d, got %d", o.ID, len(items)-1, l.Line)
		case slices.ContainsFunc(req.Lines[:k], func(x RefundLine) bool { return x.Line == l.Line }):
			return RefundParams{}, scrm.Invalid(op, f+".Line", "line %d given twice", l.Line)
		case l.Quantity < 0:
			return RefundParams{}, scrm.Invalid(op, f+".Quantity", "must not be negative, got %d", l.Quantity)
		}
		left := items[l.Line].Quantity - prev[l.Line]
		q := l.Quantity
		if q == 0 {
			q = left
		}
		if q > left {
			return RefundParams{}, scrm.Invalid(op, f+".Quantity", "line %d has %d units left to refund, got %d", l.Line, left, q)
		}
		units[l.Line] = q
	}
	after := make([]int, len(items))
	full, some := true, false
	for i, it := range items {
		after[i] = prev[i] + units[i]
		full = full && after[i] == it.Quantity
		some = some || units[i] > 0
	}
	if !some {
		return RefundParams{}, scrm.Invalid(op, "Lines", "nothing left to refund")
	}

	r := Refund{Order: o.ID, IdempotencyKey: req.IdempotencyKey, Full: full, At: s.opts.Clock.Now()}
	perTemplate := make(map[string]int64)
	var discount, amount int64
	for i, it := range items {
		if units[i] == 0 {
			continue
		}
		qty := int64(it.Quantity)
		line := RefundedLine{Line: i, SKU: it.SKU, Quantity: units[i]}
		var lineShare int64
		for _, a := range o.Quote.Applied {
			for _, sh := range a.Lines {
				if sh.Line != i {
					continue
				}
				alloc := fen(sh.Discount)
				part := mulDivRound(alloc, int64(after[i]), qty) - mulDivRound(alloc, int64(prev[i]), qty)
				if part == 0 {
					continue
				}
				lineShare += part
				perTemplate[a.Template] += part
				line.Coupons = append(line.Coupons, CouponShare{Coupon: a.Coupon, Discount: scrm.FromFen(part)})
			}
		}
		paid := fen(it.Price)*int64(units[i]) - lineShare
		line.Discount, line.Amount = scrm.FromFen(lineShare), scrm.FromFen(paid)
		discount += lineShare
		amount += paid
		r.Lines = append(r.Lines, line)
	}
	if full {
		ship := fen(o.Quote.ShippingDiscount)
		for _, a := range o.Quote.Applied {
			if d := fen(a.Shipping); d > 0 {
				perTemplate[a.Template] += d
			}
		}
		discount += ship
		amount += fen(o.Quote.Shipping) - ship
	}
	r.Discount, r.Amount = scrm.FromFen(discount), scrm.FromFen(amount)

	var tas []TemplateAmount
	for _, ta := range o.TemplateDiscounts() {
		tas = append(tas, TemplateAmount{Template: ta.Template, Coupons: ta.Coupons,
			Discount: scrm.FromFen(perTemplate[ta.Template]), GMV: r.Amount})
	}
	return RefundParams{Tenant: o.Tenant, OrderID: o.ID, Version: o.Version, Refund: r, Units: after,
		Templates: tas, Now: r.At}, nil
}

func (s *Service) emitRestored(ctx context.Context, o Order, r Refund) error {
	if !s.publish || !r.Full {
		return nil
	}
	for _, ids := range []struct {
		state State
		ids   []string
	}{{StateAvailable, r.Restored}, {StateExpired, r.Expired}} {
		for _, id := range ids.ids {
			if err := s.emit(ctx, scrm.Event{ID: EventRestored + ":" + id + ":" + o.ID, Tenant: o.Tenant,
				Customer: o.Customer, Type: EventRestored, Time: r.At,
				Props: map[string]any{"coupon": id, "template": templateOf(o, id), "order_id": o.ID, "state": string(ids.state)}}); err != nil {
				return err
			}
		}
	}
	return nil
}

func templateOf(o Order, coupon string) string {
	for _, a := range o.Quote.Applied {
		if a.Coupon == coupon {
			return a.Template
		}
	}
	return ""
}
