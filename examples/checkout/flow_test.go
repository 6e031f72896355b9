package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
)

// The whole flow with exact amounts: quote → checkout → payment callback
// → partial refund → full refund.
//
// Cart: 2 × oolong ¥58.00 (tea) + teapot ¥45.00 + shipping ¥6.00 = ¥167.00.
// Best coupons: new-10 (¥10 off, spread ¥7.20 / ¥2.80 over the lines by
// amount) and tea-88 (12% off what is left of the oolong, ¥108.80: ¥13.06):
// ¥23.06 off, ¥143.94 payable. Points may pay half of that (¥71.97, so 7100
// in steps of 100), but alice has 5000: ¥50.00. Cash due ¥93.94, which earns
// 93 points and 93 growth.
func TestFullFlow(t *testing.T) {
	e := newEnv(t)
	newTen, threshold, tea := e.alice[0], e.alice[1], e.alice[2]

	var q quoteResponse
	e.ok(http.MethodPost, "/quote", teaCart("alice", "A1"), &q)
	assertYuan(t, "161.00", q.Subtotal)
	assertYuan(t, "6.00", q.Shipping)
	assertYuan(t, "23.06", q.CouponDiscount)
	assertYuan(t, "143.94", q.Payable)
	require.Len(t, q.Coupons, 2)
	assert.Equal(t, newTen, q.Coupons[0].Coupon)
	assertYuan(t, "10.00", q.Coupons[0].Discount)
	assert.Equal(t, tea, q.Coupons[1].Coupon)
	assertYuan(t, "13.06", q.Coupons[1].Discount)
	require.Len(t, q.Lines, 2)
	assertYuan(t, "20.26", q.Lines[0].Discount)
	assertYuan(t, "95.74", q.Lines[0].Payable)
	assertYuan(t, "2.80", q.Lines[1].Discount)
	assert.Equal(t, pointsJSON{Balance: 5000, Max: 5000, MaxValue: "50.00", Min: 100, Step: 100, Use: 0, Value: "0.00"}, q.Points)
	assertYuan(t, "143.94", q.CashDue)

	// Naming the coupons: the threshold one is short of its minimum.
	var named quoteResponse
	body := teaCart("alice", "A1")
	body.Coupons, body.Points = list(newTen, threshold, tea), 5000
	e.ok(http.MethodPost, "/quote", body, &named)
	require.Len(t, named.Rejected, 1)
	assert.Equal(t, rejectionJSON{Coupon: threshold, Template: "200-30", Reason: "min_spend",
		Message: named.Rejected[0].Message, Shortfall: "39.00"}, named.Rejected[0])
	assertYuan(t, "50.00", named.Points.Value)
	assertYuan(t, "93.94", named.CashDue)

	// Checkout: coupons locked, points held.
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "k1"}
	chk.Coupons, chk.Points = list(newTen, tea), 5000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	assert.Equal(t, "pending_payment", c.State)
	assertYuan(t, "143.94", c.Payable)
	assertYuan(t, "50.00", c.PointsValue)
	assertYuan(t, "93.94", c.CashDue)
	assert.NotEmpty(t, c.HoldID)
	a := e.account("alice")
	assert.Equal(t, int64(0), a.Points)
	assert.Equal(t, int64(5000), a.Held)
	o, err := e.shop.coupons.Order(e.ctx, tenant, "A1")
	require.NoError(t, err)
	assert.Equal(t, coupon.OrderLocked, o.State)
	assert.Equal(t, []string{newTen, tea}, o.Coupons)

	// The payment: coupons redeemed, points captured, cash earns.
	var paid orderResponse
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "paid", Amount: "93.94"}, &paid)
	assert.Equal(t, "paid", paid.State)
	assertYuan(t, "93.94", paid.CashPaid)
	assert.Equal(t, int64(93), paid.PointsEarned)
	assert.Equal(t, &balanceJSON{Points: 93, Growth: 93, Tier: "normal"}, paid.Balance)
	o, err = e.shop.coupons.Order(e.ctx, tenant, "A1")
	require.NoError(t, err)
	assert.Equal(t, coupon.OrderConfirmed, o.State)
	hold, err := e.shop.members.Store().Hold(e.ctx, tenant, c.HoldID)
	require.NoError(t, err)
	assert.Equal(t, member.HoldCaptured, hold.State)

	// The next day, one tin back: ¥58.00 less its share of the coupons
	// (¥10.13) is ¥47.87. member is told the cash share of it,
	// round(47.87 × 93.94 / 143.94) = ¥31.24, and gives back
	// floor(5000 × 31.24 / 93.94) = 1662 points (¥16.62) and claws back
	// floor(93 × 31.24 / 93.94) = 30 earned points; the cash is the rest,
	// ¥31.25.
	e.clock.Advance(24 * time.Hour)
	var r1 refundResponse
	e.ok(http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r1", Lines: []refundLineJSON{{Line: 0, Quantity: 1}}}, &r1)
	assertYuan(t, "47.87", r1.Amount)
	assertYuan(t, "10.13", r1.CouponDiscount)
	assert.Equal(t, int64(1662), r1.PointsReturned)
	assertYuan(t, "16.62", r1.PointsValue)
	assertYuan(t, "31.25", r1.Cash)
	assert.Equal(t, int64(30), r1.PointsClawed)
	assert.Equal(t, int64(30), r1.GrowthClawed)
	assert.False(t, r1.Full)
	assert.Equal(t, "paid", r1.State)
	assert.Equal(t, []refundLineOut{{Line: 0, SKU: "oolong-250g", Quantity: 1, Discount: "10.13", Amount: "47.87"}}, r1.Lines)
	assert.Equal(t, &balanceJSON{Points: 93 - 30 + 1662, Growth: 63, Tier: "normal"}, r1.Balance)

	// The rest: ¥143.94 - ¥47.87 = ¥96.07, of which the remaining 3338
	// points (¥33.38) and ¥62.69 cash; the coupons go back to the wallet.
	var r2 refundResponse
	e.ok(http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r2"}, &r2)
	assertYuan(t, "96.07", r2.Amount)
	assertYuan(t, "12.93", r2.CouponDiscount)
	assert.Equal(t, int64(3338), r2.PointsReturned)
	assertYuan(t, "33.38", r2.PointsValue)
	assertYuan(t, "62.69", r2.Cash)
	assert.Equal(t, int64(63), r2.PointsClawed)
	assert.True(t, r2.Full)
	assert.Equal(t, []string{newTen, tea}, r2.RestoredCoupons)
	assert.Equal(t, "refunded", r2.State)
	assert.Equal(t, &balanceJSON{Points: 5000, Growth: 0, Tier: "normal"}, r2.Balance)

	// In all: the cash paid back is the cash paid, and every point is back.
	assertYuan(t, "93.94", dec(t, r1.Cash).Add(dec(t, r2.Cash)).StringFixed(2))
	var final orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &final)
	assert.Equal(t, "refunded", final.State)
	assertYuan(t, "143.94", final.Refunded)
	assertYuan(t, "93.94", final.CashRefunded)
	assert.Equal(t, int64(5000), final.PointsBack)
	assert.Equal(t, []int{2, 1}, final.RefundedUnits)
	var alice customerResponse
	e.ok(http.MethodGet, "/customers/alice", nil, &alice)
	for _, cp := range alice.Coupons {
		assert.Equal(t, "available", cp.State, cp.ID)
	}
	st, err := e.shop.coupons.Stats(e.ctx, tenant, "tea-88")
	require.NoError(t, err)
	assert.Zero(t, st.Redeemed)
	assert.True(t, st.Discount.IsZero(), st.Discount.String())

	// Nothing is left to refund.
	er := e.fails(http.StatusConflict, http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r3"})
	assert.Equal(t, "order_id", er.Field)
}

// The same callback and the same refund delivered twice get the first
// response, marked replayed, and change nothing.
func TestReplays(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1")}
	chk.Points = 1000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	again := e.ok(http.MethodPost, "/checkout", chk, nil)
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"), "the order ID is the default key")

	pay := paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "paid", Amount: c.CashDue}
	first := e.ok(http.MethodPost, "/payments/callback", pay, nil)
	again = e.ok(http.MethodPost, "/payments/callback", pay, nil)
	assert.Equal(t, "", first.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, first.Body.String(), again.Body.String())
	a := e.account("alice")
	// ¥143.94 after the best coupons, ¥10.00 of it in points: ¥133.94 cash
	// earns 133 points.
	assertYuan(t, "133.94", c.CashDue)
	assert.Equal(t, int64(5000-1000+133), a.Points, "points spent once, earned once")

	other := pay
	other.PaymentID = "wx-2"
	assert.Equal(t, "payment_id", e.fails(http.StatusConflict, http.MethodPost, "/payments/callback", other).Field)
	other = pay
	other.Status = "failed"
	other.Amount = ""
	e.fails(http.StatusConflict, http.MethodPost, "/payments/callback", other)

	rf := refundRequest{OrderID: "A1", IdempotencyKey: "r1", Lines: []refundLineJSON{{Line: 1}}}
	r1 := e.ok(http.MethodPost, "/refund", rf, nil)
	r2 := e.ok(http.MethodPost, "/refund", rf, nil)
	assert.Equal(t, "true", r2.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, r1.Body.String(), r2.Body.String())
	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, []int{0, 1}, o.RefundedUnits, "refunded once")

	rf.Lines = []refundLineJSON{{Line: 0, Quantity: 1}}
	assert.Equal(t, "idempotency_key", e.fails(http.StatusConflict, http.MethodPost, "/refund", rf).Field)
}

// A failed payment gives the coupons and points back; the order can then
// be checked out again, with a new key.
func TestFailedPaymentThenRetry(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "try-1"}
	chk.Points = 2000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	assert.Equal(t, int64(3000), e.account("alice").Points)

	var o orderResponse
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "failed"}, &o)
	assert.Equal(t, "cancelled", o.State)
	assert.Equal(t, &balanceJSON{Points: 5000, Tier: "normal"}, o.Balance)
	var alice customerResponse
	e.ok(http.MethodGet, "/customers/alice", nil, &alice)
	for _, cp := range alice.Coupons {
		assert.Equal(t, "available", cp.State, cp.ID)
	}
	e.fails(http.StatusConflict, http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r1"})

	// The same attempt again is its first response (the order is
	// cancelled, but that is what the key answered); a new key checks out
	// again.
	again := e.ok(http.MethodPost, "/checkout", chk, nil)
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	chk.IdempotencyKey = "try-2"
	var c2 checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c2)
	assert.Equal(t, c.CashDue, c2.CashDue)
	assert.NotEqual(t, c.HoldID, c2.HoldID)
	assert.Equal(t, int64(3000), e.account("alice").Points)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-2", Status: "paid", Amount: c2.CashDue}, &o)
	assert.Equal(t, "paid", o.State)
}

// An order paid without coupons, and one without points: the shop's own
// refund arithmetic and the one-sided splits.
func TestOrdersWithoutCouponsOrPoints(t *testing.T) {
	e := newEnv(t)

	// No coupons, 1000 points on ¥167.00: cash ¥157.00.
	chk := checkoutRequest{cartRequest: teaCart("alice", "P1")}
	chk.Coupons, chk.Points = list(), 1000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	assert.Empty(t, c.Coupons)
	assertYuan(t, "167.00", c.Payable)
	assertYuan(t, "157.00", c.CashDue)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "P1", PaymentID: "wx-1", Status: "paid", Amount: "157.00"}, nil)
	var r1, r2 refundResponse
	e.ok(http.MethodPost, "/refund", refundRequest{OrderID: "P1", IdempotencyKey: "r1", Lines: []refundLineJSON{{Line: 1, Quantity: 1}}}, &r1)
	assertYuan(t, "45.00", r1.Amount)
	assertYuan(t, "0.00", r1.CouponDiscount)
	// member: round(45 × 157 / 167) = 42.31; floor(1000 × 42.31 / 157) = 269 points.
	assert.Equal(t, int64(269), r1.PointsReturned)
	assertYuan(t, "2.69", r1.PointsValue)
	assertYuan(t, "42.31", r1.Cash)
	e.ok(http.MethodPost, "/refund", refundRequest{OrderID: "P1", IdempotencyKey: "r2"}, &r2)
	assertYuan(t, "122.00", r2.Amount, "the oolong and the shipping")
	assert.True(t, r2.Full)
	assert.Equal(t, int64(1000), r1.PointsReturned+r2.PointsReturned)
	assertYuan(t, "157.00", dec(t, r1.Cash).Add(dec(t, r2.Cash)).StringFixed(2))

	// bob: his coupon, no points: all cash, nothing for member but the
	// clawback of what the order earned.
	bobChk := checkoutRequest{cartRequest: cartRequest{Customer: "bob", OrderID: "B1",
		Items: []itemJSON{{SKU: "oolong-250g", Category: "tea", Price: "58.00", Quantity: 3}}}}
	var bc checkoutResponse
	e.ok(http.MethodPost, "/checkout", bobChk, &bc)
	assertYuan(t, "164.00", bc.CashDue)
	assert.Empty(t, bc.HoldID)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "B1", PaymentID: "wx-3", Status: "paid", Amount: "164.00"}, nil)
	assert.Equal(t, int64(800+164), e.account("bob").Points)
	var br refundResponse
	e.ok(http.MethodPost, "/refund", refundRequest{OrderID: "B1", IdempotencyKey: "r1", Lines: []refundLineJSON{{Line: 0, Quantity: 1}}}, &br)
	// ¥58.00 less a third of the ¥10 coupon (¥3.33): ¥54.67, all cash.
	assertYuan(t, "54.67", br.Amount)
	assertYuan(t, "54.67", br.Cash)
	assert.Zero(t, br.PointsReturned)
	assert.Equal(t, int64(54), br.PointsClawed) // floor(164 × 54.67 / 164)
}
