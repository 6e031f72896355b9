package coupon

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// OrderState is where an order is in checkout.
type OrderState string

// The states of an order.
const (
	OrderLocked    OrderState = "locked"    // coupons held, awaiting payment
	OrderConfirmed OrderState = "confirmed" // paid; coupons redeemed (possibly partly refunded since)
	OrderReleased  OrderState = "released"  // not paid; coupons given back
	OrderRefunded  OrderState = "refunded"  // refunded in full; coupons given back if still valid
)

// Order is a cart with coupons locked to it: the try / confirm / cancel unit
// of checkout.
type Order struct {
	Tenant   scrm.TenantID
	ID       string
	Customer scrm.CustomerID
	State    OrderState
	// Coupons are the locked coupons, in the order they applied.
	Coupons []string
	// Cart is the cart as locked; Quote its price with Coupons.
	Cart  Cart
	Quote Quote
	// Refunded is how many units of each cart line were refunded (nil
	// before the first refund).
	Refunded []int
	// Refunds are the refunds in the order they happened.
	Refunds        []Refund
	IdempotencyKey string
	LockedAt       time.Time
	ConfirmedAt    time.Time
	ReleasedAt     time.Time
	RefundedAt     time.Time // the last refund
	Version        int64
}

// Clone returns a deep copy of o.
func (o Order) Clone() Order {
	o.Coupons = slices.Clone(o.Coupons)
	o.Cart.Items = slices.Clone(o.Cart.Items)
	o.Quote = o.Quote.clone()
	o.Refunded = slices.Clone(o.Refunded)
	if o.Refunds != nil {
		rs := make([]Refund, len(o.Refunds))
		for i, r := range o.Refunds {
			rs[i] = r.Clone()
		}
		o.Refunds = rs
	}
	return o
}

func (q Quote) clone() Quote {
	q.Lines = slices.Clone(q.Lines)
	if q.Applied != nil {
		as := make([]Applied, len(q.Applied))
		for i, a := range q.Applied {
			a.Lines = slices.Clone(a.Lines)
			as[i] = a
		}
		q.Applied = as
	}
	q.Rejected = slices.Clone(q.Rejected)
	return q
}

// TemplateDiscounts sums what the order's coupons take off per template, in
// the order the templates first apply. Stores use it to reserve and settle
// budgets.
func (o Order) TemplateDiscounts() []TemplateAmount {
	var out []TemplateAmount
	for _, a := range o.Quote.Applied {
		k := slices.IndexFunc(out, func(t TemplateAmount) bool { return t.Template == a.Template })
		if k < 0 {
			out = append(out, TemplateAmount{Template: a.Template})
			k = len(out) - 1
		}
		out[k].Coupons++
		out[k].Discount = out[k].Discount.Add(a.Discount)
	}
	return out
}

// Discount returns what coupon id takes off in the order (zero when it is
// not applied).
func (o Order) Discount(id string) decimal.Decimal {
	for _, a := range o.Quote.Applied {
		if a.Coupon == id {
			return a.Discount
		}
	}
	return decimal.Zero
}

// Refund is one refund of an order, with the coupons' share of the refunded
// units.
type Refund struct {
	Order          string
	IdempotencyKey string
	Lines          []RefundedLine
	// Discount is the coupons' share of what was refunded: the sum of
	// Lines[i].Discount, plus the shipping discount when Full.
	Discount decimal.Decimal
	// Amount is what the customer paid for what was refunded: the sum of
	// Lines[i].Amount, plus the shipping paid when Full. It is the most the
	// host should give back.
	Amount decimal.Decimal
	// Full is set when this refund leaves nothing of the order unrefunded;
	// the coupons then go back to the wallet.
	Full bool
	// Restored are the coupons made available again; Expired those whose
	// validity had ended, which stay expired.
	Restored []string
	Expired  []string
	At       time.Time
}

// Clone returns a deep copy of r.
func (r Refund) Clone() Refund {
	if r.Lines != nil {
		ls := make([]RefundedLine, len(r.Lines))
		for i, l := range r.Lines {
			l.Coupons = slices.Clone(l.Coupons)
			ls[i] = l
		}
		r.Lines = ls
	}
	r.Restored = slices.Clone(r.Restored)
	r.Expired = slices.Clone(r.Expired)
	return r
}

// RefundedLine is the refunded part of one cart line.
type RefundedLine struct {
	Line     int // position in the order's Cart.Items
	SKU      string
	Quantity int
	// Discount is the coupons' share of the refunded units, rounded per
	// line: the line's discount × its units refunded so far ÷ its
	// quantity, rounded half-up to the fen, minus the same for the units
	// refunded before this refund (see Service.Refund). It is never
	// negative nor above unit price × Quantity, and the Discounts of all
	// refunds of a line add up exactly to the line's discount.
	Discount decimal.Decimal
	// Amount is what the customer paid for the units: unit price ×
	// Quantity − Discount, never negative.
	Amount decimal.Decimal
	// Coupons are each coupon's part of Discount, for the coupons with a
	// part, in the order they applied. No part is negative, and each
	// coupon's parts over all refunds of the line add up exactly to its
	// share of the line (see Service.Refund for the split).
	Coupons []CouponShare
}

// CouponShare is one coupon's part of a refunded line's discount.
type CouponShare struct {
	Coupon   string
	Discount decimal.Decimal
}
