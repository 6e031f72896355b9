package coupon

import (
	"cmp"
	"math/bits"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// The pricing engine works in int64 fen: amounts are bounded by
// maxAmountFen (1e13), so sums are exact, and products go through 128-bit
// intermediates (mulDivRound). Decimals appear only in the Quote it returns.

// offer is a coupon with its compiled terms.
type offer struct {
	c             Coupon
	tm            *terms
	budgetLeft    int64 // what the template's budget still allows; when tm.budget > 0
	outOfAudience bool
}

// prep is an offer checked against one cart.
type prep struct {
	o      *offer
	idx    int // position in the request
	reason Reason
	msg    string
	other  string
	short  int64
	// target are the lines the discount is spread over: the in-scope lines,
	// or the gift line.
	target []int32
	// byPrice are positions in target by unit price, highest first (ties in
	// cart order); only with MaxUnits.
	byPrice []int32
	orig    int64 // in-scope amount before any coupon
	solo    int64 // discount alone on the cart, budget ignored (Best's bound)
	// priced: rejected while applying (no_discount, budget) in the
	// current round of evaluate, which may price it again.
	priced bool
}

// prepare checks the order-independent conditions of o on the cart.
func prepare(cart *Cart, pc *pricedCart, o *offer, now time.Time, idx int) prep {
	p := prep{o: o, idx: idx}
	c, tm := &o.c, o.tm
	switch {
	case c.State == StateRevoked:
		p.reject(ReasonRevoked, "revoked by the merchant")
		return p
	case c.State == StateRedeemed:
		p.other = c.Order
		p.reject(ReasonRedeemed, "already used in order "+c.Order)
		return p
	case c.State == StateLocked && (cart.OrderID == "" || c.Order != cart.OrderID):
		p.other = c.Order
		p.reject(ReasonLocked, "locked by order "+c.Order+" awaiting payment")
		return p
	case c.State == StateExpired || !now.Before(c.ValidTo):
		p.reject(ReasonExpired, "expired at "+c.ValidTo.Format(time.RFC3339))
		return p
	case now.Before(c.ValidFrom):
		p.reject(ReasonNotStarted, "valid from "+c.ValidFrom.Format(time.RFC3339))
		return p
	case o.outOfAudience:
		p.reject(ReasonAudience, "the customer is no longer in the coupon's audience")
		return p
	case !tm.stores.empty() && !tm.stores.has(cart.Store):
		p.reject(ReasonStore, "not valid in store "+quote(cart.Store))
		return p
	case !tm.channels.empty() && !tm.channels.has(cart.Channel):
		p.reject(ReasonChannel, "not valid in channel "+quote(cart.Channel))
		return p
	}
	gift := int32(-1)
	if tm.t.Kind != KindGift {
		p.target = make([]int32, 0, len(cart.Items))
	}
	for i := range cart.Items {
		it := &cart.Items[i]
		if tm.inScope(it) {
			p.orig += pc.amount[i]
			if tm.t.Kind != KindGift {
				p.target = append(p.target, int32(i))
			}
		}
		if tm.t.Kind == KindGift && gift < 0 && it.SKU == tm.t.GiftSKU {
			gift = int32(i)
		}
	}
	switch tm.t.Kind {
	case KindGift:
		if gift < 0 {
			p.reject(ReasonGiftMissing, "the gift "+quote(tm.t.GiftSKU)+" is not in the cart")
			return p
		}
		p.target = []int32{gift}
	case KindFreeShipping:
		if len(p.target) == 0 {
			p.reject(ReasonOutOfScope, "no item in the cart is in the coupon's scope")
			return p
		}
		p.target = nil
	default:
		if len(p.target) == 0 {
			p.reject(ReasonOutOfScope, "no item in the cart is in the coupon's scope")
			return p
		}
	}
	if p.orig < tm.minSpend {
		p.short = tm.minSpend - p.orig
		p.reject(ReasonMinSpend, "spend "+yuan(p.short)+" more on eligible items (minimum "+yuan(tm.minSpend)+", have "+yuan(p.orig)+")")
		return p
	}
	if tm.maxUnits > 0 {
		p.byPrice = make([]int32, len(p.target))
		for j := range p.byPrice {
			p.byPrice[j] = int32(j)
		}
		slices.SortStableFunc(p.byPrice, func(a, b int32) int {
			pa, pb := pc.price[p.target[a]], pc.price[p.target[b]]
			switch {
			case pa > pb:
				return -1
			case pa < pb:
				return 1
			}
			return 0
		})
	}
	return p
}

func (p *prep) reject(r Reason, msg string) { p.reason, p.msg = r, msg }

// apply computes p's discount on what is left to pay (rem per line, shipRem
// for shipping), writing the share of each target line into alloc; w is
// scratch. Both must be at least len(p.target) long. It changes nothing
// else; the caller subtracts the shares.
func (p *prep) apply(pc *pricedCart, rem []int64, shipRem int64, w, alloc []int64) (item, ship int64) {
	tm := p.o.tm
	switch tm.t.Kind {
	case KindFreeShipping:
		ship = shipRem
		if tm.capFen > 0 && ship > tm.capFen {
			ship = tm.capFen
		}
		return 0, ship
	case KindGift:
		li := p.target[0]
		item = min(pc.price[li], rem[li])
		alloc[0] = item
		return item, 0
	}
	n := len(p.target)
	w, alloc = w[:n], alloc[:n]
	var total int64
	if tm.maxUnits == 0 {
		for j, li := range p.target {
			w[j] = rem[li]
			total += w[j]
		}
	} else {
		clear(w)
		left := tm.maxUnits
		for _, j := range p.byPrice {
			li := p.target[j]
			k := min(pc.qty[li], left)
			if k == pc.qty[li] {
				w[j] = rem[li]
			} else {
				w[j] = mulDivRound(rem[li], k, pc.qty[li])
			}
			total += w[j]
			if left -= k; left == 0 {
				break
			}
		}
	}
	if total == 0 {
		clear(alloc)
		return 0, 0
	}
	switch tm.t.Kind {
	case KindCash:
		item = tm.amount
	case KindThreshold:
		times := int64(1)
		if tm.t.Every {
			times = p.orig / tm.minSpend
			if tm.maxTimes > 0 && times > tm.maxTimes {
				times = tm.maxTimes
			}
		}
		// Every requires amount <= minSpend, so times*amount <= orig.
		item = times * tm.amount
	case KindPercent:
		item = mulDivRound(total, rateDen-tm.paidNum, rateDen)
		if tm.capFen > 0 && item > tm.capFen {
			item = tm.capFen
		}
	}
	item = min(item, total)
	allocate(item, w, total, alloc)
	return item, 0
}

// allocate spreads d (0 <= d <= total = sum of w) over the lines in
// proportion to w: each share is rounded half-up to the fen, then the
// difference from d is given to (or taken from) the line with the largest
// weight, ties to the first, spilling to the next largest when a share would
// leave [0, w]. The shares add up to d exactly and each is within [0, w].
func allocate(d int64, w []int64, total int64, out []int64) {
	var sum int64
	for j, wj := range w {
		if wj == 0 {
			out[j] = 0
			continue
		}
		out[j] = mulDivRound(d, wj, total)
		sum += out[j]
	}
	for rest := d - sum; rest != 0; {
		best := -1
		for j, wj := range w {
			room := (rest > 0 && out[j] < wj) || (rest < 0 && out[j] > 0)
			if room && (best < 0 || wj > w[best]) {
				best = j
			}
		}
		if rest > 0 {
			step := min(rest, w[best]-out[best])
			out[best] += step
			rest -= step
		} else {
			step := min(-rest, out[best])
			out[best] -= step
			rest += step
		}
	}
}

// mulDivRound returns a*b/c rounded half-up, for a, b >= 0 and c > 0 whose
// quotient fits an int64 (the callers guarantee a <= c or b <= c).
func mulDivRound(a, b, c int64) int64 {
	q, r := mulDivRem(a, b, c)
	if r >= c-r {
		q++
	}
	return q
}

// mulDivRem returns the quotient and remainder of a*b/c, exactly, under
// mulDivRound's conditions.
func mulDivRem(a, b, c int64) (q, r int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	uq, ur := bits.Div64(hi, lo, uint64(c))
	return int64(uq), int64(ur)
}

// evaluate prices the cart with the offers, in the order given; see
// Evaluate.
func evaluate(cart *Cart, pc *pricedCart, offers []*offer, now time.Time) Quote {
	preps := make([]prep, len(offers))
	for i, o := range offers {
		preps[i] = prepare(cart, pc, o, now, i)
		for j := range i {
			if offers[j].c.ID == o.c.ID {
				preps[i].reject(ReasonDuplicate, "given twice")
				break
			}
		}
	}
	n := len(pc.amount)
	buf := make([]int64, 4*n)
	rem, lineDisc, w, alloc := buf[:n:n], buf[n:2*n:2*n], buf[2*n:3*n:3*n], buf[3*n:]
	accepted := make([]*prep, 0, len(preps))
	groups := make([]string, 0, len(preps))
	var q Quote
	var itemTotal, shipTotal int64
	for {
		accepted, groups = stack(preps, accepted[:0], groups[:0])
		slices.SortFunc(accepted, applyOrder)
		copy(rem, pc.amount)
		clear(lineDisc)
		shipRem := pc.shipping
		q = Quote{Applied: make([]Applied, 0, len(accepted))}
		itemTotal, shipTotal = 0, 0
		for _, p := range accepted {
			item, ship := p.apply(pc, rem, shipRem, w, alloc)
			d := item + ship
			if d == 0 {
				p.reject(ReasonNoDiscount, "takes nothing off this cart")
				p.priced = true
				continue
			}
			// Coupons of one template share a stack group, so at most one of
			// them applies: its budget is its own.
			if p.o.tm.budget > 0 && d > p.o.budgetLeft {
				p.reject(ReasonBudget, "the template's budget has "+yuan(p.o.budgetLeft)+" left; this coupon would take "+yuan(d))
				p.priced = true
				continue
			}
			a := Applied{Coupon: p.o.c.ID, Template: p.o.c.Template, Kind: p.o.tm.t.Kind,
				Discount: money(d), Shipping: money(ship)}
			shared := 0
			for j := range p.target {
				if alloc[j] != 0 {
					shared++
				}
			}
			if shared > 0 {
				a.Lines = make([]Share, 0, shared)
			}
			for j, li := range p.target {
				if alloc[j] == 0 {
					continue
				}
				rem[li] -= alloc[j]
				lineDisc[li] += alloc[j]
				a.Lines = append(a.Lines, Share{Line: int(li), Discount: money(alloc[j])})
			}
			shipRem -= ship
			itemTotal += item
			shipTotal += ship
			q.Applied = append(q.Applied, a)
		}
		// A coupon dropped while applying (it took nothing off, or its
		// budget ran short) blocks nothing: when stacking rejected coupons
		// for it, it is dropped for good, and the rest are stacked and
		// priced again without it (a coupon priced out only because a
		// blocked one was missing gets its chance). Each round drops one
		// more coupon for good, so this ends.
		if !unblock(preps) {
			break
		}
	}
	q.Lines = make([]Line, n)
	for i, it := range cart.Items {
		// Decimals are immutable: the line shares the cart's price.
		q.Lines[i] = Line{Index: i, SKU: it.SKU, Quantity: it.Quantity, Price: it.Price, Discount: money(lineDisc[i])}
	}
	for i := range preps {
		p := &preps[i]
		if p.reason == "" {
			continue
		}
		r := Rejection{Coupon: p.o.c.ID, Template: p.o.c.Template, Reason: p.reason, Message: p.msg, Other: p.other}
		if p.short > 0 {
			r.Shortfall = money(p.short)
		}
		q.Rejected = append(q.Rejected, r)
	}
	q.Subtotal = money(pc.subtotal)
	q.Shipping = cart.Shipping
	q.ItemDiscount = money(itemTotal)
	q.ShippingDiscount = money(shipTotal)
	q.Discount = money(itemTotal + shipTotal)
	q.Payable = money(pc.subtotal + pc.shipping - itemTotal - shipTotal)
	return q
}

// stack decides which of the coupons that passed their checks may be used
// together, in the order given: an exclusive coupon combines with nothing,
// and a stack group holds one coupon; a coupon that conflicts with one
// accepted before it is rejected (ReasonStacking). It returns the accepted
// coupons and their groups, appended to accepted and groups.
func stack(preps []prep, accepted []*prep, groups []string) ([]*prep, []string) {
	var exclusive *prep
	for i := range preps {
		p := &preps[i]
		if p.reason != "" {
			continue
		}
		t := &p.o.tm.t
		switch {
		case exclusive != nil:
			p.other = exclusive.o.c.ID
			p.reject(ReasonStacking, "cannot be combined with exclusive coupon "+exclusive.o.c.ID)
			continue
		case t.Exclusive && len(accepted) > 0:
			p.other = accepted[0].o.c.ID
			p.reject(ReasonStacking, "exclusive: cannot be combined with coupon "+accepted[0].o.c.ID)
			continue
		}
		if k := slices.Index(groups, p.o.tm.group); k >= 0 {
			p.other = accepted[k].o.c.ID
			p.reject(ReasonStacking, "only one coupon of group "+quote(p.o.tm.group)+" per order; coupon "+accepted[k].o.c.ID+" is of it too")
			continue
		}
		if t.Exclusive {
			exclusive = p
		}
		accepted = append(accepted, p)
		groups = append(groups, p.o.tm.group)
	}
	return accepted, groups
}

// unblock ends a round of evaluate: when a coupon dropped while applying
// had made stacking reject others (it is their Other), it stays dropped,
// and every other rejection of the round (stacking, and the pricing of the
// others) is cleared for another round; unblock reports whether it did so.
func unblock(preps []prep) bool {
	blocker := false
	for i := range preps {
		p := &preps[i]
		if p.reason != ReasonStacking {
			continue
		}
		for j := range preps {
			if q := &preps[j]; q.priced && q.o.c.ID == p.other {
				q.priced = false // dropped for good
				blocker = true
			}
		}
	}
	if !blocker {
		return false
	}
	for i := range preps {
		if p := &preps[i]; p.reason == ReasonStacking || p.priced {
			p.reason, p.msg, p.other, p.priced = "", "", "", false
		}
	}
	return true
}

// applyOrder orders coupons for application: by kind (gift, cash and
// threshold, percent, free shipping), then narrowest scope first (the least
// in-scope amount: a coupon for one product before a storewide one, as
// shoppers expect and so that the broad coupon is not spent on lines the
// narrow one needed), then by template ID and coupon ID. The order the
// caller lists coupons in thus never changes the total, and neither does
// which of two coupons of one template is used: they apply at the same
// point among the others.
func applyOrder(a, b *prep) int {
	return cmp.Or(cmp.Compare(a.o.tm.phase, b.o.tm.phase), cmp.Compare(a.orig, b.orig),
		cmp.Compare(a.o.c.Template, b.o.c.Template), cmp.Compare(a.o.c.ID, b.o.c.ID))
}

// yuan formats fen as yuan with two decimals.
func yuan(f int64) string { return scrm.FromFen(f).StringFixed(2) }

// money converts fen to yuan. Zero is the zero Decimal, which needs no
// allocation; decimals are compared with Equal, so the representation does
// not matter.
func money(f int64) decimal.Decimal {
	if f == 0 {
		return decimal.Decimal{}
	}
	return scrm.FromFen(f)
}
