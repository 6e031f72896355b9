package coupontest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

func testMixed(t *testing.T, h harness) {
	t.Run("ClaimInputIsCopied", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		in := []coupon.Coupon{newCoupon(tenant, "c", "u1", "a")}
		res, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k", in...))
		require.NoError(t, err)
		in[0].State, in[0].Source = coupon.StateRevoked, "mutated"
		res.Coupons[0].Channel = "mutated"
		got := getCoupon(t, s, tenant, "a")
		assert.Equal(t, coupon.StateAvailable, got.State)
		assert.Equal(t, "claim", got.Source)
		assert.Empty(t, got.Channel)
		rec, err := s.ClaimByKey(ctx, tenant, "k")
		require.NoError(t, err)
		rec.Coupons[0].State = coupon.StateRevoked
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "a").State)
	})

	t.Run("ClaimsLocksAndReadsAtOnce", func(t *testing.T) {
		// Customers claim while their earlier coupons are locked,
		// confirmed, released and read, all at once: every count adds up
		// and no coupon is held by two orders.
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.Stock = 300
		putTemplate(t, s, tp)
		const customers = 30
		at := t0.Add(time.Hour)
		var wg sync.WaitGroup
		var claimed, locked, confirmed atomic.Int64
		for w := range customers {
			cust := scrm.CustomerID(fmt.Sprint("u", w))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 12 {
					id := fmt.Sprintf("%s-%02d", cust, i)
					if _, err := s.Claim(ctx, claimParams(tenant, "c", cust, "k-"+id, newCoupon(tenant, "c", cust, id))); err == nil {
						claimed.Add(1)
					} else if !isExhausted(err) {
						t.Errorf("claim: %v", err)
					}
					if i%3 != 2 {
						continue
					}
					order := "o-" + id
					if _, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, order, cust, "lk-"+order, at,
						use(fmt.Sprintf("%s-%02d", cust, i-1), "c", "1.00")), Fingerprint: "f"}); err != nil {
						continue // its claim may have been refused
					}
					locked.Add(1)
					if i%2 == 0 {
						_, err := s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: order, Now: at})
						assert.NoError(t, err)
						confirmed.Add(1)
					} else {
						_, err := s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: order, Now: at})
						assert.NoError(t, err)
					}
				}
			}()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					_, err := s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: tenant, Customer: cust})
					assert.NoError(t, err)
					_, err = s.Stats(ctx, tenant, "c")
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(300), claimed.Load(), "360 tries for a stock of 300")
		st := stats(t, s, tenant, "c")
		assert.Equal(t, claimed.Load(), st.Issued)
		assert.Equal(t, confirmed.Load(), st.Redeemed)
		assert.Zero(t, st.Locked)
		assertMoney(t, fmt.Sprintf("%d.00", confirmed.Load()), st.Discount)

		states := map[coupon.State]int64{}
		total := 0
		for cur := ""; ; {
			page, err := s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: tenant, Cursor: cur, Limit: 1000})
			require.NoError(t, err)
			for _, c := range page.Coupons {
				states[c.State]++
				total++
			}
			if cur = page.Next; cur == "" {
				break
			}
		}
		assert.Equal(t, 300, total)
		assert.Equal(t, confirmed.Load(), states[coupon.StateRedeemed])
		assert.Equal(t, 300-confirmed.Load(), states[coupon.StateAvailable])
		assert.Positive(t, locked.Load())
	})
}
