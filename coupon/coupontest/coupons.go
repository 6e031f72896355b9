package coupontest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

func testCoupons(t *testing.T, h harness) {
	t.Run("Get", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "c", "u1", "b")
		_, err := s.Coupon(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		cs, err := s.Coupons(ctx, tenant, []string{"b", "a"})
		require.NoError(t, err)
		require.Len(t, cs, 2)
		assert.Equal(t, "b", cs[0].ID, "in the order asked")
		assert.Equal(t, "a", cs[1].ID)
		_, err = s.Coupons(ctx, tenant, []string{"a", "nope"})
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		cs[0].State = coupon.StateRevoked
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "b").State, "returned coupons are copies")
	})

	t.Run("List", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		putTemplate(t, s, cashTemplate(tenant, "d"))
		for i := range 10 {
			cust := scrm.CustomerID(fmt.Sprint("u", i%2))
			tmpl := []string{"c", "d"}[i%3%2]
			c := newCoupon(tenant, tmpl, cust, fmt.Sprintf("cp%02d", i))
			c.ValidTo = t0.Add(time.Duration(i+1) * time.Hour)
			_, err := s.Claim(ctx, claimParams(tenant, tmpl, cust, c.ID, c))
			require.NoError(t, err)
		}
		_, err := s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: "cp03", Now: t0})
		require.NoError(t, err)

		var all []string
		for cur := ""; ; {
			page, err := s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: tenant, Cursor: cur, Limit: 3})
			require.NoError(t, err)
			assert.LessOrEqual(t, len(page.Coupons), 3)
			for _, c := range page.Coupons {
				all = append(all, c.ID)
			}
			if cur = page.Next; cur == "" {
				break
			}
		}
		assert.Len(t, all, 10)
		assert.True(t, slices.IsSorted(all), "ID order: %v", all)
		assert.Len(t, slices.Compact(slices.Clone(all)), 10, "no duplicates across pages")

		ids := func(p coupon.ListCouponsParams) []string {
			p.Tenant = tenant
			page, err := s.ListCoupons(ctx, p)
			require.NoError(t, err)
			var out []string
			for _, c := range page.Coupons {
				out = append(out, c.ID)
			}
			return out
		}
		assert.Equal(t, []string{"cp01", "cp03", "cp05", "cp07", "cp09"}, ids(coupon.ListCouponsParams{Customer: "u1"}))
		assert.Equal(t, []string{"cp03", "cp05", "cp09"}, ids(coupon.ListCouponsParams{Customer: "u1", Template: "c"}))
		assert.Equal(t, []string{"cp03"}, ids(coupon.ListCouponsParams{State: coupon.StateRevoked}))
		assert.Equal(t, []string{"cp02", "cp03", "cp04"}, ids(coupon.ListCouponsParams{
			ValidToAfter: t0.Add(2 * time.Hour), ValidToBefore: t0.Add(5 * time.Hour)}), "ValidToAfter < ValidTo <= ValidToBefore")
		assert.Empty(t, ids(coupon.ListCouponsParams{Customer: "nobody"}))
		page, err := s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: tenant, Customer: "u0", Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, "cp02", page.Next)
	})

	t.Run("ListLimitCapped", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		cs := make([]coupon.Coupon, 1001)
		for i := range cs {
			cs[i] = newCoupon(tenant, "c", "u1", fmt.Sprintf("cp%04d", i))
		}
		_, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k-many", cs...))
		require.NoError(t, err)
		for _, p := range []coupon.ListCouponsParams{{Tenant: tenant, Limit: 5000}, {Tenant: tenant, Customer: "u1", Limit: 5000}} {
			page, err := s.ListCoupons(ctx, p)
			require.NoError(t, err)
			assert.Len(t, page.Coupons, 1000, "more than 1000 means 1000 (customer %q)", p.Customer)
			assert.Equal(t, "cp0999", page.Next)
			p.Cursor = page.Next
			page, err = s.ListCoupons(ctx, p)
			require.NoError(t, err)
			require.Len(t, page.Coupons, 1)
			assert.Equal(t, "cp1000", page.Coupons[0].ID)
			assert.Empty(t, page.Next)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "c", "u1", "b")
		c, err := s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: "a", Now: t0})
		require.NoError(t, err)
		assert.Equal(t, coupon.StateRevoked, c.State)
		assert.WithinDuration(t, t0, c.ClosedAt, time.Millisecond)
		again, err := s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: "a", Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, coupon.StateRevoked, again.State)
		assert.WithinDuration(t, t0, again.ClosedAt, time.Millisecond, "a revoked coupon is returned unchanged")
		assert.WithinDuration(t, t0, getCoupon(t, s, tenant, "a").ClosedAt, time.Millisecond, "revoking again writes nothing")
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Revoked, "revoking twice counts once")

		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk", t0.Add(time.Hour), use("b", "c", "10.00")), Fingerprint: "f"})
		require.NoError(t, err)
		_, err = s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: "b", Now: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a locked coupon cannot be revoked")
		_, err = s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		_, err = s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: "b", Now: t0.Add(time.Hour)})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a redeemed coupon cannot be revoked")
		assert.Equal(t, coupon.StateRedeemed, getCoupon(t, s, tenant, "b").State)
		_, err = s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: "nope", Now: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("RevokeExpired", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		for i, id := range []string{"swept", "unswept"} {
			c := newCoupon(tenant, "c", "u1", id)
			c.ValidTo = t0.Add(time.Duration(i+2) * 30 * time.Minute)
			_, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k-"+id, c))
			require.NoError(t, err)
		}
		got, err := s.Expire(ctx, coupon.ExpireParams{Tenant: tenant, Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, "swept", got[0].ID)
		after := t0.Add(2 * time.Hour)
		for _, id := range []string{"swept", "unswept"} {
			_, err = s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: id, Now: after})
			assert.ErrorIs(t, err, scrm.ErrConflict, "coupon %s: an expired coupon cannot be revoked, marked by Expire or not", id)
		}
		st := stats(t, s, tenant, "c")
		assert.Zero(t, st.Revoked)
		assert.Equal(t, int64(1), st.Expired, "Revoke leaves the unmarked one to Expire")
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "unswept").State, "nothing written on error")
		got, err = s.Expire(ctx, coupon.ExpireParams{Tenant: tenant, Now: after})
		require.NoError(t, err)
		assert.Len(t, got, 1)
		assert.Equal(t, int64(2), stats(t, s, tenant, "c").Expired)
	})

	t.Run("Expire", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		for i := range 5 {
			c := newCoupon(tenant, "c", "u1", fmt.Sprint("old", i))
			c.ValidTo = t0.Add(time.Hour)
			_, err := s.Claim(ctx, claimParams(tenant, "c", "u1", c.ID, c))
			require.NoError(t, err)
		}
		issue(t, s, tenant, "c", "u1", "fresh") // valid 30 days
		lockedOld := newCoupon(tenant, "c", "u2", "locked")
		lockedOld.ValidTo = t0.Add(time.Hour)
		_, err := s.Claim(ctx, claimParams(tenant, "c", "u2", "locked", lockedOld))
		require.NoError(t, err)
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u2", "lk", t0.Add(time.Minute), use("locked", "c", "10.00")), Fingerprint: "f"})
		require.NoError(t, err)

		now := t0.Add(time.Hour) // ValidTo is exclusive: at ValidTo the coupon has expired
		got, err := s.Expire(ctx, coupon.ExpireParams{Tenant: tenant, Now: now, Limit: 3})
		require.NoError(t, err)
		assert.Len(t, got, 3, "at most Limit")
		for _, c := range got {
			assert.Equal(t, coupon.StateExpired, c.State)
		}
		got, err = s.Expire(ctx, coupon.ExpireParams{Tenant: tenant, Now: now, Limit: 3})
		require.NoError(t, err)
		assert.Len(t, got, 2)
		got, err = s.Expire(ctx, coupon.ExpireParams{Tenant: tenant, Now: now})
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "fresh").State)
		assert.Equal(t, coupon.StateLocked, getCoupon(t, s, tenant, "locked").State, "locked coupons are left to their order")
		c := getCoupon(t, s, tenant, "old0")
		assert.Equal(t, coupon.StateExpired, c.State)
		assert.WithinDuration(t, now, c.ClosedAt, time.Millisecond)
		assert.Equal(t, int64(5), stats(t, s, tenant, "c").Expired)
	})
}
