package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// Providers deliver callbacks at least once, and the same callback again
// gets the first response and changes nothing, also once the order has
// been checked out again. After a failed payment (wx-1) the order is
// checked out again under a new key (as documented); the provider then
// redelivers the old "failed" callback of wx-1: it is a replay that leaves
// the new attempt pending, its points held and its coupons locked, and the
// real payment wx-2 (the customer's cash collected) settles the order.
func TestEarlierAttemptsCallbackIsReplayed(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "try-1"}
	chk.Points = 2000
	e.ok(http.MethodPost, "/checkout", chk, nil)
	failed := paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "failed"}
	first := e.ok(http.MethodPost, "/payments/callback", failed, nil)

	chk.IdempotencyKey = "try-2"
	var c2 checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c2)
	require.Equal(t, int64(2000), e.account("alice").Held)

	// The provider redelivers the first attempt's failure notice.
	again := e.ok(http.MethodPost, "/payments/callback", failed, nil)
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, first.Body.String(), again.Body.String())
	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "pending_payment", o.State, "a redelivered callback of the earlier attempt cancelled the new one")
	assert.Equal(t, int64(2000), e.account("alice").Held, "the new attempt's points were given back")

	// The customer pays the second attempt.
	rec := e.do(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-2", Status: "paid", Amount: c2.CashDue})
	assert.Equal(t, http.StatusOK, rec.Code, "the cash of wx-2 was collected but the shop refuses it: %s", rec.Body)
}

// A callback of an earlier attempt redelivered after the new attempt was
// paid is still its first response; the same payment ID with another
// status is refused and changes nothing.
func TestEarlierAttemptsCallbackIsReplayedAfterPayment(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "try-1"}
	e.ok(http.MethodPost, "/checkout", chk, nil)
	failed := paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "failed"}
	first := e.ok(http.MethodPost, "/payments/callback", failed, nil)
	chk.IdempotencyKey = "try-2"
	var c2 checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c2)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-2", Status: "paid", Amount: c2.CashDue}, nil)

	again := e.ok(http.MethodPost, "/payments/callback", failed, nil)
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, first.Body.String(), again.Body.String())
	other := paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "paid", Amount: c2.CashDue}
	assert.Equal(t, "payment_id", e.fails(http.StatusConflict, http.MethodPost, "/payments/callback", other).Field)
	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "paid", o.State)
	assert.Equal(t, "wx-2", o.PaymentID)
}

// refundRequest.Lines absent means everything not yet refunded, and the
// API tells an absent list from an empty one (as for coupons: absent =
// best, [] = none). A client whose selection of lines came out empty
// sends {"lines": []}: that is 400 naming "lines", and nothing is
// refunded.
func TestEmptyRefundLinesRefused(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1")}
	chk.Points = 1000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "paid", Amount: c.CashDue}, nil)

	rec := e.do(http.MethodPost, "/refund", `{"order_id":"A1","idempotency_key":"r1","lines":[]}`)
	assert.Equal(t, http.StatusBadRequest, rec.Code, "an empty list of lines was taken for a full refund: %s", rec.Body)
	var er errorResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &er))
	assert.Equal(t, "lines", er.Error.Field)
	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "paid", o.State)
	assertYuan(t, "0.00", o.CashRefunded)

	// null is absent: everything.
	e.ok(http.MethodPost, "/refund", `{"order_id":"A1","idempotency_key":"r2","lines":null}`, nil)
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "refunded", o.State)
}

// The key of an attempt whose payment failed is spent, for the points'
// hold as for the coupons' lock: checking out with it again is 409 (send a
// new key). Order A1 (no coupons, 1000 points) is checked out under k1,
// its payment fails, then under k2, whose payment fails too, then under
// k1 again: member.Hold replays k1's voided hold, which must not count as
// paying ¥10.00 of the order while alice keeps her points.
func TestFailedAttemptsKeyIsSpentForPoints(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1")}
	chk.Coupons, chk.Points = list(), 1000
	for i, key := range []string{"k1", "k2"} {
		chk.IdempotencyKey = key
		e.ok(http.MethodPost, "/checkout", chk, nil)
		e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-" + key, Status: "failed"}, nil)
		require.Equal(t, int64(5000), e.account("alice").Points, "attempt %d", i)
	}
	chk.IdempotencyKey = "k1"
	assert.Equal(t, "idempotency_key", e.fails(http.StatusConflict, http.MethodPost, "/checkout", chk).Field)
	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "cancelled", o.State)
	assert.Equal(t, int64(0), e.account("alice").Held)

	// A new key checks out with a fresh hold, and the payment settles it.
	chk.IdempotencyKey = "k3"
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	assert.Equal(t, int64(1000), e.account("alice").Held)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-3", Status: "paid", Amount: c.CashDue}, nil)
	assert.Equal(t, int64(5000-1000+157), e.account("alice").Points, "1000 points spent, ¥157.00 cash earns 157")
}

// maxPrice bounds unit prices and the shipping fee, and the cart limits
// allow a cash due far above it (100 lines × 10,000 units); a payment
// callback's amount is bounded by what an order can total, and checked
// against the order's cash due. A cart of 2 × ¥600,000.00 checks out with
// ¥1,200,000.00 cash due; the provider collects it and calls back: the
// order is paid.
func TestPaymentOverAMillionAccepted(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: cartRequest{Customer: "bob", OrderID: "BIG1", Coupons: list(),
		Items: []itemJSON{{SKU: "jade-bracelet", Category: "jewelry", Price: "600000.00", Quantity: 2}}}}
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	require.Equal(t, "1200000.00", c.CashDue)
	rec := e.do(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "BIG1", PaymentID: "wx-1", Status: "paid", Amount: c.CashDue})
	assert.Equal(t, http.StatusOK, rec.Code, "the provider collected ¥%s: %s", c.CashDue, rec.Body)

	// More than any order can total is still refused unread.
	er := e.fails(http.StatusBadRequest, http.MethodPost, "/payments/callback",
		paymentRequest{OrderID: "BIG1", PaymentID: "wx-2", Status: "paid", Amount: "1000001000000.01"})
	assert.Equal(t, "amount", er.Field)
}

// decode refuses unknown fields, and encoding/json matches keys
// case-insensitively and lets the last duplicate win: so a key that is a
// field's name in other cases, or a key given twice, is 400 naming it.
// Else {"customer":"alice", ..., "Customer":"bob"} would price (and check
// out) bob's order while a gateway or a log reading "customer" sees alice.
func TestCaseFoldedOrDuplicateKeysRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ body, field string }{
		{`{"customer":"alice","items":[{"sku":"a","price":"20.00","quantity":1}],"Customer":"bob"}`, "customer"},
		{`{"Customer":"bob","items":[{"sku":"a","price":"20.00","quantity":1}]}`, "customer"},
		{`{"customer":"alice","items":[{"sku":"a","price":"20.00","quantity":1}],"customer":"bob"}`, "customer"},
		{`{"customer":"alice","items":[{"sku":"a","price":"20.00","quantity":1,"Quantity":9}]}`, "items[0].quantity"},
	} {
		rec := e.do(http.MethodPost, "/quote", tc.body)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", tc.body, rec.Body)
		var er errorResponse
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &er))
		assert.Equal(t, tc.field, er.Error.Field, tc.body)
	}
	// The embedded cart's fields of a checkout are checked too.
	e.fails(http.StatusBadRequest, http.MethodPost, "/checkout",
		`{"customer":"alice","order_id":"A1","items":[{"sku":"a","price":"20.00","quantity":1}],"Order_ID":"A2"}`)
}

// failingMembers is a member store that fails the ledger updates of one
// idempotency key with ErrUnavailable while armed, and the next key-less
// update of hold (a Capture or Void) once.
type failingMembers struct {
	member.Store
	key  atomic.Pointer[string]
	hold atomic.Pointer[string]
}

func (f *failingMembers) Update(ctx context.Context, p member.UpdateParams, fn func(*member.LedgerTx) error) (member.Outcome, bool, error) {
	if k := f.key.Load(); k != nil && p.IdempotencyKey == *k {
		return member.Outcome{}, false, scrm.Errorf(scrm.ErrUnavailable, "db", "connection reset")
	}
	if h := f.hold.Load(); h != nil && p.IdempotencyKey == "" && p.HoldID == *h && f.hold.CompareAndSwap(h, nil) {
		return member.Outcome{}, false, scrm.Errorf(scrm.ErrUnavailable, "db", "connection reset")
	}
	return f.Store.Update(ctx, p, fn)
}

// A refund that failed half way completes when retried, whatever other
// refunds did meanwhile. Refund r1 (the teapot) fails at member.Refund
// (503) after coupon.Refund recorded it. Before it is retried, the rest of
// the order is refunded under r2 (coupon counts r1's units, so r2 takes
// the shipping): the order stays paid, as r1 is not done. The retry of r1
// (the 503 asked for it) completes it: the cash refunded adds up to the
// cash paid, every spent point is back, and the order is refunded.
func TestHalfDoneRefundCompletesAfterAnotherRefund(t *testing.T) {
	store := &failingMembers{Store: member.NewMemoryStore()}
	e := newEnvWith(t, store)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1")}
	chk.Points = 1000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "paid", Amount: c.CashDue}, nil)

	key := "refund:A1:r1"
	store.key.Store(&key)
	r1 := refundRequest{OrderID: "A1", IdempotencyKey: "r1", Lines: []refundLineJSON{{Line: 1, Quantity: 1}}}
	e.fails(http.StatusServiceUnavailable, http.MethodPost, "/refund", r1)
	store.key.Store(nil)

	// The teapot is being refunded: no other refund takes it.
	assert.Equal(t, "lines[0].quantity", e.fails(http.StatusBadRequest, http.MethodPost, "/refund",
		refundRequest{OrderID: "A1", IdempotencyKey: "r3", Lines: []refundLineJSON{{Line: 1}}}).Field)
	var r2 refundResponse
	e.ok(http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r2", Lines: []refundLineJSON{{Line: 0}}}, &r2)
	assert.False(t, r2.Full)
	assert.Equal(t, "paid", r2.State)
	rec := e.do(http.MethodPost, "/refund", r1) // the retry the 503 asked for
	assert.Equal(t, http.StatusOK, rec.Code, "the retried refund: %s", rec.Body)

	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "refunded", o.State)
	assert.Equal(t, c.CashDue, o.CashRefunded, "cash refunded of the cash paid (order %s)", o.State)
	assert.Equal(t, int64(1000), o.PointsBack)
	assert.Equal(t, int64(5000), e.account("alice").Points, "spent points back, earned ones clawed back")
}

// A payment callback that failed half way completes when the provider
// retries it, and until then another callback changes nothing. The paid
// callback of attempt wx-2 confirms the coupons, then fails capturing the
// points (503). Before the provider retries it, the failure notice of the
// customer's earlier attempt wx-1 arrives: it is refused (409) and leaves
// the order as it is, and the retried wx-2 completes: the order is paid,
// with alice's 1000 points spent on it.
func TestFailedNoticeWaitsForHalfDonePayment(t *testing.T) {
	store := &failingMembers{Store: member.NewMemoryStore()}
	e := newEnvWith(t, store)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1")}
	chk.Points = 1000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	require.NotEmpty(t, c.HoldID)
	hold := c.HoldID
	store.hold.Store(&hold)
	paid := paymentRequest{OrderID: "A1", PaymentID: "wx-2", Status: "paid", Amount: c.CashDue}
	e.fails(http.StatusServiceUnavailable, http.MethodPost, "/payments/callback", paid)

	assert.Equal(t, "payment_id", e.fails(http.StatusConflict, http.MethodPost, "/payments/callback",
		paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "failed"}).Field)
	assert.Equal(t, int64(1000), e.account("alice").Held, "the failure notice gave the points back")
	rec := e.do(http.MethodPost, "/payments/callback", paid) // the provider's retry
	assert.Equal(t, http.StatusOK, rec.Code, "the retried paid callback: %s", rec.Body)
	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "paid", o.State)
	assert.Equal(t, 5000-1000+o.PointsEarned, e.account("alice").Points, "alice spent 1000 points on the order")
}

// A paid callback whose first step a library refuses (nothing written) is
// forgotten: it does not stand in the way of the failure notice. The
// coupons of the order are released behind the shop's back (a host's
// timer for abandoned checkouts); the paid callback is refused at Confirm,
// and the failure notice then cancels the order and gives the points back.
func TestRefusedPaymentIsForgotten(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1")}
	chk.Points = 1000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)
	require.NotEmpty(t, c.Coupons)
	_, err := e.shop.coupons.Release(e.ctx, tenant, "A1")
	require.NoError(t, err)

	e.fails(http.StatusConflict, http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "paid", Amount: c.CashDue})
	var o orderResponse
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-2", Status: "failed"}, &o)
	assert.Equal(t, "cancelled", o.State)
	assert.Equal(t, int64(5000), e.account("alice").Points)
}

// A checkout replayed after its payment failed answers with the first
// response but the order's state now, cancelled: a client that read
// "pending_payment" again would collect the cash for coupons and points
// already given back.
func TestCheckoutReplayTellsStateNow(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "try-1"}
	chk.Points = 2000
	var first checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &first)
	require.Equal(t, "pending_payment", first.State)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "failed"}, nil)

	var again checkoutResponse
	rec := e.ok(http.MethodPost, "/checkout", chk, &again)
	assert.Equal(t, "true", rec.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, "cancelled", again.State)
	again.State = first.State
	assert.Equal(t, first, again, "the rest is the first response")
	assert.Equal(t, int64(0), e.account("alice").Held)
}

// The key of a failed attempt is spent for an order paid in cash alone
// too, which leaves no coupon lock or points hold to tell: a stale retry
// of k1 after a later attempt k2 failed as well used to open a new
// pending attempt that asked for the cash again; it is 409.
func TestFailedAttemptsKeyIsSpentForCashOnlyOrder(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1")}
	chk.Coupons = list()
	for _, key := range []string{"k1", "k2"} {
		chk.IdempotencyKey = key
		e.ok(http.MethodPost, "/checkout", chk, nil)
		e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx-" + key, Status: "failed"}, nil)
	}
	chk.IdempotencyKey = "k1"
	rec := e.do(http.MethodPost, "/checkout", chk)
	assert.Equal(t, http.StatusConflict, rec.Code, "the spent key k1 checked the order out again: %s", rec.Body)
	var o orderResponse
	e.ok(http.MethodGet, "/orders/A1", nil, &o)
	assert.Equal(t, "cancelled", o.State)
}
