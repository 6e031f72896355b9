package main

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
)

// The JSON API. Money is always a decimal string of yuan with at most two
// decimal places ("58.00", "7.5"); a JSON number is refused, so no amount
// ever passes through a float. Points are integers. Responses print money
// with exactly two decimals.

// Limits on requests, so one request cannot make the service do unbounded
// work. Bodies larger than maxBody are refused with 413.
const (
	maxBody     = 64 << 10
	maxItems    = 100
	maxCoupons  = 20
	maxQuantity = 10_000
	maxIDLen    = 64
	maxPrice    = 1_000_000 // yuan: the most a unit price or the shipping fee may be
	// maxTotal is the most an order can come to, in yuan: every line at
	// the most units and the highest price, and the shipping fee. It bounds
	// the amount of a payment callback, which the order's cash due checks.
	maxTotal = maxItems*maxQuantity*maxPrice + maxPrice
)

// itemJSON is one cart line.
type itemJSON struct {
	SKU      string `json:"sku"`
	Category string `json:"category,omitempty"`
	Price    string `json:"price"` // unit price, yuan
	Quantity int    `json:"quantity"`
}

// cartRequest is the body of POST /quote, and the start of POST /checkout.
type cartRequest struct {
	Customer string `json:"customer"`
	// OrderID is required by /checkout. Quoting with it treats coupons
	// already locked to the order as available.
	OrderID  string     `json:"order_id,omitempty"`
	Store    string     `json:"store,omitempty"`
	Channel  string     `json:"channel,omitempty"`
	Items    []itemJSON `json:"items"`
	Shipping string     `json:"shipping,omitempty"`
	// Coupons absent (or null) asks for the best combination from the
	// customer's wallet; a list uses exactly those coupons ([] for none).
	Coupons *[]string `json:"coupons,omitempty"`
	// Points is how many points to pay with; absent means none. /quote
	// reports the most the order allows.
	Points int64 `json:"points,omitempty"`
}

// checkoutRequest is the body of POST /checkout.
type checkoutRequest struct {
	cartRequest
	// IdempotencyKey names this checkout attempt of the order; absent, the
	// order ID is the key. The same key and body return the first
	// response; the same key with another body is refused (409).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// paymentRequest is the body of POST /payments/callback: what a payment
// provider (WeChat Pay, Alipay) tells the shop about an order.
type paymentRequest struct {
	OrderID   string `json:"order_id"`
	PaymentID string `json:"payment_id"`
	Status    string `json:"status"`           // "paid" or "failed"
	Amount    string `json:"amount,omitempty"` // required when paid: must equal cash_due
}

// Payment statuses.
const (
	paymentPaid   = "paid"
	paymentFailed = "failed"
)

// refundLineJSON asks to refund units of one line of the order.
type refundLineJSON struct {
	Line     int `json:"line"`     // index in the order's items
	Quantity int `json:"quantity"` // 0 means every unit not yet refunded
}

// refundRequest is the body of POST /refund.
type refundRequest struct {
	OrderID        string `json:"order_id"`
	IdempotencyKey string `json:"idempotency_key"`
	// Lines absent (or null) refunds everything not yet refunded; an empty
	// list is refused.
	Lines []refundLineJSON `json:"lines,omitempty"`
}

// lineJSON is one line of a priced cart.
type lineJSON struct {
	Line     int    `json:"line"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Price    string `json:"price"`
	Amount   string `json:"amount"`   // price × quantity
	Discount string `json:"discount"` // the coupons' share of the line
	Payable  string `json:"payable"`  // amount - discount
}

// couponJSON is one coupon applied to a cart.
type couponJSON struct {
	Coupon   string `json:"coupon"`
	Template string `json:"template"`
	Kind     string `json:"kind"`
	Discount string `json:"discount"`
}

// rejectionJSON is one coupon that does not apply, and why.
type rejectionJSON struct {
	Coupon    string `json:"coupon"`
	Template  string `json:"template,omitempty"`
	Reason    string `json:"reason"`
	Message   string `json:"message"`
	Shortfall string `json:"shortfall,omitempty"` // min_spend: how much more to spend
}

// pointsJSON is what points can do for an order.
type pointsJSON struct {
	Balance int64 `json:"balance"` // spendable now
	// Max is the most the order allows (balance, the share of the order
	// points may pay, the step), MaxValue what that pays.
	Max      int64  `json:"max"`
	MaxValue string `json:"max_value"`
	Min      int64  `json:"min"`
	Step     int64  `json:"step"`
	// Use is the points asked for, Value what they pay.
	Use   int64  `json:"use"`
	Value string `json:"value"`
}

// quoteResponse prices a cart: coupons first, then points on what is left.
type quoteResponse struct {
	Customer       string          `json:"customer"`
	OrderID        string          `json:"order_id,omitempty"`
	Subtotal       string          `json:"subtotal"`
	Shipping       string          `json:"shipping"`
	CouponDiscount string          `json:"coupon_discount"`
	Payable        string          `json:"payable"` // subtotal + shipping - coupon_discount
	Coupons        []couponJSON    `json:"coupons"`
	Rejected       []rejectionJSON `json:"rejected,omitempty"`
	Lines          []lineJSON      `json:"lines"`
	Points         pointsJSON      `json:"points"`
	CashDue        string          `json:"cash_due"` // payable - points.value
}

// checkoutResponse is an order awaiting payment: coupons locked, points
// held, and the cash the customer must pay.
type checkoutResponse struct {
	OrderID        string       `json:"order_id"`
	Customer       string       `json:"customer"`
	State          string       `json:"state"`
	Subtotal       string       `json:"subtotal"`
	Shipping       string       `json:"shipping"`
	CouponDiscount string       `json:"coupon_discount"`
	Payable        string       `json:"payable"`
	Coupons        []couponJSON `json:"coupons"`
	Lines          []lineJSON   `json:"lines"`
	Points         int64        `json:"points"`
	PointsValue    string       `json:"points_value"`
	HoldID         string       `json:"hold_id,omitempty"`
	CashDue        string       `json:"cash_due"`
}

// balanceJSON is a member's balances.
type balanceJSON struct {
	Points int64  `json:"points"`
	Held   int64  `json:"held"`
	Growth int64  `json:"growth"`
	Tier   string `json:"tier,omitempty"`
}

// orderResponse is an order as the shop sees it: GET /orders/{id}, and the
// answer to a payment callback.
type orderResponse struct {
	OrderID       string       `json:"order_id"`
	Customer      string       `json:"customer"`
	State         string       `json:"state"`
	Payable       string       `json:"payable"`
	Coupons       []string     `json:"coupons"`
	Points        int64        `json:"points"`
	PointsValue   string       `json:"points_value"`
	CashDue       string       `json:"cash_due"`
	PaymentID     string       `json:"payment_id,omitempty"`
	CashPaid      string       `json:"cash_paid"`
	PointsEarned  int64        `json:"points_earned"`
	Refunded      string       `json:"refunded"`      // amount of the refunded units
	CashRefunded  string       `json:"cash_refunded"` // of which paid back in cash
	PointsBack    int64        `json:"points_back"`   // spent points given back (or forfeited)
	RefundedUnits []int        `json:"refunded_units"`
	Balance       *balanceJSON `json:"balance,omitempty"`
}

// refundLineOut is one refunded line.
type refundLineOut struct {
	Line     int    `json:"line"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Discount string `json:"discount"` // the coupons' share of the units: never paid, so not refunded
	Amount   string `json:"amount"`   // what the units were paid, cash and points
}

// refundResponse is one refund: what the refunded units were paid, split
// into the cash to pay back and the points given back, and what the
// order's earned points and growth lose.
type refundResponse struct {
	OrderID         string          `json:"order_id"`
	Lines           []refundLineOut `json:"lines"`
	Amount          string          `json:"amount"`
	CouponDiscount  string          `json:"coupon_discount"`
	Cash            string          `json:"cash"`
	PointsReturned  int64           `json:"points_returned"`
	PointsForfeited int64           `json:"points_forfeited,omitempty"`
	PointsValue     string          `json:"points_value"` // returned + forfeited, in yuan
	PointsClawed    int64           `json:"points_clawed_back"`
	GrowthClawed    int64           `json:"growth_clawed_back"`
	Full            bool            `json:"full"` // this refund completed the order's: it is refunded
	RestoredCoupons []string        `json:"restored_coupons,omitempty"`
	ExpiredCoupons  []string        `json:"expired_coupons,omitempty"`
	State           string          `json:"state"`
	Balance         *balanceJSON    `json:"balance,omitempty"`
}

// walletCouponJSON is one coupon in a customer's wallet.
type walletCouponJSON struct {
	ID       string `json:"id"`
	Template string `json:"template"`
	State    string `json:"state"`
	ValidTo  string `json:"valid_to"`
	Order    string `json:"order,omitempty"`
}

// customerResponse is GET /customers/{id}: points and coupons.
type customerResponse struct {
	Customer string             `json:"customer"`
	Balance  balanceJSON        `json:"balance"`
	Coupons  []walletCouponJSON `json:"coupons"`
}

// errorResponse is the body of every error.
type errorResponse struct {
	Error errorJSON `json:"error"`
}

// errorJSON says what went wrong. Code is the scrm error class ("invalid",
// "not_found", "conflict", "exhausted", "forbidden", "expired",
// "unavailable") or "internal"; Field names the offending request field,
// as a JSON path ("items[1].price").
type errorJSON struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// yuan prints money with two decimals.
func yuan(d decimal.Decimal) string { return d.StringFixed(2) }

// linesJSON converts a coupon quote's lines.
func linesJSON(q coupon.Quote) []lineJSON {
	out := make([]lineJSON, len(q.Lines))
	for i, l := range q.Lines {
		out[i] = lineJSON{Line: l.Index, SKU: l.SKU, Quantity: l.Quantity, Price: yuan(l.Price),
			Amount: yuan(l.Amount()), Discount: yuan(l.Discount), Payable: yuan(l.Payable())}
	}
	return out
}

// appliedJSON converts a coupon quote's applied coupons.
func appliedJSON(q coupon.Quote) []couponJSON {
	out := make([]couponJSON, len(q.Applied))
	for i, a := range q.Applied {
		out[i] = couponJSON{Coupon: a.Coupon, Template: a.Template, Kind: string(a.Kind), Discount: yuan(a.Discount)}
	}
	return out
}

// rejectedJSON converts a coupon quote's rejections.
func rejectedJSON(q coupon.Quote) []rejectionJSON {
	var out []rejectionJSON
	for _, r := range q.Rejected {
		j := rejectionJSON{Coupon: r.Coupon, Template: r.Template, Reason: string(r.Reason), Message: r.Message}
		if r.Reason == coupon.ReasonMinSpend {
			j.Shortfall = yuan(r.Shortfall)
		}
		out = append(out, j)
	}
	return out
}

// walletJSON converts a wallet, with times in the tenant's zone.
func walletJSON(w []coupon.Coupon, loc *time.Location) []walletCouponJSON {
	out := make([]walletCouponJSON, len(w))
	for i, c := range w {
		out[i] = walletCouponJSON{ID: c.ID, Template: c.Template, State: string(c.State),
			ValidTo: c.ValidTo.In(loc).Format(time.RFC3339), Order: c.Order}
	}
	return out
}

// field formats a JSON path element: field("items", 2, "price") is
// "items[2].price".
func field(list string, i int, name string) string {
	return fmt.Sprintf("%s[%d].%s", list, i, name)
}
