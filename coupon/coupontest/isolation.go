package coupontest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

func testTenantIsolation(t *testing.T, h harness) {
	s := h.newStore(t)
	const other scrm.TenantID = "t2"
	putTemplate(t, s, cashTemplate(tenant, "c"))
	_, err := s.Template(ctx, other, "c")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.Stats(ctx, other, "c")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.Claim(ctx, claimParams(other, "c", "u1", "k", newCoupon(other, "c", "u1", "a")))
	assert.ErrorIs(t, err, scrm.ErrNotFound, "a template of another tenant")

	// The same IDs and keys in two tenants are different things.
	tp := cashTemplate(other, "c")
	tp.Amount = scrm.Yuan("3.00")
	putTemplate(t, s, tp)
	issue(t, s, tenant, "c", "u1", "a")
	issue(t, s, other, "c", "u1", "a")
	require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "CODE", Template: "c"}}))
	require.NoError(t, s.PutCodes(ctx, other, []coupon.Code{{Tenant: other, Code: "CODE", Template: "c"}}))
	got, err := s.Template(ctx, other, "c")
	require.NoError(t, err)
	assertMoney(t, "3.00", got.Amount)
	assert.Equal(t, int64(1), stats(t, s, tenant, "c").Issued)
	assert.Equal(t, int64(1), stats(t, s, other, "c").Issued)
	_, err = s.ClaimByKey(ctx, "t3", "k-a")
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	at := t0.Add(time.Hour)
	_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k1", at, use("a", "c", "1.00")), Fingerprint: "f"})
	require.NoError(t, err)
	assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, other, "a").State, "locking in one tenant leaves the other alone")
	_, err = s.Order(ctx, other, "o1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.Confirm(ctx, coupon.OrderParams{Tenant: other, OrderID: "o1", Now: at})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(other, "o1", "u1", "k1", at, use("a", "c", "1.00")), Fingerprint: "f"})
	require.NoError(t, err, "order IDs and lock keys are per tenant")

	// Reads by ID or by customer see only the tenant asked: the same
	// customer ID in two tenants is two customers.
	issue(t, s, tenant, "c", "u1", "only-t1")
	page, err := s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: other, Customer: "u1"})
	require.NoError(t, err)
	if assert.Len(t, page.Coupons, 1, "u1 of t2 holds one coupon") {
		assert.Equal(t, other, page.Coupons[0].Tenant)
		assert.Equal(t, coupon.StateLocked, page.Coupons[0].State)
	}
	_, err = s.Coupon(ctx, other, "only-t1")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "a coupon of another tenant")
	_, err = s.Coupons(ctx, other, []string{"a", "only-t1"})
	assert.ErrorIs(t, err, scrm.ErrNotFound, "a coupon of another tenant")
	_, err = s.Coupons(ctx, "t3", []string{"a"})
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	page, err = s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: "t3"})
	require.NoError(t, err)
	assert.Empty(t, page.Coupons)
	expired, err := s.Expire(ctx, coupon.ExpireParams{Tenant: other, Now: t0.AddDate(1, 0, 0)})
	require.NoError(t, err)
	assert.Empty(t, expired, "the other tenant's only coupon is locked")
	expired, err = s.Expire(ctx, coupon.ExpireParams{Tenant: "t3", Now: t0.AddDate(1, 0, 0)})
	require.NoError(t, err)
	assert.Empty(t, expired)
	assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "only-t1").State, "expiring one tenant leaves the others alone")
	assert.Zero(t, stats(t, s, tenant, "c").Expired)
}

func testCancelledContext(t *testing.T, h harness) {
	s := h.newStore(t)
	putTemplate(t, s, cashTemplate(tenant, "c"))
	issue(t, s, tenant, "c", "u1", "a")
	issue(t, s, tenant, "c", "u1", "b")
	at := t0.Add(time.Hour)
	_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k1", at, use("b", "c", "1.00")), Fingerprint: "f"})
	require.NoError(t, err)

	done, cancel := context.WithCancel(ctx)
	cancel()
	tp := cashTemplate(tenant, "c")
	tp.Version, tp.Name = 1, "changed"
	calls := map[string]func() error{
		"PutTemplate": func() error { _, err := s.PutTemplate(done, tp); return err },
		"Template":    func() error { _, err := s.Template(done, tenant, "c"); return err },
		"Stats":       func() error { _, err := s.Stats(done, tenant, "c"); return err },
		"Claim": func() error {
			_, err := s.Claim(done, claimParams(tenant, "c", "u2", "kx", newCoupon(tenant, "c", "u2", "x")))
			return err
		},
		"ClaimByKey":  func() error { _, err := s.ClaimByKey(done, tenant, "k-a"); return err },
		"Coupon":      func() error { _, err := s.Coupon(done, tenant, "a"); return err },
		"Coupons":     func() error { _, err := s.Coupons(done, tenant, []string{"a"}); return err },
		"ListCoupons": func() error { _, err := s.ListCoupons(done, coupon.ListCouponsParams{Tenant: tenant}); return err },
		"Revoke": func() error {
			_, err := s.Revoke(done, coupon.RevokeParams{Tenant: tenant, ID: "a", Now: at})
			return err
		},
		"Expire": func() error {
			_, err := s.Expire(done, coupon.ExpireParams{Tenant: tenant, Now: t0.AddDate(1, 0, 0)})
			return err
		},
		"PutCodes": func() error {
			return s.PutCodes(done, tenant, []coupon.Code{{Tenant: tenant, Code: "X", Template: "c"}})
		},
		"Code": func() error { _, err := s.Code(done, tenant, "X"); return err },
		"Lock": func() error {
			_, err := s.Lock(done, coupon.LockParams{Order: lockOrder(tenant, "o2", "u1", "k2", at, use("a", "c", "1.00")), Fingerprint: "f"})
			return err
		},
		"Confirm": func() error {
			_, err := s.Confirm(done, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
			return err
		},
		"Release": func() error {
			_, err := s.Release(done, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
			return err
		},
		"Refund": func() error {
			_, err := s.Refund(done, coupon.RefundParams{Tenant: tenant, OrderID: "o1", Version: 1, Units: []int{1}})
			return err
		},
		"Order": func() error { _, err := s.Order(done, tenant, "o1"); return err },
	}
	for name, call := range calls {
		err := call()
		assert.ErrorIs(t, err, scrm.ErrUnavailable, name)
		assert.ErrorIs(t, err, context.Canceled, name)
	}

	// Nothing was written.
	got, err := s.Template(ctx, tenant, "c")
	require.NoError(t, err)
	assert.NotEqual(t, "changed", got.Name)
	assert.Equal(t, int64(2), stats(t, s, tenant, "c").Issued)
	assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "a").State)
	assert.Equal(t, coupon.StateLocked, getCoupon(t, s, tenant, "b").State)
	_, err = s.Code(ctx, tenant, "X")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}
