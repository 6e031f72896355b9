package coupon

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Quote is the price of a cart with coupons: what each coupon takes off, how
// that is spread over the lines, and why the coupons that do not apply were
// rejected. Amounts are in yuan, exact to the fen; nothing is ever negative.
type Quote struct {
	Subtotal         decimal.Decimal // the items before discounts
	Shipping         decimal.Decimal // the shipping fee before discounts
	ItemDiscount     decimal.Decimal // taken off the items: the sum of Lines[i].Discount
	ShippingDiscount decimal.Decimal // taken off the shipping fee
	Discount         decimal.Decimal // ItemDiscount + ShippingDiscount
	Payable          decimal.Decimal // Subtotal + Shipping - Discount, never negative
	// Lines are the cart's items in cart order with the discount each got.
	Lines []Line
	// Applied are the coupons that apply, in the order they were applied.
	Applied []Applied
	// Rejected are the coupons that do not apply, in the order they were
	// given, each with the reason.
	Rejected []Rejection
}

// Coupons returns the IDs of the applied coupons, in order.
func (q Quote) Coupons() []string {
	ids := make([]string, len(q.Applied))
	for i, a := range q.Applied {
		ids[i] = a.Coupon
	}
	return ids
}

// Line is one cart line in a Quote. Amount and Payable are methods, computed
// from the fields, so that a quote carries only what it decided.
type Line struct {
	Index    int // position in Cart.Items
	SKU      string
	Quantity int
	Price    decimal.Decimal // unit price, as in the cart
	Discount decimal.Decimal // the sum of every coupon's share of this line
}

// Amount returns the line before discounts: Price × Quantity.
func (l Line) Amount() decimal.Decimal {
	return l.Price.Mul(decimal.NewFromInt(int64(l.Quantity)))
}

// Payable returns what is left to pay for the line: Amount - Discount,
// never negative.
func (l Line) Payable() decimal.Decimal { return l.Amount().Sub(l.Discount) }

// Applied is one coupon that applies.
//
// Its item discount is spread over its in-scope lines in proportion to what
// each line had left to pay when the coupon applied, each share rounded
// half-up to the fen; what rounding leaves over (or took too much) goes to the
// line with the most left, then the next, so that the shares add up exactly
// to the discount. A single item's refund relies on this.
type Applied struct {
	Coupon   string
	Template string
	Kind     Kind
	Discount decimal.Decimal // what the coupon takes off in all: the sum of Lines plus Shipping
	Shipping decimal.Decimal // the part taken off the shipping fee
	Lines    []Share         // the part taken off each line, lines with a share only
}

// Share is one coupon's part of one line's discount.
type Share struct {
	Line     int // position in Cart.Items
	Discount decimal.Decimal
}

// Reason is a machine-readable cause of a rejection (and of a batch skip).
type Reason string

// The reasons a coupon does not apply to a cart.
const (
	ReasonNotStarted  Reason = "not_started"  // before its validity starts
	ReasonExpired     Reason = "expired"      // its validity ended
	ReasonRedeemed    Reason = "redeemed"     // already used by an order
	ReasonLocked      Reason = "locked"       // held by another order awaiting payment
	ReasonRevoked     Reason = "revoked"      // withdrawn by the merchant
	ReasonAudience    Reason = "audience"     // the customer left the audience (Template.RecheckAudience)
	ReasonStore       Reason = "store"        // not valid in the cart's store
	ReasonChannel     Reason = "channel"      // not valid in the cart's channel
	ReasonOutOfScope  Reason = "out_of_scope" // no item of the cart is in scope
	ReasonGiftMissing Reason = "gift_missing" // the gift SKU is not in the cart
	ReasonMinSpend    Reason = "min_spend"    // the in-scope items do not reach MinSpend; see Shortfall
	ReasonStacking    Reason = "stacking"     // cannot be combined with a coupon given before it
	ReasonBudget      Reason = "budget"       // the template's budget cannot cover its discount
	ReasonNoDiscount  Reason = "no_discount"  // applies but takes nothing off (nothing left to take)
	ReasonDuplicate   Reason = "duplicate"    // the same coupon was given twice
)

// The reasons a batch issue skips a customer (besides ReasonAudience).
const (
	ReasonStock       Reason = "stock"        // the template's stock is exhausted
	ReasonPerCustomer Reason = "per_customer" // the customer reached PerCustomer
	ReasonPerDay      Reason = "per_day"      // the customer reached PerCustomerPerDay today
	ReasonInvalid     Reason = "invalid"      // the customer ID is malformed
	ReasonConflict    Reason = "conflict"     // the key was used before with another payload
)

// Rejection says why one coupon does not apply.
type Rejection struct {
	Coupon    string
	Template  string
	Reason    Reason
	Message   string          // for people, in English, with the amounts
	Other     string          // stacking: the coupon it conflicts with; locked/redeemed: the order
	Shortfall decimal.Decimal // min_spend: how much more the in-scope items must add up to
}

// Offer is one coupon offered to Evaluate or Select, with what they need to
// know beyond the cart.
type Offer struct {
	Coupon   Coupon
	Template Template
	// BudgetLeft is how much of Template.Budget is still free to give
	// (ignored when Template.Budget is zero).
	BudgetLeft decimal.Decimal
	// OutOfAudience marks a coupon whose template rechecks its audience and
	// whose customer no longer matches it.
	OutOfAudience bool
}

// Evaluate prices cart with the offered coupons at now, the pure function
// behind Service.Quote: it reads nothing but its arguments.
//
// Coupons are checked one by one (state, validity at now, audience, store,
// channel, scope, minimum spend), then the survivors are stacked in the order
// given: an exclusive coupon combines with nothing, and a stack group holds
// one coupon; a coupon that conflicts with one given before it is rejected.
// The rest apply in kind order: gift, cash and threshold, percent (on what is
// left), free shipping; within a kind, the narrowest scope (least in-scope
// amount) first, then by template ID and coupon ID, so the order coupons are
// listed in never changes the total, only which of two conflicting coupons
// wins, and coupons of one template apply at the same point. A coupon whose
// discount would overrun its template's budget, or that takes nothing off, is
// rejected, and then blocks nothing: the coupons its stacking rejected are
// stacked again without it and every coupon is priced again (an exclusive
// coupon listed first whose budget ran out does not leave the order without
// the others).
//
// Errors: ErrInvalid for a malformed cart or template, or an offer of another
// tenant or whose coupon is not of its template; ErrForbidden for a coupon of
// another customer.
func Evaluate(cart Cart, offers []Offer, now time.Time) (Quote, error) {
	const op = "coupon.Evaluate"
	pc, os, err := prepareOffers(op, cart, offers)
	if err != nil {
		return Quote{}, err
	}
	return evaluate(&cart, pc, os, now), nil
}

func prepareOffers(op string, cart Cart, offers []Offer) (*pricedCart, []*offer, error) {
	pc, err := priceCart(op, cart)
	if err != nil {
		return nil, nil, err
	}
	os := make([]*offer, len(offers))
	compiled := make(map[string]*terms)
	for i, o := range offers {
		f := "Offers[" + itoa(i) + "]"
		switch {
		case o.Coupon.Tenant != cart.Tenant || o.Template.Tenant != cart.Tenant:
			return nil, nil, scrm.Invalid(op, f, "of tenant %q, the cart is of %q", o.Coupon.Tenant, cart.Tenant)
		case o.Coupon.Template != o.Template.ID:
			return nil, nil, scrm.Invalid(op, f+".Template", "coupon %s is of template %q, got %q", o.Coupon.ID, o.Coupon.Template, o.Template.ID)
		case o.Coupon.Customer != cart.Customer:
			return nil, nil, scrm.Errorf(scrm.ErrForbidden, op, "coupon %s belongs to another customer", o.Coupon.ID)
		}
		key := o.Template.ID
		tm := compiled[key]
		if tm == nil {
			// The audience is not evaluated here (OutOfAudience says), so
			// it need not compile; check the rest.
			t := o.Template
			t.Audience = nil
			t.RecheckAudience = false
			if tm, err = compileTerms(t, nil); err != nil {
				return nil, nil, err
			}
			compiled[key] = tm
		}
		left := int64(0)
		if tm.budget > 0 {
			if err := checkMoney(op, f+".BudgetLeft", o.BudgetLeft); err != nil {
				return nil, nil, err
			}
			left = fen(o.BudgetLeft)
		}
		os[i] = &offer{c: o.Coupon, tm: tm, budgetLeft: left, outOfAudience: o.OutOfAudience}
	}
	return pc, os, nil
}
