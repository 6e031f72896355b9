package coupon_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// Refund doc: "Shares are cumulative per line: line discount × units
// refunded so far ÷ quantity, rounded half-up to the fen". Two coupons that
// make a line of 2 × 1.00 free must give back 1.00 for one unit, and the
// customer paid 0.00 for it, never a negative amount.
func TestRefundLineShareRoundsPerLine(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "a", Kind: coupon.KindCash, Amount: yuan("1.01"), StackGroup: "ga"})
	e.put(t, coupon.Template{ID: "b", Kind: coupon.KindCash, Amount: yuan("0.99"), StackGroup: "gb"})
	a, b := e.claim(t, "u1", "a"), e.claim(t, "u1", "b")
	cart := coupon.Cart{Tenant: tenant, Customer: "u1", OrderID: "o1", Items: []coupon.Item{item("x", "", "1.00", 2)}}
	o, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{a.ID, b.ID}, IdempotencyKey: "k"})
	require.NoError(t, err)
	assertMoney(t, "0.00", o.Quote.Payable)
	assertMoney(t, "2.00", o.Quote.Lines[0].Discount)
	_, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)

	r, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
	require.NoError(t, err)
	require.Len(t, r.Lines, 1)
	assertMoney(t, "1.00", r.Lines[0].Discount, "2.00 × 1/2")
	assertMoney(t, "0.00", r.Lines[0].Amount, "the unit was free")
	assert.False(t, r.Amount.IsNegative(), "refund amount %s", r.Amount)
}

// The same per-coupon rounding makes an ordinary partial refund off by a
// fen: line 2 × 10.00 with 3.33 and 6.67 off (10.00 in all): refunding one
// unit gives back 5.00 of discount, and the customer paid 5.00 for it.
func TestRefundLineShareNotOffByAFen(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "a", Kind: coupon.KindCash, Amount: yuan("3.33"), StackGroup: "ga"})
	e.put(t, coupon.Template{ID: "b", Kind: coupon.KindCash, Amount: yuan("6.67"), StackGroup: "gb"})
	a, b := e.claim(t, "u1", "a"), e.claim(t, "u1", "b")
	cart := coupon.Cart{Tenant: tenant, Customer: "u1", OrderID: "o1", Items: []coupon.Item{item("x", "", "10.00", 2)}}
	_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{a.ID, b.ID}, IdempotencyKey: "k"})
	require.NoError(t, err)
	_, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)
	r, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
	require.NoError(t, err)
	assertMoney(t, "5.00", r.Lines[0].Discount, "10.00 × 1/2")
	assertMoney(t, "5.00", r.Lines[0].Amount)
}

// Code doc: "each customer gets at most one coupon per shared code". A host
// that sends a fresh request ID as the IdempotencyKey must not let one
// customer claim a shared code again and again.
func TestSharedCodeOncePerCustomer(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "s", Kind: coupon.KindCash, Amount: yuan("3")})
	_, err := e.svc.PutSharedCode(ctx, tenant, "s", "SUMMER2026")
	require.NoError(t, err)
	first, err := e.svc.ClaimCode(ctx, coupon.CodeRequest{Tenant: tenant, Customer: "u1", Code: "SUMMER2026", IdempotencyKey: "req-1"})
	require.NoError(t, err)
	second, err := e.svc.ClaimCode(ctx, coupon.CodeRequest{Tenant: tenant, Customer: "u1", Code: "SUMMER2026", IdempotencyKey: "req-2"})
	if err == nil {
		assert.Equal(t, first.ID, second.ID, "a second coupon from one shared code for one customer")
	}
	assert.Len(t, mustWallet(t, e, "u1"), 1, "one coupon per customer per shared code")
}

// Cart.OrderID: "Coupons locked to this order are treated as available when
// quoting it again." The order's own budget reservation must not reject
// its own coupon.
func TestQuoteLockedOrderOwnBudget(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("10.00"), Budget: yuan("10.00")})
	c := e.claim(t, "u1", "c")
	cart := cart3()
	_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{c.ID}, IdempotencyKey: "k"})
	require.NoError(t, err)
	q, err := e.svc.Quote(ctx, cart, []string{c.ID})
	require.NoError(t, err)
	assert.Empty(t, q.Rejected)
	assertMoney(t, "10.00", q.Discount)
	best, err := e.svc.Best(ctx, cart)
	require.NoError(t, err)
	assertMoney(t, "10.00", best.Discount)
}

// PutTemplate must not keep memory the caller can change: reusing the
// template value (a common pattern when creating templates in a loop)
// must not change the scope of the stored one.
func TestPutTemplateDoesNotAliasScope(t *testing.T) {
	e := newEnv(t)
	tp := coupon.Template{ID: "t1", Kind: coupon.KindCash, Amount: yuan("10.00"),
		Scope: coupon.Scope{Products: []string{"tea"}}}
	e.put(t, tp)
	c := e.claim(t, "u1", "t1")
	tp.ID = "t2"
	tp.Scope.Products[0] = "cake"
	e.put(t, tp)

	cart := coupon.Cart{Tenant: tenant, Customer: "u1", Items: []coupon.Item{item("tea", "", "30.00", 1)}}
	q, err := e.svc.Quote(ctx, cart, []string{c.ID})
	require.NoError(t, err)
	assert.Empty(t, q.Rejected, "t1 is for tea")
	assertMoney(t, "10.00", q.Discount)

	cart.Items = []coupon.Item{item("cake", "", "30.00", 1)}
	q, err = e.svc.Quote(ctx, cart, []string{c.ID})
	require.NoError(t, err)
	assertMoney(t, "0", q.Discount, "t1 is not for cake")
}

// Kept edge cases (passing): the per-day limit on a 25-hour local day in a
// DST zone, and a fixed-window template at the exact instant it ends.
func TestPerDayFallBackAndWindowEnd(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	e := newEnv(t, func(o *coupon.Options) { o.Location = ny })
	e.put(t, coupon.Template{ID: "d1", Kind: coupon.KindCash, Amount: yuan("1"), Validity: coupon.Validity{Days: 1}, PerCustomerPerDay: 1})
	// 1 Nov 2026 has 25 hours in New York: 23:30 is still that day.
	e.clock.Set(time.Date(2026, 11, 1, 0, 30, 0, 0, ny))
	e.claim(t, "u1", "d1")
	e.clock.Set(time.Date(2026, 11, 1, 23, 30, 0, 0, ny))
	_, err = e.svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "d1", IdempotencyKey: "x"})
	assert.ErrorIs(t, err, scrm.ErrExhausted)
	assert.Equal(t, "PerCustomerPerDay", fieldOf(err))
	e.clock.Set(time.Date(2026, 11, 2, 0, 0, 0, 0, ny))
	_, err = e.svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "d1", IdempotencyKey: "y"})
	assert.NoError(t, err)

	to := time.Date(2026, 12, 1, 0, 0, 0, 0, ny)
	e.put(t, coupon.Template{ID: "w", Kind: coupon.KindCash, Amount: yuan("1"), Validity: coupon.Validity{To: to}})
	e.clock.Set(to.Add(-time.Nanosecond))
	c := e.claim(t, "u3", "w")
	e.clock.Set(to)
	_, err = e.svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u3", Template: "w", IdempotencyKey: "z"})
	assert.ErrorIs(t, err, scrm.ErrExpired, "claiming the instant the window ends")
	q, err := e.svc.Quote(ctx, coupon.Cart{Tenant: tenant, Customer: "u3", Items: []coupon.Item{item("a", "", "5", 1)}}, []string{c.ID})
	require.NoError(t, err)
	require.Len(t, q.Rejected, 1)
	assert.Equal(t, coupon.ReasonExpired, q.Rejected[0].Reason, "ValidTo is exclusive")
}

// Kept edge case (passing, run with -race): concurrent full refunds of one
// order without a key restore its coupon once and give the budget back once.
func TestConcurrentFullRefunds(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("10"), Budget: yuan("100")})
	c := e.claim(t, "v1", "c")
	cart := coupon.Cart{Tenant: tenant, Customer: "v1", OrderID: "o1", Items: []coupon.Item{item("a", "", "50", 1)}}
	_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{c.ID}, IdempotencyKey: "lk"})
	require.NoError(t, err)
	_, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1"})
			if assert.NoError(t, err) && assert.True(t, r.Full) {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(10), ok.Load())
	st, err := e.svc.Stats(ctx, tenant, "c")
	require.NoError(t, err)
	assertMoney(t, "0", st.Discount)
	assertMoney(t, "0", st.GMV)
	assert.Zero(t, st.Redeemed)
	// Every call publishes the refund's events (a repeat republishes what a
	// failed publish may have lost), all with the one ID of one restoration.
	restored := map[string]bool{}
	for _, ev := range e.events.ofType(coupon.EventRestored) {
		restored[ev.ID] = true
	}
	assert.Equal(t, map[string]bool{"coupon.restored:" + c.ID + ":o1": true}, restored, "restored once")
	o, err := e.svc.Order(ctx, tenant, "o1")
	require.NoError(t, err)
	assert.Len(t, o.Refunds, 1)
}
