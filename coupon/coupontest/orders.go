package coupontest

import (
	"context"
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

func testOrders(t *testing.T, h harness) {
	at := t0.Add(time.Hour)

	t.Run("LockConfirm", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		putTemplate(t, s, cashTemplate(tenant, "d"))
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "d", "u1", "b")
		res, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk1", at, use("a", "c", "10.00"), use("b", "d", "5.50")), Fingerprint: "f1"})
		require.NoError(t, err)
		assert.False(t, res.Replayed)
		assert.Equal(t, coupon.OrderLocked, res.Order.State)
		assert.Positive(t, res.Order.Version)
		a := getCoupon(t, s, tenant, "a")
		assert.Equal(t, coupon.StateLocked, a.State)
		assert.Equal(t, "o1", a.Order)
		assertMoney(t, "10.00", a.Discount)
		assert.WithinDuration(t, at, a.LockedAt, time.Millisecond)
		st := stats(t, s, tenant, "d")
		assert.Equal(t, int64(1), st.Locked)
		assertMoney(t, "5.50", st.Reserved)

		o, err := s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at.Add(time.Minute)})
		require.NoError(t, err)
		assert.Equal(t, coupon.OrderConfirmed, o.State)
		assert.WithinDuration(t, at.Add(time.Minute), o.ConfirmedAt, time.Millisecond)
		b := getCoupon(t, s, tenant, "b")
		assert.Equal(t, coupon.StateRedeemed, b.State)
		assert.WithinDuration(t, at.Add(time.Minute), b.RedeemedAt, time.Millisecond)
		st = stats(t, s, tenant, "d")
		assert.Equal(t, int64(0), st.Locked)
		assert.Equal(t, int64(1), st.Redeemed)
		assertMoney(t, "0", st.Reserved)
		assertMoney(t, "5.50", st.Discount)
		assertMoney(t, "184.50", st.GMV, "the order's payable amount: 200 - 15.50")

		again, err := s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at.Add(time.Hour)})
		require.NoError(t, err, "confirming twice is a no-op")
		assert.WithinDuration(t, o.ConfirmedAt, again.ConfirmedAt, time.Millisecond)
		assert.Equal(t, o.Version, again.Version)
		assertMoney(t, "5.50", stats(t, s, tenant, "d").Discount)
		_, err = s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a confirmed order is refunded, not released")

		got, err := s.Order(ctx, tenant, "o1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, got.Coupons)
		require.Len(t, got.Quote.Applied, 2)
		assertMoney(t, "5.50", got.Quote.Applied[1].Discount)
		got.Quote.Applied[1].Lines[0].Line = 99
		got.Coupons[0] = "mutated"
		again, err = s.Order(ctx, tenant, "o1")
		require.NoError(t, err)
		assert.Equal(t, 0, again.Quote.Applied[1].Lines[0].Line, "orders are copies")
		assert.Equal(t, "a", again.Coupons[0])
	})

	t.Run("LockRelease", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "c", "u1", "b")
		_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk1", at, use("a", "c", "10.00")), Fingerprint: "f1"})
		require.NoError(t, err)
		o, err := s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		require.NoError(t, err)
		assert.Equal(t, coupon.OrderReleased, o.State)
		a := getCoupon(t, s, tenant, "a")
		assert.Equal(t, coupon.StateAvailable, a.State)
		assert.Empty(t, a.Order)
		assert.True(t, a.Discount.IsZero())
		st := stats(t, s, tenant, "c")
		assert.Equal(t, int64(0), st.Locked)
		assertMoney(t, "0", st.Reserved)

		_, err = s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		require.NoError(t, err, "releasing twice is a no-op")
		_, err = s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a released order cannot be confirmed")

		// The same order may lock again with a new key.
		res, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk2", at, use("a", "c", "10.00")), Fingerprint: "f2"})
		require.NoError(t, err)
		assert.Equal(t, coupon.OrderLocked, res.Order.State)
		assert.Greater(t, res.Order.Version, o.Version)
		assert.Equal(t, coupon.StateLocked, getCoupon(t, s, tenant, "a").State)

		// The first lock's key stays bound to it after it was replaced.
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o2", "u1", "lk1", at, use("b", "c", "10.00")), Fingerprint: "f3"})
		assert.ErrorIs(t, err, scrm.ErrConflict, "lk1 was used by order o1")
		assertField(t, err, "IdempotencyKey")
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "b").State)
		_, err = s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		require.NoError(t, err)
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk1", at, use("a", "c", "10.00")), Fingerprint: "f1"})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a late retry of o1's first lock was superseded by lk2")
		assertField(t, err, "IdempotencyKey")
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "a").State)
		got, err := s.Order(ctx, tenant, "o1")
		require.NoError(t, err)
		assert.Equal(t, coupon.OrderReleased, got.State)
		assert.Equal(t, "lk2", got.IdempotencyKey)
	})

	t.Run("LockReplay", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "c", "u1", "b")
		first, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk1", at, use("a", "c", "10.00")), Fingerprint: "f1"})
		require.NoError(t, err)
		again, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk1", at.Add(time.Minute), use("a", "c", "10.00")), Fingerprint: "f1"})
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		assert.Equal(t, first.Order.Version, again.Order.Version)
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Locked)

		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk1", at, use("b", "c", "10.00")), Fingerprint: "f-other"})
		assert.ErrorIs(t, err, scrm.ErrConflict, "same key, other payload")
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "lk9", at, use("b", "c", "10.00")), Fingerprint: "f9"})
		assert.ErrorIs(t, err, scrm.ErrConflict, "an order holds one lock")
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o2", "u1", "lk1", at, use("b", "c", "10.00")), Fingerprint: "f1"})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a key used by another order")
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "b").State)
	})

	t.Run("ReplayAfterConfirmAndRelease", func(t *testing.T) {
		// A lock's key and fingerprint answer its replay whatever became of
		// the order since: confirmed or released, it is returned as it is,
		// with Replayed, and nothing changes.
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "c", "u1", "b")
		lock := func(order, key, id string) (coupon.LockResult, error) {
			return s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, order, "u1", key, at, use(id, "c", "10.00")), Fingerprint: "f-" + key})
		}
		_, err := lock("o1", "lk1", "a")
		require.NoError(t, err)
		confirmed, err := s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		require.NoError(t, err)
		_, err = lock("o2", "lk2", "b")
		require.NoError(t, err)
		released, err := s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o2", Now: at})
		require.NoError(t, err)

		for _, want := range []coupon.Order{confirmed, released} {
			res, err := lock(want.ID, want.IdempotencyKey, want.Coupons[0])
			require.NoError(t, err, "a replay of %s's lock", want.ID)
			assert.True(t, res.Replayed, want.ID)
			assert.Equal(t, want.State, res.Order.State, want.ID)
			assert.Equal(t, want.Version, res.Order.Version, want.ID)
		}
		assert.Equal(t, coupon.StateRedeemed, getCoupon(t, s, tenant, "a").State)
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "b").State, "a replay does not lock again")
		st := stats(t, s, tenant, "c")
		assert.Zero(t, st.Locked)
		assert.Equal(t, int64(1), st.Redeemed)
		assertMoney(t, "0", st.Reserved)
		assertMoney(t, "10.00", st.Discount)
	})

	t.Run("LockRefusals", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "ok")
		issue(t, s, tenant, "c", "u1", "spare")
		issue(t, s, tenant, "c", "u2", "theirs")
		late := newCoupon(tenant, "c", "u1", "late")
		late.ValidFrom = t0.Add(48 * time.Hour)
		_, err := s.Claim(ctx, claimParams(tenant, "c", "u1", "late", late))
		require.NoError(t, err)
		issue(t, s, tenant, "c", "u1", "revoked")
		_, err = s.Revoke(ctx, coupon.RevokeParams{Tenant: tenant, ID: "revoked", Now: t0})
		require.NoError(t, err)
		issue(t, s, tenant, "c", "u1", "held")
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o-held", "u1", "lk-held", at, use("held", "c", "1.00")), Fingerprint: "f"})
		require.NoError(t, err)

		for _, c := range []struct {
			name   string
			coupon string
			at     time.Time
			want   error
		}{
			{"unknown", "nope", at, scrm.ErrNotFound},
			{"another customer's", "theirs", at, scrm.ErrForbidden},
			{"not yet valid", "late", at, scrm.ErrExpired},
			{"past validity", "spare", t0.AddDate(0, 0, 31), scrm.ErrExpired},
			{"revoked", "revoked", at, scrm.ErrConflict},
			{"locked by another order", "held", at, scrm.ErrConflict},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o-"+c.name, "u1", "lk-"+c.name, c.at,
					use("ok", "c", "1.00"), use(c.coupon, "c", "1.00")), Fingerprint: "f"})
				assert.ErrorIs(t, err, c.want)
				assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "ok").State, "nothing written")
				_, err = s.Order(ctx, tenant, "o-"+c.name)
				assert.ErrorIs(t, err, scrm.ErrNotFound)
			})
		}
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o-dup", "u1", "lk-dup", at, use("ok", "c", "1.00"), use("ok", "c", "1.00")), Fingerprint: "f"})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "a coupon twice")
		_, err = s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "nope", Now: at})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "nope", Now: at})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Order(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("Budget", func(t *testing.T) {
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.Budget = scrm.Yuan("10.00")
		putTemplate(t, s, tp)
		issue(t, s, tenant, "c", "u1", "a")
		issue(t, s, tenant, "c", "u2", "b")
		_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k1", at, use("a", "c", "6.00")), Fingerprint: "f"})
		require.NoError(t, err)
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o2", "u2", "k2", at, use("b", "c", "6.00")), Fingerprint: "f"})
		assert.ErrorIs(t, err, scrm.ErrExhausted, "6 + 6 > 10: the reservation counts")
		assertField(t, err, "Budget")
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "b").State)

		_, err = s.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		require.NoError(t, err)
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o2", "u2", "k2", at, use("b", "c", "6.00")), Fingerprint: "f"})
		require.NoError(t, err, "a release returns the reservation")
		_, err = s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o2", Now: at})
		require.NoError(t, err)
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k3", at, use("a", "c", "4.01")), Fingerprint: "f"})
		assert.ErrorIs(t, err, scrm.ErrExhausted, "6 given + 4.01 > 10")
		_, err = s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k4", at, use("a", "c", "4.00")), Fingerprint: "f"})
		require.NoError(t, err, "exactly the budget")
	})
}

func testLockConcurrency(t *testing.T, h harness) {
	at := t0.Add(time.Hour)

	t.Run("OneCouponManyOrders", func(t *testing.T) {
		// 20 goroutines lock one coupon for 20 orders: exactly one wins.
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		var won atomic.Int64
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprint("o", g)
				<-start
				_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, id, "u1", "k"+id, at, use("a", "c", "10.00")), Fingerprint: "f"})
				if err == nil {
					won.Add(1)
					winner.Store(id)
				} else {
					assert.ErrorIs(t, err, scrm.ErrConflict)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Equal(t, int64(1), won.Load())
		a := getCoupon(t, s, tenant, "a")
		assert.Equal(t, coupon.StateLocked, a.State)
		assert.Equal(t, winner.Load(), a.Order)
		st := stats(t, s, tenant, "c")
		assert.Equal(t, int64(1), st.Locked)
		assertMoney(t, "10.00", st.Reserved)
	})

	// settleRace locks coupon a for order o1 and has 20 goroutines settle
	// it at once with settle (Confirm or Release); each must succeed.
	settleRace := func(t *testing.T, settle func(coupon.Store) func(context.Context, coupon.OrderParams) (coupon.Order, error)) coupon.Store {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k1", at, use("a", "c", "10.00")), Fingerprint: "f"})
		require.NoError(t, err)
		fn := settle(s)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := fn(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
				assert.NoError(t, err)
			}()
		}
		close(start)
		wg.Wait()
		return s
	}

	t.Run("ConfirmsCountOnce", func(t *testing.T) {
		// Payment callbacks confirm one order 20 times at once: it is
		// confirmed once, its discount and GMV counted once.
		s := settleRace(t, func(s coupon.Store) func(context.Context, coupon.OrderParams) (coupon.Order, error) { return s.Confirm })
		st := stats(t, s, tenant, "c")
		assert.Equal(t, int64(1), st.Redeemed)
		assert.Zero(t, st.Locked)
		assertMoney(t, "0", st.Reserved)
		assertMoney(t, "10.00", st.Discount)
		assertMoney(t, "190.00", st.GMV)
	})

	t.Run("ReleasesReturnOnce", func(t *testing.T) {
		// Timeouts release one order 20 times at once: its reservation is
		// returned once.
		s := settleRace(t, func(s coupon.Store) func(context.Context, coupon.OrderParams) (coupon.Order, error) { return s.Release })
		st := stats(t, s, tenant, "c")
		assert.Zero(t, st.Locked)
		assertMoney(t, "0", st.Reserved)
		assert.Equal(t, coupon.StateAvailable, getCoupon(t, s, tenant, "a").State)
	})

	t.Run("BudgetRace", func(t *testing.T) {
		// 20 orders of 10.00 each race for a budget of 50.00: exactly 5.
		s := h.newStore(t)
		tp := cashTemplate(tenant, "c")
		tp.Budget = scrm.Yuan("50.00")
		putTemplate(t, s, tp)
		for g := range 20 {
			issue(t, s, tenant, "c", scrm.CustomerID(fmt.Sprint("u", g)), fmt.Sprint("cp", g))
		}
		var won atomic.Int64
		var wg sync.WaitGroup
		for g := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprint("o", g)
				_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, id, scrm.CustomerID(fmt.Sprint("u", g)), "k"+id, at,
					use(fmt.Sprint("cp", g), "c", "10.00")), Fingerprint: "f"})
				if err == nil {
					won.Add(1)
				} else {
					assert.ErrorIs(t, err, scrm.ErrExhausted)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(5), won.Load())
		assertMoney(t, "50.00", stats(t, s, tenant, "c").Reserved)
	})
}

func testRefunds(t *testing.T, h harness) {
	at := t0.Add(time.Hour)
	setup := func(t *testing.T) coupon.Store {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k1", at, use("a", "c", "10.00")), Fingerprint: "f"})
		require.NoError(t, err)
		_, err = s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: at})
		require.NoError(t, err)
		return s
	}
	partial := func(o coupon.Order, key string) coupon.RefundParams {
		return coupon.RefundParams{Tenant: tenant, OrderID: "o1", Version: o.Version, Units: []int{1},
			Refund: coupon.Refund{Order: "o1", IdempotencyKey: key, Discount: scrm.Yuan("5.00"), Amount: scrm.Yuan("95.00"),
				Lines: []coupon.RefundedLine{{Line: 0, SKU: "sku-1", Quantity: 1, Discount: scrm.Yuan("5.00"), Amount: scrm.Yuan("95.00")}}},
			Templates:   []coupon.TemplateAmount{{Template: "c", Coupons: 1, Discount: scrm.Yuan("5.00"), GMV: scrm.Yuan("95.00")}},
			Fingerprint: "fp-" + key, Now: at}
	}

	t.Run("PartialThenFull", func(t *testing.T) {
		s := setup(t)
		o, err := s.Order(ctx, tenant, "o1")
		require.NoError(t, err)
		res, err := s.Refund(ctx, partial(o, "r1"))
		require.NoError(t, err)
		assert.False(t, res.Replayed)
		assert.Equal(t, coupon.OrderConfirmed, res.Order.State, "a partial refund keeps the order confirmed")
		assert.Equal(t, []int{1}, res.Order.Refunded)
		assert.Equal(t, coupon.StateRedeemed, getCoupon(t, s, tenant, "a").State)
		st := stats(t, s, tenant, "c")
		assertMoney(t, "5.00", st.Discount)
		assertMoney(t, "95.00", st.GMV)
		assert.Equal(t, int64(1), st.Redeemed)

		again, err := s.Refund(ctx, partial(o, "r1"))
		require.NoError(t, err)
		assert.True(t, again.Replayed, "same key, same fingerprint")
		assertMoney(t, "5.00", stats(t, s, tenant, "c").Discount, "a replay changes nothing")
		other := partial(o, "r1")
		other.Fingerprint = "different"
		_, err = s.Refund(ctx, other)
		assert.ErrorIs(t, err, scrm.ErrConflict)

		_, err = s.Refund(ctx, partial(o, "r2"))
		assert.ErrorIs(t, err, scrm.ErrConflict, "stale version")

		o, err = s.Order(ctx, tenant, "o1")
		require.NoError(t, err)
		full := partial(o, "r2")
		full.Units = []int{2}
		full.Refund.Full = true
		res, err = s.Refund(ctx, full)
		require.NoError(t, err)
		assert.Equal(t, coupon.OrderRefunded, res.Order.State)
		assert.Equal(t, []string{"a"}, res.Refund.Restored)
		assert.Empty(t, res.Refund.Expired)
		assert.Len(t, res.Order.Refunds, 2)
		a := getCoupon(t, s, tenant, "a")
		assert.Equal(t, coupon.StateAvailable, a.State, "a full refund restores a valid coupon")
		assert.Empty(t, a.Order)
		st = stats(t, s, tenant, "c")
		assert.Equal(t, int64(0), st.Redeemed)
		assertMoney(t, "0", st.Discount)
		assertMoney(t, "0", st.GMV)
		_, err = s.Refund(ctx, partial(res.Order, "r3"))
		assert.ErrorIs(t, err, scrm.ErrConflict, "a refunded order is closed")

		// The key is checked before the order's state: replays of both
		// refunds still return what they recorded.
		again, err = s.Refund(ctx, full)
		require.NoError(t, err, "a replay of the full refund")
		assert.True(t, again.Replayed)
		assert.True(t, again.Refund.Full)
		assert.Equal(t, []string{"a"}, again.Refund.Restored)
		again, err = s.Refund(ctx, partial(o, "r1"))
		require.NoError(t, err, "a replay of the first refund")
		assert.True(t, again.Replayed)
		assert.False(t, again.Refund.Full)
		assertMoney(t, "5.00", again.Refund.Discount)
		assert.Len(t, again.Order.Refunds, 2, "replays record nothing")
		assertMoney(t, "0", stats(t, s, tenant, "c").Discount)
	})

	t.Run("KeysArePerOrder", func(t *testing.T) {
		// A refund key is unique per order, not per tenant: another order's
		// refund with the same key and fingerprint is recorded, not answered
		// as a replay of the first.
		s := setup(t)
		issue(t, s, tenant, "c", "u1", "b")
		_, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o2", "u1", "k2", at, use("b", "c", "10.00")), Fingerprint: "f"})
		require.NoError(t, err)
		_, err = s.Confirm(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o2", Now: at})
		require.NoError(t, err)
		o1, err := s.Order(ctx, tenant, "o1")
		require.NoError(t, err)
		o2, err := s.Order(ctx, tenant, "o2")
		require.NoError(t, err)
		_, err = s.Refund(ctx, partial(o1, "r1"))
		require.NoError(t, err)

		p := partial(o2, "r1")
		p.OrderID, p.Refund.Order = "o2", "o2"
		res, err := s.Refund(ctx, p)
		require.NoError(t, err, "o1's refund key does not bind o2")
		assert.False(t, res.Replayed, "a new refund of o2")
		assert.Equal(t, "o2", res.Order.ID)
		assert.Equal(t, []int{1}, res.Order.Refunded)
		assert.Len(t, res.Order.Refunds, 1)
		st := stats(t, s, tenant, "c")
		assertMoney(t, "10.00", st.Discount, "both refunds gave back 5.00 of 20.00")
		assertMoney(t, "190.00", st.GMV)
	})

	t.Run("FullAfterExpiry", func(t *testing.T) {
		s := setup(t)
		o, err := s.Order(ctx, tenant, "o1")
		require.NoError(t, err)
		p := partial(o, "")
		p.Units, p.Refund.Full = []int{2}, true
		p.Now = t0.AddDate(0, 0, 31)
		res, err := s.Refund(ctx, p)
		require.NoError(t, err)
		assert.Empty(t, res.Refund.Restored)
		assert.Equal(t, []string{"a"}, res.Refund.Expired)
		assert.Equal(t, coupon.StateExpired, getCoupon(t, s, tenant, "a").State, "an expired coupon stays expired")
		assert.Equal(t, int64(1), stats(t, s, tenant, "c").Expired)
	})

	t.Run("OnlyConfirmed", func(t *testing.T) {
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		issue(t, s, tenant, "c", "u1", "a")
		res, err := s.Lock(ctx, coupon.LockParams{Order: lockOrder(tenant, "o1", "u1", "k1", at, use("a", "c", "10.00")), Fingerprint: "f"})
		require.NoError(t, err)
		_, err = s.Refund(ctx, partial(res.Order, "r1"))
		assert.ErrorIs(t, err, scrm.ErrConflict, "a locked order is released, not refunded")
		_, err = s.Refund(ctx, coupon.RefundParams{Tenant: tenant, OrderID: "nope", Units: []int{1}})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
}
