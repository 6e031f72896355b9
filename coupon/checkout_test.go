package coupon_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestQuoteService(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "cash", Kind: coupon.KindCash, Amount: yuan("10.00")})
	e.put(t, coupon.Template{ID: "big", Kind: coupon.KindThreshold, MinSpend: yuan("200.00"), Amount: yuan("30.00")})
	mine := e.claim(t, "u1", "cash")
	far := e.claim(t, "u1", "big")
	theirs := e.claim(t, "u2", "cash")

	q, err := e.svc.Quote(ctx, cart3(), []string{mine.ID, far.ID})
	require.NoError(t, err)
	assert.Equal(t, []string{mine.ID}, q.Coupons())
	require.Len(t, q.Rejected, 1)
	assert.Equal(t, coupon.ReasonMinSpend, q.Rejected[0].Reason)
	assertMoney(t, "34.80", q.Rejected[0].Shortfall)
	assertMoney(t, "163.20", q.Payable)

	plain, err := e.svc.Quote(ctx, cart3(), nil)
	require.NoError(t, err)
	assertMoney(t, "173.20", plain.Payable)

	_, err = e.svc.Quote(ctx, cart3(), []string{"nope"})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = e.svc.Quote(ctx, cart3(), []string{theirs.ID})
	assert.ErrorIs(t, err, scrm.ErrForbidden)
	other := cart3()
	other.Tenant = "other"
	_, err = e.svc.Quote(ctx, other, []string{mine.ID})
	assert.ErrorIs(t, err, scrm.ErrNotFound, "a coupon of another tenant is not found")
	empty := cart3()
	empty.Items = nil
	_, err = e.svc.Quote(ctx, empty, []string{mine.ID})
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	t.Run("audience rechecked on use", func(t *testing.T) {
		aud := rule.HasTag("member")
		e.put(t, coupon.Template{ID: "m", Kind: coupon.KindCash, Amount: yuan("5"), Audience: &aud, RecheckAudience: true})
		_, _, err := scrm.UpdateProfile(ctx, e.profiles, tenant, "u1", "", func(p *scrm.Profile) error {
			p.SetTag("member", scrm.TagMark{At: t0, Expires: t0.Add(time.Hour)})
			return nil
		})
		require.NoError(t, err)
		m := e.claim(t, "u1", "m")
		q, err := e.svc.Quote(ctx, cart3(), []string{m.ID})
		require.NoError(t, err)
		assert.Equal(t, []string{m.ID}, q.Coupons())
		e.clock.Advance(2 * time.Hour) // the membership tag expired
		q, err = e.svc.Quote(ctx, cart3(), []string{m.ID})
		require.NoError(t, err)
		require.Len(t, q.Rejected, 1)
		assert.Equal(t, coupon.ReasonAudience, q.Rejected[0].Reason)
	})
}

func TestBest(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c5", Kind: coupon.KindCash, Amount: yuan("5.00")})
	e.put(t, coupon.Template{ID: "c8", Kind: coupon.KindCash, Amount: yuan("8.00"), Validity: coupon.Validity{Days: 3}})
	e.put(t, coupon.Template{ID: "c8b", Kind: coupon.KindCash, Amount: yuan("8.00"), Validity: coupon.Validity{Days: 2}})
	e.put(t, coupon.Template{ID: "t20", Kind: coupon.KindThreshold, MinSpend: yuan("150.00"), Amount: yuan("20.00")})
	e.put(t, coupon.Template{ID: "t99", Kind: coupon.KindThreshold, MinSpend: yuan("500.00"), Amount: yuan("99.00")})
	e.put(t, coupon.Template{ID: "p9", Kind: coupon.KindPercent, Rate: yuan("0.9")})
	e.put(t, coupon.Template{ID: "ship", Kind: coupon.KindFreeShipping})
	e.put(t, coupon.Template{ID: "solo", Kind: coupon.KindCash, Amount: yuan("40.00"), Exclusive: true})
	ids := map[string]string{}
	for _, tmpl := range []string{"c5", "c8", "c8b", "t20", "t99", "p9", "ship", "solo"} {
		ids[tmpl] = e.claim(t, "u1", tmpl).ID
	}
	e.claim(t, "u2", "t20") // someone else's

	q, err := e.svc.Best(ctx, cart3())
	require.NoError(t, err)
	// c8b (expires sooner) + t20 + 10% of the rest + shipping beats the
	// exclusive 40: 8 + 20 + 13.72 + 8 = 49.72.
	assert.Equal(t, []string{ids["c8b"], ids["t20"], ids["p9"], ids["ship"]}, q.Coupons())
	assertMoney(t, "49.72", q.Discount)
	assert.Empty(t, q.Rejected)

	// Without shipping and the percent coupon the exclusive one wins.
	cart := cart3()
	cart.Shipping = decimal.Zero
	_, err = e.svc.Revoke(ctx, tenant, ids["p9"])
	require.NoError(t, err)
	q, err = e.svc.Best(ctx, cart)
	require.NoError(t, err)
	assert.Equal(t, []string{ids["solo"]}, q.Coupons(), "40 alone beats 8 + 20")

	// A customer with nothing usable gets the cart as it is.
	q, err = e.svc.Best(ctx, coupon.Cart{Tenant: tenant, Customer: "nobody", Items: cart.Items})
	require.NoError(t, err)
	assert.Empty(t, q.Applied)
	assertMoney(t, "165.20", q.Payable)
}

func TestBestTies(t *testing.T) {
	e := newEnv(t)
	// Two equal coupons of different templates: the one expiring sooner.
	e.put(t, coupon.Template{ID: "late", Kind: coupon.KindCash, Amount: yuan("5.00"), Validity: coupon.Validity{Days: 9}})
	e.put(t, coupon.Template{ID: "soon", Kind: coupon.KindCash, Amount: yuan("5.00"), Validity: coupon.Validity{Days: 2}})
	late, soon := e.claim(t, "u1", "late"), e.claim(t, "u1", "soon")
	q, err := e.svc.Best(ctx, cart3())
	require.NoError(t, err)
	assert.Equal(t, []string{soon.ID}, q.Coupons())
	_ = late

	// Fewer coupons for the same discount: a second coupon that adds
	// nothing is left out.
	cart := coupon.Cart{Tenant: tenant, Customer: "u1", Items: []coupon.Item{item("x", "", "5.00", 1)}}
	e.put(t, coupon.Template{ID: "pct", Kind: coupon.KindPercent, Rate: yuan("0.5"), Validity: coupon.Validity{Days: 1}})
	e.claim(t, "u1", "pct")
	q, err = e.svc.Best(ctx, cart)
	require.NoError(t, err)
	assert.Equal(t, []string{soon.ID}, q.Coupons(), "the 5.00 cash takes all; the percent coupon would add nothing")
}

func TestCheckoutLifecycle(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "cash", Kind: coupon.KindCash, Amount: yuan("10.00"), Budget: yuan("1000.00")})
	e.put(t, coupon.Template{ID: "ship", Kind: coupon.KindFreeShipping})
	c := e.claim(t, "u1", "cash")
	s := e.claim(t, "u1", "ship")
	cart := cart3()

	lock := coupon.LockRequest{Cart: cart, Coupons: []string{s.ID, c.ID}, IdempotencyKey: "pay-o1"}
	o, err := e.svc.Lock(ctx, lock)
	require.NoError(t, err)
	assert.Equal(t, coupon.OrderLocked, o.State)
	assert.Equal(t, []string{c.ID, s.ID}, o.Coupons, "in application order")
	assertMoney(t, "155.20", o.Quote.Payable)
	st, err := e.svc.Stats(ctx, tenant, "cash")
	require.NoError(t, err)
	assertMoney(t, "10.00", st.Reserved)

	again, err := e.svc.Lock(ctx, lock)
	require.NoError(t, err, "a replay")
	assert.Equal(t, o.Version, again.Version)
	diff := lock
	diff.Coupons = []string{c.ID}
	_, err = e.svc.Lock(ctx, diff)
	assert.ErrorIs(t, err, scrm.ErrConflict, "the key with another request")

	other := cart3()
	other.OrderID = "o2"
	_, err = e.svc.Lock(ctx, coupon.LockRequest{Cart: other, Coupons: []string{c.ID}, IdempotencyKey: "pay-o2"})
	assert.ErrorIs(t, err, scrm.ErrConflict, "locked by o1")
	q, err := e.svc.Quote(ctx, other, []string{c.ID})
	require.NoError(t, err)
	assert.Equal(t, coupon.ReasonLocked, q.Rejected[0].Reason)

	o, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)
	assert.Equal(t, coupon.OrderConfirmed, o.State)
	wallet, err := e.svc.Wallet(ctx, tenant, "u1")
	require.NoError(t, err)
	for _, w := range wallet {
		assert.Equal(t, coupon.StateRedeemed, w.State)
		assert.Equal(t, "o1", w.Order)
	}
	st, err = e.svc.Stats(ctx, tenant, "cash")
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Redeemed)
	assertMoney(t, "10.00", st.Discount)
	assertMoney(t, "0", st.Reserved)
	assertMoney(t, "155.20", st.GMV)
	redeemed := e.events.ofType(coupon.EventRedeemed)
	require.Len(t, redeemed, 2)
	assert.Equal(t, "coupon.redeemed:"+c.ID+":o1", redeemed[0].ID)
	assertMoney(t, "10.00", redeemed[0].Amount)
	_, err = e.svc.Release(ctx, tenant, "o1")
	assert.ErrorIs(t, err, scrm.ErrConflict)

	// Refund one tea (line 0 has 2): its share of the 10.00 is half of 3.64.
	r, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", IdempotencyKey: "rf1",
		Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
	require.NoError(t, err)
	assert.False(t, r.Full)
	require.Len(t, r.Lines, 1)
	assertMoney(t, "1.82", r.Lines[0].Discount)
	assertMoney(t, "28.18", r.Lines[0].Amount)
	r2, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", IdempotencyKey: "rf1",
		Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
	require.NoError(t, err)
	assert.True(t, r.Discount.Equal(r2.Discount), "a replay")
	_, err = e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", IdempotencyKey: "rf1"})
	assert.ErrorIs(t, err, scrm.ErrConflict)
	_, err = e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", Lines: []coupon.RefundLine{{Line: 0, Quantity: 2}}})
	assert.ErrorIs(t, err, scrm.ErrInvalid, "only one unit left")
	_, err = e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", Lines: []coupon.RefundLine{{Line: 7}}})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	for _, w := range mustWallet(t, e, "u1") {
		assert.Equal(t, coupon.StateRedeemed, w.State, "a partial refund keeps the coupons")
	}
	st, err = e.svc.Stats(ctx, tenant, "cash")
	require.NoError(t, err)
	assertMoney(t, "8.18", st.Discount, "the refunded share goes back to the budget")

	// The rest: the coupons come back.
	r, err = e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", IdempotencyKey: "rf2"})
	require.NoError(t, err)
	assert.True(t, r.Full)
	assert.ElementsMatch(t, []string{c.ID, s.ID}, r.Restored)
	assertMoney(t, "16.18", r.Discount, "8.18 of the items plus 8.00 shipping")
	for _, w := range mustWallet(t, e, "u1") {
		assert.Equal(t, coupon.StateAvailable, w.State)
	}
	st, err = e.svc.Stats(ctx, tenant, "cash")
	require.NoError(t, err)
	assertMoney(t, "0", st.Discount)
	assertMoney(t, "0", st.GMV)
	assert.Zero(t, st.Redeemed)
	assert.Len(t, e.events.ofType(coupon.EventRestored), 2)
	last, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1"})
	require.NoError(t, err, "a full refund of a refunded order returns that refund")
	assert.True(t, last.Full)

	// The restored coupons are usable again, by a new order.
	fresh := cart3()
	fresh.OrderID = "o3"
	_, err = e.svc.Lock(ctx, coupon.LockRequest{Cart: fresh, Coupons: []string{c.ID}, IdempotencyKey: "pay-o3"})
	require.NoError(t, err)
	o, err = e.svc.Release(ctx, tenant, "o3")
	require.NoError(t, err)
	assert.Equal(t, coupon.OrderReleased, o.State)
	st, err = e.svc.Stats(ctx, tenant, "cash")
	require.NoError(t, err)
	assertMoney(t, "0", st.Reserved)
}

func mustWallet(t *testing.T, e *env, cust scrm.CustomerID) []coupon.Coupon {
	t.Helper()
	w, err := e.svc.Wallet(ctx, tenant, cust)
	require.NoError(t, err)
	return w
}

func TestRefundSharesAddUp(t *testing.T) {
	// Refunding 7 units one at a time gives back exactly the line's
	// discount, whatever the rounding of each step.
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "p", Kind: coupon.KindPercent, Rate: yuan("0.87")})
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("3.33")})
	p, c := e.claim(t, "u1", "p"), e.claim(t, "u1", "c")
	cart := coupon.Cart{Tenant: tenant, Customer: "u1", OrderID: "o1",
		Items: []coupon.Item{item("a", "", "9.99", 7), item("b", "", "0.07", 3)}}
	o, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{p.ID, c.ID}, IdempotencyKey: "k"})
	require.NoError(t, err)
	_, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)
	total := decimal.Zero
	for range 7 {
		r, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1", Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
		require.NoError(t, err)
		total = total.Add(r.Discount)
		sum := decimal.Zero
		for _, cs := range r.Lines[0].Coupons {
			sum = sum.Add(cs.Discount)
		}
		assert.True(t, sum.Equal(r.Lines[0].Discount))
	}
	assert.True(t, o.Quote.Lines[0].Discount.Equal(total), "refunded %s of %s", total, o.Quote.Lines[0].Discount)
	r, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1"})
	require.NoError(t, err)
	assert.True(t, r.Full)
	assert.True(t, o.Quote.Lines[1].Discount.Equal(r.Discount))
	st, err := e.svc.Stats(ctx, tenant, "p")
	require.NoError(t, err)
	assertMoney(t, "0", st.Discount)
	assertMoney(t, "0", st.GMV)
}

func TestRefundAfterExpiry(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Validity: coupon.Validity{Days: 1}})
	c := e.claim(t, "u1", "c")
	_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart3(), Coupons: []string{c.ID}, IdempotencyKey: "k"})
	require.NoError(t, err)
	_, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)
	e.clock.Advance(48 * time.Hour)
	r, err := e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1"})
	require.NoError(t, err)
	assert.Equal(t, []string{c.ID}, r.Expired)
	assert.Empty(t, r.Restored)
	assert.Equal(t, coupon.StateExpired, mustWallet(t, e, "u1")[0].State)
}

func TestLockRefusals(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	e.put(t, coupon.Template{ID: "t", Kind: coupon.KindThreshold, MinSpend: yuan("500"), Amount: yuan("50")})
	e.put(t, coupon.Template{ID: "b", Kind: coupon.KindCash, Amount: yuan("50"), Budget: yuan("60")})
	c, far, theirs := e.claim(t, "u1", "c"), e.claim(t, "u1", "t"), e.claim(t, "u2", "c")
	b1, b2 := e.claim(t, "u1", "b"), e.claim(t, "u2", "b")
	lock := func(order string, cust scrm.CustomerID, ids ...string) error {
		cart := cart3()
		cart.OrderID, cart.Customer = order, cust
		_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: ids, IdempotencyKey: "k-" + order})
		return err
	}
	for _, x := range []struct {
		name  string
		err   error
		want  error
		field string
	}{
		{"no coupons", lock("o1", "u1"), scrm.ErrInvalid, "Coupons"},
		{"twice", lock("o1", "u1", c.ID, c.ID), scrm.ErrInvalid, "Coupons[1]"},
		{"unknown", lock("o1", "u1", "nope"), scrm.ErrNotFound, ""},
		{"another customer's", lock("o1", "u1", theirs.ID), scrm.ErrForbidden, ""},
		{"min spend not met", lock("o1", "u1", c.ID, far.ID), scrm.ErrForbidden, "Coupons[1]"},
	} {
		assert.ErrorIs(t, x.err, x.want, x.name)
		if x.field != "" {
			assert.Equal(t, x.field, fieldOf(x.err), x.name)
		}
	}
	assert.Equal(t, coupon.StateAvailable, mustWallet(t, e, "u1")[0].State, "nothing locked")
	require.NoError(t, lock("o2", "u1", b1.ID))
	err := lock("o3", "u2", b2.ID)
	assert.ErrorIs(t, err, scrm.ErrExhausted, "50 reserved of 60: quote says budget")
	noOrder := cart3()
	noOrder.OrderID = ""
	_, err = e.svc.Lock(ctx, coupon.LockRequest{Cart: noOrder, Coupons: []string{c.ID}, IdempotencyKey: "k"})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	_, err = e.svc.Confirm(ctx, tenant, "nope")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o2"})
	assert.ErrorIs(t, err, scrm.ErrConflict, "a locked order is released, not refunded")
}

func TestFiveOrdersOneCoupon(t *testing.T) {
	// One coupon, five concurrent checkouts: exactly one locks it, the
	// others fail cleanly, and nobody pays a negative amount.
	for round := range 20 {
		e := newEnv(t)
		e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("500.00")})
		c := e.claim(t, "u1", "c")
		var won atomic.Int64
		var wg sync.WaitGroup
		for g := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cart := cart3()
				cart.OrderID = fmt.Sprintf("o%d", g)
				o, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{c.ID}, IdempotencyKey: cart.OrderID})
				if err != nil {
					assert.ErrorIs(t, err, scrm.ErrConflict)
					return
				}
				won.Add(1)
				assert.False(t, o.Quote.Payable.IsNegative())
				assertMoney(t, "8.00", o.Quote.Payable, "the coupon takes the items, never the order below zero")
			}()
		}
		wg.Wait()
		require.Equal(t, int64(1), won.Load(), "round %d", round)
	}
}

func TestConcurrentClaims(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "flash", Kind: coupon.KindCash, Amount: yuan("5"), Stock: 100, PerCustomer: 1})
	var won atomic.Int64
	var wg sync.WaitGroup
	for g := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cust := scrm.CustomerID(fmt.Sprintf("u%d", g%200))
			_, err := e.svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: cust, Template: "flash", IdempotencyKey: fmt.Sprint("k", g)})
			if err == nil {
				won.Add(1)
			} else {
				assert.ErrorIs(t, err, scrm.ErrExhausted)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(100), won.Load())
	st, err := e.svc.Stats(ctx, tenant, "flash")
	require.NoError(t, err)
	assert.Equal(t, int64(100), st.Issued)
}
