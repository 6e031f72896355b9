package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// Whatever the cart, the coupons, the points and the order of partial
// refunds: every refund's cash and points value are not negative and add
// up exactly to its amount, and once the order is refunded in full the
// cash refunded is the cash paid, the amounts add up to the payable, every
// spent point is back and everything earned is clawed back.
func TestRefundSplitsAddUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var withPoints, withCoupons, partial int // the cases covered
	for run := range 150 {
		e := newEnv(t)
		cart := cartRequest{Customer: "alice", OrderID: fmt.Sprintf("R%d", run)}
		for i := range 1 + rng.IntN(4) {
			cat := []string{"tea", "ware"}[rng.IntN(2)]
			cart.Items = append(cart.Items, itemJSON{SKU: fmt.Sprintf("sku-%d", i), Category: cat,
				Price: scrm.FromFen(int64(1 + rng.IntN(30000))).StringFixed(2), Quantity: 1 + rng.IntN(4)})
		}
		if rng.IntN(2) == 0 {
			cart.Shipping = scrm.FromFen(int64(rng.IntN(1500))).StringFixed(2)
		}
		if rng.IntN(3) == 0 {
			cart.Coupons = list()
		}
		var q quoteResponse
		e.ok(http.MethodPost, "/quote", cart, &q)
		if q.Points.Max > 0 && rng.IntN(4) != 0 {
			cart.Points = q.Points.Min + rng.Int64N(q.Points.Max-q.Points.Min+1)/q.Points.Step*q.Points.Step
		}
		name := fmt.Sprintf("run %d: %+v", run, cart)

		var c checkoutResponse
		e.ok(http.MethodPost, "/checkout", checkoutRequest{cartRequest: cart}, &c)
		if c.Points > 0 {
			withPoints++
		}
		if len(c.Coupons) > 0 {
			withCoupons++
		}
		var paid orderResponse
		e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: c.OrderID, PaymentID: "wx", Status: "paid", Amount: c.CashDue}, &paid)

		left := make([]int, len(cart.Items))
		for i, it := range cart.Items {
			left[i] = it.Quantity
		}
		amount, cash, value := decimal.Zero, decimal.Zero, decimal.Zero
		var back, clawed int64
		for k := 0; ; k++ {
			req := refundRequest{OrderID: c.OrderID, IdempotencyKey: fmt.Sprintf("r%d", k)}
			if rng.IntN(4) != 0 { // else: everything left
				for i := range left {
					if left[i] > 0 && rng.IntN(2) == 0 {
						n := 1 + rng.IntN(left[i])
						req.Lines = append(req.Lines, refundLineJSON{Line: i, Quantity: n})
					}
				}
				if len(req.Lines) == 0 {
					continue
				}
			}
			var r refundResponse
			e.ok(http.MethodPost, "/refund", req, &r)
			for _, l := range r.Lines {
				left[l.Line] -= l.Quantity
			}
			a, ca, v := dec(t, r.Amount), dec(t, r.Cash), dec(t, r.PointsValue)
			require.False(t, ca.IsNegative(), "%s: refund %d cash %s", name, k, r.Cash)
			require.False(t, v.IsNegative(), "%s: refund %d points value %s", name, k, r.PointsValue)
			require.True(t, ca.Add(v).Equal(a), "%s: refund %d: cash %s + points %s != amount %s", name, k, r.Cash, r.PointsValue, r.Amount)
			amount, cash, value = amount.Add(a), cash.Add(ca), value.Add(v)
			back += r.PointsReturned + r.PointsForfeited
			clawed += r.PointsClawed
			if r.Full {
				break
			}
			partial++
		}
		assert.True(t, amount.Equal(dec(t, c.Payable)), "%s: refunded %s of %s", name, amount, c.Payable)
		assert.True(t, cash.Equal(dec(t, c.CashDue)), "%s: cash refunded %s, paid %s", name, cash, c.CashDue)
		assert.True(t, value.Equal(dec(t, c.PointsValue)), "%s: points value refunded %s of %s", name, value, c.PointsValue)
		assert.Equal(t, c.Points, back, name)
		assert.Equal(t, paid.PointsEarned, clawed, name)
		a := e.account("alice")
		assert.Equal(t, int64(5000), a.Points, name)
		assert.Zero(t, a.Growth, name)
	}
	assert.Greater(t, withPoints, 50)
	assert.Greater(t, withCoupons, 50)
	assert.Greater(t, partial, 100)
	t.Logf("%d orders with points, %d with coupons, %d partial refunds", withPoints, withCoupons, partial)
}
