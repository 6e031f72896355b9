package coupon_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestTemplateChangedByAnotherService(t *testing.T) {
	// Two services (two processes) share a store: a change made through
	// one is seen by the other, which keeps templates compiled per version.
	a := newEnv(t)
	b := coupon.New(a.store, a.profiles, &coupon.Options{Options: scrm.Options{Clock: a.clock}})
	tp := a.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Scope: coupon.Scope{Products: []string{"tea"}}})
	q, err := a.svc.Quote(ctx, cart3(), []string{a.claim(t, "u1", "c").ID})
	require.NoError(t, err)
	assertMoney(t, "5.00", q.Discount)

	tp.Scope.Products = []string{"cake"}
	_, err = b.PutTemplate(ctx, tp)
	require.NoError(t, err)
	q, err = a.svc.Quote(ctx, cart3(), q.Coupons())
	require.NoError(t, err)
	require.Len(t, q.Applied, 1)
	assert.Equal(t, []string{"1:5.00"}, shares(q.Applied[0]), "the new scope applies")
}

func TestBestKeepsSoonestOfATemplate(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), PerCustomer: 3})
	first := e.claim(t, "u1", "c")
	e.clock.Advance(1)
	e.claim(t, "u1", "c") // valid as long, issued later: ties break by ID
	q, err := e.svc.Best(ctx, cart3())
	require.NoError(t, err)
	assert.Equal(t, []string{first.ID}, q.Coupons())
}

func TestLargeScopes(t *testing.T) {
	e := newEnv(t)
	var products []string
	for i := range 100 {
		products = append(products, fmt.Sprintf("p%d", i))
	}
	products = append(products, "cup")
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Scope: coupon.Scope{Products: products,
		ExcludeProducts: products[:20], Stores: append(products[:10:10], "s1")}})
	q, err := e.svc.Quote(ctx, cart3(), []string{e.claim(t, "u1", "c").ID})
	require.NoError(t, err)
	require.Len(t, q.Applied, 1)
	assert.Equal(t, []string{"2:5.00"}, shares(q.Applied[0]))
}

func TestPublishFailure(t *testing.T) {
	// The claim is stored; its event is not delivered; a retry with the
	// same key returns the coupon and publishes the event again.
	e := newEnv(t)
	var fail bool
	var delivered []string
	svc := coupon.New(e.store, nil, &coupon.Options{Options: scrm.Options{Clock: e.clock,
		Publisher: scrm.PublisherFunc(func(_ context.Context, ev scrm.Event) error {
			if fail {
				return errors.New("bus down")
			}
			delivered = append(delivered, ev.ID)
			return nil
		})}})
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	fail = true
	req := coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k"}
	_, err := svc.Claim(ctx, req)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	fail = false
	c, err := svc.Claim(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"coupon.issued:" + c.ID}, delivered)
	st, err := svc.Stats(ctx, tenant, "c")
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Issued)
}

func TestOrder(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	c := e.claim(t, "u1", "c")
	_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart3(), Coupons: []string{c.ID}, IdempotencyKey: "k"})
	require.NoError(t, err)
	o, err := e.svc.Order(ctx, tenant, "o1")
	require.NoError(t, err)
	assert.Equal(t, coupon.OrderLocked, o.State)
	assert.Equal(t, []string{c.ID}, o.Coupons)
	assertMoney(t, "5.00", o.Discount(c.ID))
	assertMoney(t, "0", o.Discount("other"))
	_, err = e.svc.Order(ctx, tenant, "nope")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = e.svc.Order(ctx, tenant, "")
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}
