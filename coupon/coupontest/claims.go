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

func testClaims(t *testing.T, h harness) {
	t.Run("InsertsAndCounts", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		in := newCoupon(tenant, "c", "u1", "cp1")
		in.Channel, in.Source = "miniprogram", "claim"
		res, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k1", in))
		require.NoError(t, err)
		assert.False(t, res.Replayed)
		require.Len(t, res.Coupons, 1)
		assert.Equal(t, "cp1", res.Coupons[0].ID)

		got := getCoupon(t, s, tenant, "cp1")
		assert.Equal(t, tenant, got.Tenant)
		assert.Equal(t, "c", got.Template)
		assert.Equal(t, scrm.CustomerID("u1"), got.Customer)
		assert.Equal(t, coupon.StateAvailable, got.State)
		assert.Equal(t, "miniprogram", got.Channel)
		assert.True(t, got.Claimed)
		assert.WithinDuration(t, in.ValidFrom, got.ValidFrom, time.Millisecond)
		assert.WithinDuration(t, in.ValidTo, got.ValidTo, time.Millisecond)
		assert.WithinDuration(t, in.IssuedAt, got.IssuedAt, time.Millisecond)

		sys := claimParams(tenant, "c", "u1", "k2", newCoupon(tenant, "c", "u1", "cp2"), newCoupon(tenant, "c", "u1", "cp3"))
		sys.Claimed = false
		_, err = s.Claim(ctx, sys)
		require.NoError(t, err)
		st := stats(t, s, tenant, "c")
		assert.Equal(t, int64(3), st.Issued)
		assert.Equal(t, int64(1), st.Claimed, "coupons issued by the system are not claimed")
	})

	t.Run("Stock", func(t *testing.T) {
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.Stock = 3
		putTemplate(t, s, tp)
		_, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k1", newCoupon(tenant, "c", "u1", "a"), newCoupon(tenant, "c", "u1", "b")))
		require.NoError(t, err)
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u2", "k2", newCoupon(tenant, "c", "u2", "c"), newCoupon(tenant, "c", "u2", "d")))
		assert.ErrorIs(t, err, scrm.ErrExhausted, "2 more would make 4 > 3: all or nothing")
		assertField(t, err, "Stock")
		_, err = s.Coupon(ctx, tenant, "c")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a refused claim writes nothing")
		assert.Equal(t, int64(2), stats(t, s, tenant, "c").Issued)

		issue(t, s, tenant, "c", "u2", "e")
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u3", "k3", newCoupon(tenant, "c", "u3", "f")))
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		assert.Equal(t, int64(3), stats(t, s, tenant, "c").Issued)
		_, err = s.ClaimByKey(ctx, tenant, "k3")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a refused claim does not record its key")
	})

	t.Run("PerCustomer", func(t *testing.T) {
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.PerCustomer = 2
		putTemplate(t, s, tp)
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "c", "u1", "b")
		_, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k3", newCoupon(tenant, "c", "u1", "c")))
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		assertField(t, err, "PerCustomer")
		issue(t, s, tenant, "c", "u2", "d") // other customers are not affected
	})

	t.Run("PerCustomerPerDay", func(t *testing.T) {
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.PerCustomerPerDay = 1
		putTemplate(t, s, tp)
		day := func(d int) (time.Time, time.Time) {
			start := time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC)
			return start, start.AddDate(0, 0, 1)
		}
		claimOn := func(d int, id string) error {
			c := newCoupon(tenant, "c", "u1", id)
			c.IssuedAt = time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC)
			p := claimParams(tenant, "c", "u1", "k-"+id, c)
			p.DayStart, p.DayEnd = day(d)
			_, err := s.Claim(ctx, p)
			return err
		}
		require.NoError(t, claimOn(2, "a"))
		err := claimOn(2, "b")
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		assertField(t, err, "PerCustomerPerDay")
		require.NoError(t, claimOn(3, "c"), "a new day has a new allowance")
	})

	t.Run("PerCustomerCountsTheTemplate", func(t *testing.T) {
		// PerCustomer counts the customer's coupons of the template, those
		// the system issued included, and no other template's.
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.PerCustomer = 2
		putTemplate(t, s, tp)
		putTemplate(t, s, cashTemplate(tenant, "d"))
		for _, id := range []string{"d1", "d2", "d3"} {
			issue(t, s, tenant, "d", "u1", id)
		}
		issue(t, s, tenant, "c", "u1", "c1") // u1's coupons of d do not count
		c2 := newCoupon(tenant, "c", "u1", "c2")
		c2.Claimed, c2.Source = false, "grant"
		sys := claimParams(tenant, "c", "u1", "k-c2", c2)
		sys.Claimed = false
		_, err := s.Claim(ctx, sys)
		require.NoError(t, err, "u1 holds one coupon of c")
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u1", "k-c3", newCoupon(tenant, "c", "u1", "c3")))
		assert.ErrorIs(t, err, scrm.ErrExhausted, "the coupon the system issued counts too")
		assertField(t, err, "PerCustomer")
		assert.Equal(t, int64(2), stats(t, s, tenant, "c").Issued)
	})

	t.Run("LimitsAreThoseStoredNow", func(t *testing.T) {
		// Claim applies the limits stored now: a template updated after it
		// issued coupons is held to its new Stock and PerCustomer, and a
		// template priced since is not given away.
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.Stock = 1
		tp = putTemplate(t, s, tp)
		issue(t, s, tenant, "c", "u1", "a")
		_, err := s.Claim(ctx, claimParams(tenant, "c", "u2", "k-b", newCoupon(tenant, "c", "u2", "b")))
		assert.ErrorIs(t, err, scrm.ErrExhausted)

		tp.Stock, tp.PerCustomer = 3, 1
		tp = putTemplate(t, s, tp)
		got, err := s.Template(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, int64(3), got.Stock, "an update stores the new stock")
		assert.Equal(t, 1, got.PerCustomer, "an update stores the new limit")
		issue(t, s, tenant, "c", "u2", "b") // the raised stock
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u1", "k-c", newCoupon(tenant, "c", "u1", "c")))
		assert.ErrorIs(t, err, scrm.ErrExhausted, "a per-customer limit set after u1's claim")
		assertField(t, err, "PerCustomer")

		tp.Price = scrm.Yuan("9.90")
		putTemplate(t, s, tp)
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u3", "k-d", newCoupon(tenant, "c", "u3", "d")))
		assert.ErrorIs(t, err, scrm.ErrForbidden, "priced since: claimed only with a single-use code")
		assert.Equal(t, int64(2), stats(t, s, tenant, "c").Issued)
	})

	t.Run("BatchAllOrNothing", func(t *testing.T) {
		// A batch one of whose coupon IDs exists inserts none of them and
		// does not record its key; the batch with new IDs then goes through.
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "b")
		batch := func(ids ...string) coupon.ClaimParams {
			p := claimParams(tenant, "c", "u1", "kb")
			for _, id := range ids {
				p.Coupons = append(p.Coupons, newCoupon(tenant, "c", "u1", id))
			}
			p.Claimed = false
			return p
		}
		_, err := s.Claim(ctx, batch("a", "b", "c"))
		assert.ErrorIs(t, err, scrm.ErrConflict, "coupon b exists")
		for _, id := range []string{"a", "c"} {
			_, err := s.Coupon(ctx, tenant, id)
			assert.ErrorIs(t, err, scrm.ErrNotFound, "coupon %s of the refused batch must not be written", id)
		}
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Issued)
		_, err = s.ClaimByKey(ctx, tenant, "kb")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a refused batch does not record its key")

		res, err := s.Claim(ctx, batch("a", "c", "d"))
		require.NoError(t, err)
		assert.False(t, res.Replayed, "nothing was recorded under kb")
		assert.Len(t, res.Coupons, 3)
		assert.Equal(t, int64(4), stats(t, s, tenant, "c").Issued)
	})

	t.Run("Replay", func(t *testing.T) {
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.Stock = 1
		putTemplate(t, s, tp)
		first, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k1", newCoupon(tenant, "c", "u1", "a")))
		require.NoError(t, err)

		// The same key and fingerprint return the original coupon, even
		// with other coupon IDs proposed and the stock now exhausted.
		again, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "k1", newCoupon(tenant, "c", "u1", "other")))
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		require.Len(t, again.Coupons, 1)
		assert.Equal(t, first.Coupons[0].ID, again.Coupons[0].ID)
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Issued)
		_, err = s.Coupon(ctx, tenant, "other")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		rec, err := s.ClaimByKey(ctx, tenant, "k1")
		require.NoError(t, err)
		assert.Equal(t, "fp:k1", rec.Fingerprint)
		require.Len(t, rec.Coupons, 1)
		assert.Equal(t, "a", rec.Coupons[0].ID)

		diff := claimParams(tenant, "c", "u1", "k1", newCoupon(tenant, "c", "u1", "b"))
		diff.Fingerprint = "something else"
		_, err = s.Claim(ctx, diff)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assertField(t, err, "IdempotencyKey")
	})

	t.Run("Errors", func(t *testing.T) {
		s := h.newStore(t)
		_, err := s.Claim(ctx, claimParams(tenant, "none", "u1", "k1", newCoupon(tenant, "none", "u1", "a")))
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u2", "k2", newCoupon(tenant, "c", "u2", "a")))
		assert.ErrorIs(t, err, scrm.ErrConflict, "coupon IDs are unique")
		assert.Equal(t, scrm.CustomerID("u1"), getCoupon(t, s, tenant, "a").Customer)

		_, err = s.Claim(ctx, claimParams(tenant, "c", "u2", "k3", newCoupon(tenant, "c", "u9", "b")))
		assert.ErrorIs(t, err, scrm.ErrInvalid, "a coupon of another customer than the params'")
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u2", "k4"))
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no coupons")
		_, err = s.Claim(ctx, claimParams(tenant, "c", "u2", "", newCoupon(tenant, "c", "u2", "b")))
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no key")
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Issued)
	})
}

func testClaimConcurrency(t *testing.T, h harness) {
	t.Run("StockAndPerCustomer", func(t *testing.T) {
		// 2,000 goroutines, 1,000 customers (two tries each), stock 500,
		// one per customer: exactly 500 coupons, nobody with two.
		s := h.newStore(t)
		tp := cashTemplate(tenant, "flash")
		tp.Stock, tp.PerCustomer = 500, 1
		putTemplate(t, s, tp)
		const goroutines, customers = 2000, 1000
		var won, exhausted atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cust := scrm.CustomerID(fmt.Sprintf("u%04d", g%customers))
				id := fmt.Sprintf("cp%04d", g)
				<-start
				_, err := s.Claim(ctx, claimParams(tenant, "flash", cust, "k-"+id, newCoupon(tenant, "flash", cust, id)))
				switch {
				case err == nil:
					won.Add(1)
				case isExhausted(err):
					exhausted.Add(1)
				default:
					errs <- err
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("unexpected error: %v", err)
		}
		assert.Equal(t, int64(500), won.Load())
		assert.Equal(t, int64(goroutines-500), exhausted.Load())
		assert.Equal(t, int64(500), stats(t, s, tenant, "flash").Issued)

		perCustomer := map[scrm.CustomerID]int{}
		total := 0
		for cur := ""; ; {
			page, err := s.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: tenant, Template: "flash", Cursor: cur, Limit: 1000})
			require.NoError(t, err)
			for _, c := range page.Coupons {
				perCustomer[c.Customer]++
				total++
			}
			if cur = page.Next; cur == "" {
				break
			}
		}
		assert.Equal(t, 500, total)
		for c, n := range perCustomer {
			assert.LessOrEqual(t, n, 1, "customer %s", c)
		}
	})

	t.Run("ReplaysOfOneKey", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		const n = 50
		ids := make([]string, n)
		replayed := make([]bool, n)
		var wg sync.WaitGroup
		for g := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "same", newCoupon(tenant, "c", "u1", fmt.Sprintf("cp%d", g))))
				if assert.NoError(t, err) && assert.Len(t, res.Coupons, 1) {
					ids[g], replayed[g] = res.Coupons[0].ID, res.Replayed
				}
			}()
		}
		wg.Wait()
		inserted := 0
		for g, id := range ids {
			assert.Equal(t, ids[0], id, "every replay returns the one coupon")
			if !replayed[g] {
				inserted++
				assert.Equal(t, fmt.Sprintf("cp%d", g), id, "the caller told it inserted is the one whose coupon was inserted")
			}
		}
		// Callers tell a first issue from a replay by Replayed (a batch
		// run again reports what an earlier run issued): exactly one
		// caller inserted, every other one is answered as a replay.
		assert.Equal(t, 1, inserted, "exactly one caller is answered without Replayed")
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Issued)
	})
}

func isExhausted(err error) bool { return scrm.CodeOf(err) == scrm.ErrExhausted }
