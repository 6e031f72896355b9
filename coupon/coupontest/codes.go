package coupontest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

func testCodes(t *testing.T, h harness) {
	t.Run("PutAndGet", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{
			{Tenant: tenant, Code: "AAAA2222BBBB", Template: "c", CreatedAt: t0},
			{Tenant: tenant, Code: "SUMMER", Template: "c", Shared: true, CreatedAt: t0},
		}))
		got, err := s.Code(ctx, tenant, "SUMMER")
		require.NoError(t, err)
		assert.Equal(t, "c", got.Template)
		assert.True(t, got.Shared)
		assert.Zero(t, got.Uses)
		_, err = s.Code(ctx, tenant, "NOPE")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "A1", Template: "c"}}))
		err := s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "B1", Template: "c"}, {Tenant: tenant, Code: "A1", Template: "c"}})
		assert.ErrorIs(t, err, scrm.ErrConflict, "an existing code")
		err = s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "C1", Template: "c"}, {Tenant: tenant, Code: "C1", Template: "c"}})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a code twice in one call")
		err = s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "D1", Template: "c"}, {Tenant: tenant, Code: "D2", Template: "none"}})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a code of a template that does not exist")
		err = s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: "t2", Code: "E1", Template: "c"}})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "a code of another tenant")
		for _, c := range []string{"B1", "C1", "D1", "E1"} {
			_, err := s.Code(ctx, tenant, c)
			assert.ErrorIs(t, err, scrm.ErrNotFound, "code %s must not be written", c)
		}
	})

	t.Run("PaidNeedsProofOfPayment", func(t *testing.T) {
		s := h.newStore(t)
		tp := cashTemplate(tenant, "v")
		tp.Price = scrm.Yuan("9.90")
		putTemplate(t, s, tp)
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{
			{Tenant: tenant, Code: "ONCE", Template: "v"}, {Tenant: tenant, Code: "MANY", Template: "v", Shared: true}}))

		_, err := s.Claim(ctx, claimParams(tenant, "v", "u1", "k1", newCoupon(tenant, "v", "u1", "a")))
		assert.ErrorIs(t, err, scrm.ErrForbidden, "claimed without a code")
		p := claimParams(tenant, "v", "u1", "k2", newCoupon(tenant, "v", "u1", "b"))
		p.Code = "MANY"
		_, err = s.Claim(ctx, p)
		assert.ErrorIs(t, err, scrm.ErrForbidden, "a shared code proves no purchase")
		assert.Equal(t, int64(0), stats(t, s, tenant, "v").Issued)

		p = claimParams(tenant, "v", "u1", "k3", newCoupon(tenant, "v", "u1", "c"))
		p.Code = "ONCE"
		_, err = s.Claim(ctx, p)
		require.NoError(t, err, "a single-use code is sold")
		sys := claimParams(tenant, "v", "u1", "k4", newCoupon(tenant, "v", "u1", "d"))
		sys.Claimed = false
		_, err = s.Claim(ctx, sys)
		require.NoError(t, err, "an issue follows a sale")
	})

	t.Run("ClaimWithCodes", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		putTemplate(t, s, cashTemplate(tenant, "other"))
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{
			{Tenant: tenant, Code: "ONCE", Template: "c"}, {Tenant: tenant, Code: "MANY", Template: "c", Shared: true}}))

		p := claimParams(tenant, "c", "u1", "k1", newCoupon(tenant, "c", "u1", "a"))
		p.Code = "ONCE"
		_, err := s.Claim(ctx, p)
		require.NoError(t, err)
		code, err := s.Code(ctx, tenant, "ONCE")
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("u1"), code.Customer)
		assert.Equal(t, "a", code.Coupon)
		assert.Equal(t, int64(1), code.Uses)

		p = claimParams(tenant, "c", "u2", "k2", newCoupon(tenant, "c", "u2", "b"))
		p.Code = "ONCE"
		_, err = s.Claim(ctx, p)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a single-use code is spent")
		_, err = s.Coupon(ctx, tenant, "b")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		for i, cust := range []scrm.CustomerID{"u1", "u2", "u3"} {
			p := claimParams(tenant, "c", cust, fmt.Sprint("m", i), newCoupon(tenant, "c", cust, fmt.Sprint("m", i)))
			p.Code = "MANY"
			_, err := s.Claim(ctx, p)
			require.NoError(t, err)
		}
		code, err = s.Code(ctx, tenant, "MANY")
		require.NoError(t, err)
		assert.Equal(t, int64(3), code.Uses)
		assert.Empty(t, code.Customer, "a shared code records no single user")

		p = claimParams(tenant, "other", "u1", "k9", newCoupon(tenant, "other", "u1", "x"))
		p.Code = "MANY"
		_, err = s.Claim(ctx, p)
		assert.ErrorIs(t, err, scrm.ErrInvalid, "a code of another template")
		p.Code = "UNKNOWN"
		_, err = s.Claim(ctx, p)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("SharedOncePerCustomer", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "MANY", Template: "c", Shared: true}}))
		claim := func(cust scrm.CustomerID, key, id string) (coupon.ClaimResult, error) {
			p := claimParams(tenant, "c", cust, key, newCoupon(tenant, "c", cust, id))
			p.Code = "MANY"
			return s.Claim(ctx, p)
		}
		first, err := claim("u1", "k1", "a")
		require.NoError(t, err)

		_, err = claim("u1", "k2", "b")
		assert.ErrorIs(t, err, scrm.ErrConflict, "a second claim of a shared code by one customer, with another key")
		assertField(t, err, "Code")
		_, err = s.Coupon(ctx, tenant, "b")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "the refused coupon must not be written")
		_, err = s.ClaimByKey(ctx, tenant, "k2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "the refused key must not be stored")

		again, err := claim("u1", "k1", "c")
		require.NoError(t, err, "a replay of the first claim's key")
		assert.True(t, again.Replayed)
		require.Len(t, again.Coupons, 1)
		assert.Equal(t, first.Coupons[0].ID, again.Coupons[0].ID)

		_, err = claim("u2", "k3", "d")
		require.NoError(t, err, "another customer claims the same code")
		// A claim without the code is not a claim with it.
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u1", "k4", newCoupon(tenant, "c", "u1", "e")))
		require.NoError(t, err)

		code, err := s.Code(ctx, tenant, "MANY")
		require.NoError(t, err)
		assert.Equal(t, int64(2), code.Uses)
		st := stats(t, s, tenant, "c")
		assert.Equal(t, int64(3), st.Issued)
	})

	t.Run("SharedOncePerCustomerRace", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "MANY", Template: "c", Shared: true}}))
		const n = 50
		var won atomic.Int64
		var wg sync.WaitGroup
		for g := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := claimParams(tenant, "c", "u1", fmt.Sprint("k", g), newCoupon(tenant, "c", "u1", fmt.Sprint("cp", g)))
				p.Code = "MANY"
				if _, err := s.Claim(ctx, p); err == nil {
					won.Add(1)
				} else {
					assert.ErrorIs(t, err, scrm.ErrConflict)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(1), won.Load(), "one customer, one shared code, distinct keys: exactly one coupon")
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Issued)
		page, err := s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: tenant, Customer: "u1"})
		require.NoError(t, err)
		assert.Len(t, page.Coupons, 1)
		code, err := s.Code(ctx, tenant, "MANY")
		require.NoError(t, err)
		assert.Equal(t, int64(1), code.Uses)
	})

	t.Run("RefusedClaimLeavesCodeUnused", func(t *testing.T) {
		// A claim with a code that a limit refuses writes nothing: the code
		// is neither spent nor counted, and another customer can use it.
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.PerCustomer = 1
		putTemplate(t, s, tp)
		issue(t, s, tenant, "c", "u1", "a")
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{
			{Tenant: tenant, Code: "ONCE", Template: "c"}, {Tenant: tenant, Code: "MANY", Template: "c", Shared: true}}))
		for _, code := range []string{"ONCE", "MANY"} {
			p := claimParams(tenant, "c", "u1", "k-"+code, newCoupon(tenant, "c", "u1", "x-"+code))
			p.Code = code
			_, err := s.Claim(ctx, p)
			assert.ErrorIs(t, err, scrm.ErrExhausted, "u1 holds one coupon (code %s)", code)
			got, err := s.Code(ctx, tenant, code)
			require.NoError(t, err)
			assert.Zero(t, got.Uses, "code %s", code)
			assert.Empty(t, got.Customer, "code %s", code)
			assert.Empty(t, got.Coupon, "code %s", code)
		}
		for i, code := range []string{"ONCE", "MANY"} {
			cust := scrm.CustomerID(fmt.Sprint("u", i+2))
			p := claimParams(tenant, "c", cust, "k2-"+code, newCoupon(tenant, "c", cust, "y-"+code))
			p.Code = code
			_, err := s.Claim(ctx, p)
			require.NoError(t, err, "code %s refused to u1 is still usable", code)
		}
		got, err := s.Code(ctx, tenant, "ONCE")
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("u2"), got.Customer)
		assert.Equal(t, int64(1), got.Uses)
	})

	t.Run("SingleUseRace", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		require.NoError(t, s.PutCodes(ctx, tenant, []coupon.Code{{Tenant: tenant, Code: "ONCE", Template: "c"}}))
		var won atomic.Int64
		var wg sync.WaitGroup
		for g := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cust := scrm.CustomerID(fmt.Sprint("u", g))
				p := claimParams(tenant, "c", cust, fmt.Sprint("k", g), newCoupon(tenant, "c", cust, fmt.Sprint("cp", g)))
				p.Code = "ONCE"
				if _, err := s.Claim(ctx, p); err == nil {
					won.Add(1)
				} else {
					assert.ErrorIs(t, err, scrm.ErrConflict)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(1), won.Load())
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Issued)
	})
}
