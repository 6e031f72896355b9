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
//
// Shares are rounded per line, cumulatively. For a line of quantity q whose
// discount is D (the sum of its coupons' shares), the discount given back
// with its first u refunded units is L(u) = D × u ÷ q rounded half-up to the
// fen; a refund taking the line from p to u refunded units gives back
// L(u) − L(p) (L(u) less what the line's earlier refunds gave back, which
// is L(p)). So a line's Amount is never negative nor above the units'
// price, and all refunds of a line add up exactly to D.
//
// That part is split among the line's coupons (RefundedLine.Coupons). Each
// coupon j with share s_j, having given back c_j on the line in earlier
// refunds, starts from s_j × u ÷ q rounded half-up, minus c_j, kept within
// [0, s_j − c_j]; then, while the parts fall short of the line's part, a fen
// goes to the coupon with room left (c_j + part < s_j) that is furthest
// below its exact share s_j × u ÷ q (ties: the earlier coupon), and while
// they exceed it, a fen is taken from the coupon with a part that is
// furthest above it (ties: the later coupon). No part is negative, and once
// the line is refunded in full each coupon's parts add up exactly to its
// share. The templates' budgets and stats get back exactly the parts.
//
// A refund that leaves nothing unrefunded is full: the shipping discount
// and shipping paid are added, the order becomes refunded, and each coupon
// goes back to the wallet if its validity has not ended (Refund.Restored),
// else stays expired (Refund.Expired). A partial refund keeps the coupons
// redeemed. The refunded share goes back to each template's budget and
// stats. A full refund publishes EventRestored per coupon; a retry with the
// same IdempotencyKey, or a full refund of a fully refunded order without
// one, returns the stored refund and publishes those events again, with the
// same IDs, so a publish that failed (ErrUnavailable, the refund stored) is
// made good by retrying.
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
			if err != nil {
				return res.Refund, scrm.Wrap(nil, op, err)
			}
			// The first call may have failed to publish: publish again.
			return res.Refund, s.emitRestored(ctx, o, res.Refund)
		}
		if o.State == OrderRefunded && len(req.Lines) == 0 && req.IdempotencyKey == "" && len(o.Refunds) > 0 {
			last := o.Refunds[len(o.Refunds)-1].Clone()
			return last, s.emitRestored(ctx, o, last)
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
		// A replay (the key was stored since o was read) publishes again too:
		// the IDs are the same, so handlers deduplicate.
		if err := s.emitRestored(ctx, o, res.Refund); err != nil {
			return res.Refund, err
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
		line := RefundedLine{Line: i, SKU: it.SKU, Quantity: units[i]}
		cs := lineCoupons(o, i)
		lineShare := splitLineRefund(cs, int64(after[i]), int64(it.Quantity))
		for _, c := range cs {
			if c.part == 0 {
				continue
			}
			perTemplate[c.template] += c.part
			line.Coupons = append(line.Coupons, CouponShare{Coupon: c.coupon, Discount: scrm.FromFen(c.part)})
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

// lineCoupon is one coupon's share of an order line, for a refund.
type lineCoupon struct {
	coupon, template string
	share            int64 // its share of the line's discount
	done             int64 // what earlier refunds of the line gave back of it
	part             int64 // what this refund gives back of it
}

// lineCoupons returns the coupons with a share of line i of o, in the order
// they applied, with what the order's earlier refunds gave back of each.
func lineCoupons(o Order, i int) []lineCoupon {
	var cs []lineCoupon
	for _, a := range o.Quote.Applied {
		for _, sh := range a.Lines {
			if sh.Line == i {
				cs = append(cs, lineCoupon{coupon: a.Coupon, template: a.Template, share: fen(sh.Discount)})
			}
		}
	}
	for _, r := range o.Refunds {
		for _, l := range r.Lines {
			if l.Line != i {
				continue
			}
			for _, s := range l.Coupons {
				if k := slices.IndexFunc(cs, func(c lineCoupon) bool { return c.coupon == s.Coupon }); k >= 0 {
					cs[k].done += fen(s.Discount)
				}
			}
		}
	}
	return cs
}

// splitLineRefund sets the part of each coupon of a line of quantity q when
// its refunded units reach after, and returns their sum, the line's part;
// see Service.Refund for the rule. The parts of earlier refunds (done) add
// up to L(prev), so the line's part L(after) − L(prev) lies within
// [0, Σ(share − done)] and the split exists; the corrections are a few fen.
func splitLineRefund(cs []lineCoupon, after, q int64) int64 {
	var total, done, sum int64
	for _, c := range cs {
		total += c.share
		done += c.done
	}
	// What earlier refunds gave back is L(prev); reading it from them keeps
	// a line's refunds adding up to its discount whatever they reported.
	target := min(max(mulDivRound(total, after, q)-done, 0), max(total-done, 0))
	// Coupon j's exact cumulative share is share_j × after ÷ q = quo_j +
	// rem_j ÷ q. Its deficit, what that exceeds done_j + part_j by (a
	// surplus when negative), is ((quo_j − done_j − part_j) × q + rem_j) ÷
	// q; as 0 <= rem_j < q, deficits compare exactly as the pairs
	// (quo_j − done_j − part_j, rem_j), with no product to overflow.
	type gap struct{ whole, rem int64 }
	less := func(a, b gap) bool { return a.whole < b.whole || a.whole == b.whole && a.rem < b.rem }
	quo := make([]int64, len(cs))
	rem := make([]int64, len(cs))
	for j := range cs {
		c := &cs[j]
		quo[j], rem[j] = mulDivRem(c.share, after, q)
		rounded := quo[j]
		if rem[j] >= q-rem[j] {
			rounded++
		}
		c.part = min(max(rounded-c.done, 0), max(c.share-c.done, 0))
		sum += c.part
	}
	deficit := func(j int) gap { return gap{quo[j] - cs[j].done - cs[j].part, rem[j]} }
	for sum < target {
		best := -1
		for j := range cs {
			if cs[j].done+cs[j].part < cs[j].share && (best < 0 || less(deficit(best), deficit(j))) {
				best = j
			}
		}
		if best < 0 {
			break
		}
		cs[best].part++
		sum++
	}
	for sum > target {
		best := -1
		for j := range cs {
			if cs[j].part > 0 && (best < 0 || !less(deficit(best), deficit(j))) {
				best = j
			}
		}
		if best < 0 {
			break
		}
		cs[best].part--
		sum--
	}
	return sum
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
			if err := s.emit(ctx, scrm.Event{ID: eventID(EventRestored, id, o.ID), Tenant: o.Tenant,
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
