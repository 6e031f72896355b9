package main

import (
	"hash/maphash"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// The shop's own orders: what a host keeps in its order table beside what
// coupon and member keep. Coupon holds the locked coupons and member the
// held points; the order ties them to the payment and the refunds.

// orderState is where an order is, as the shop sees it.
type orderState string

const (
	statePending   orderState = "pending_payment" // coupons locked, points held
	statePaid      orderState = "paid"            // coupons redeemed, points spent and earned
	stateCancelled orderState = "cancelled"       // payment failed: coupons released, points back
	stateRefunded  orderState = "refunded"        // refunded in full
)

// order is one order of the shop. Its fields are read and written only by
// whoever holds the order's lock (orderBook.lock).
type order struct {
	ID       string
	Customer scrm.CustomerID
	// Key and Fingerprint are the idempotency record of the checkout;
	// Checkout is its response, returned again to a replay.
	Key, Fingerprint string
	Checkout         checkoutResponse
	State            orderState

	Cart coupon.Cart
	// Quote is the price with the locked coupons (Coupons, empty when the
	// order uses none, in which case coupon holds no order).
	Quote   coupon.Quote
	Coupons []string
	// HoldID, Points and PointsValue are the points held for the order.
	HoldID      string
	Points      int64
	PointsValue decimal.Decimal
	// Cash is what the payment provider must collect: Quote.Payable -
	// PointsValue.
	Cash decimal.Decimal

	// Payment is the payment callback of this checkout attempt: recorded
	// before its first step, so a callback that failed half way is known
	// to be under way (Settled false) until its retry completes it.
	Payment *payment
	// Earlier are the callbacks that settled the earlier checkout attempts
	// of the order (their payments failed), by payment ID: a provider
	// redelivering one gets its first response.
	Earlier map[string]*payment
	// Spent are the idempotency keys of the earlier checkout attempts:
	// checking out with one again is refused, whatever the attempt took
	// (an order paid in cash alone leaves no lock or hold to tell).
	Spent  map[string]bool
	Earned int64 // points the order earned

	// Refunds by idempotency key, and the running totals over those
	// completed (Response set).
	Refunds        map[string]*refundRecord
	Units          []int           // refunded units per line
	Refunded       decimal.Decimal // amount of the refunded units (cash + points)
	CashRefunded   decimal.Decimal
	PointsBack     int64           // spent points given back or forfeited
	PointsRefunded decimal.Decimal // their value
	MemberRefunded decimal.Decimal // the amounts reported to member.Refund
}

// payment is a payment callback of an order: under way, or settled with
// its response.
type payment struct {
	ID, Status  string
	Fingerprint string
	Settled     bool
	Response    orderResponse
}

// refundRecord is one refund's idempotency record, made before its first
// step. Until Response is set the refund is half done (a store failed):
// Lines are its units, with explicit quantities; Refund, once coupon (or
// plainRefund) answered, is what it refunds, and Member the amount it
// tells member.Refund. Its retry completes it with those.
type refundRecord struct {
	Fingerprint string
	Lines       []coupon.RefundLine
	Refund      *coupon.Refund
	Member      decimal.Decimal
	Response    *refundResponse
}

// stripes is how many locks the order book spreads orders over.
const stripes = 64

// orderBook keeps the orders in memory. Work on one order (checkout,
// payment, refund, reading it) holds that order's lock, as a database
// host would hold the order row (SELECT ... FOR UPDATE), so two requests
// for one order never interleave; requests for different orders mostly
// take different locks and run in parallel.
type orderBook struct {
	seed   maphash.Seed
	stripe [stripes]sync.Mutex

	mu     sync.Mutex // guards orders (the map, not the orders in it)
	orders map[string]*order
}

func newOrderBook() *orderBook {
	return &orderBook{seed: maphash.MakeSeed(), orders: make(map[string]*order)}
}

// lock takes the lock of order id and returns its unlock.
func (b *orderBook) lock(id string) (unlock func()) {
	m := &b.stripe[maphash.String(b.seed, id)%stripes]
	m.Lock()
	return m.Unlock
}

// get returns order id, or nil. Hold its lock.
func (b *orderBook) get(id string) *order {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.orders[id]
}

// put stores o, replacing the order of the same ID. Hold its lock.
func (b *orderBook) put(o *order) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.orders[o.ID] = o
}
