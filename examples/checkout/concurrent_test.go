package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// race sends n requests at once and returns their responses.
func (e *env) race(n int, method string, path func(i int) string, body func(i int) any) []*httptest.ResponseRecorder {
	e.t.Helper()
	bodies := make([]string, n)
	for i := range n {
		b, err := json.Marshal(body(i))
		require.NoError(e.t, err)
		bodies[i] = string(b)
	}
	recs := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			recs[i] = e.do(method, path(i), bodies[i])
		}()
	}
	close(start)
	wg.Wait()
	return recs
}

// Twenty concurrent submissions of one checkout (a customer tapping "pay"
// over a flaky network): one lock, one hold, the same response for all,
// and the points leave the balance once.
func TestConcurrentDoubleSubmit(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "pay-A1"}
	chk.Coupons, chk.Points = list(e.alice[0], e.alice[2]), 5000
	const n = 20
	recs := e.race(n, http.MethodPost, func(int) string { return "/checkout" }, func(int) any { return chk })

	fresh := 0
	for i, rec := range recs {
		require.Equal(t, http.StatusOK, rec.Code, "request %d: %s", i, rec.Body)
		assert.JSONEq(t, recs[0].Body.String(), rec.Body.String(), "request %d", i)
		if rec.Header().Get("Idempotent-Replayed") == "" {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh, "one request did the work, the others were replays")
	var c checkoutResponse
	require.NoError(t, json.Unmarshal(recs[0].Body.Bytes(), &c))
	assertYuan(t, "93.94", c.CashDue)

	// One hold of 5000 points.
	a := e.account("alice")
	assert.Equal(t, int64(0), a.Points)
	assert.Equal(t, int64(5000), a.Held)
	page, err := e.shop.members.Entries(e.ctx, member.ListEntriesParams{Tenant: tenant, Customer: "alice"})
	require.NoError(t, err)
	holds := 0
	for _, ent := range page.Entries {
		if ent.Kind == member.EntryHold {
			holds++
			assert.Equal(t, int64(-5000), ent.Points)
		}
	}
	assert.Equal(t, 1, holds)

	// One lock of the two coupons.
	for _, tpl := range []string{"new-10", "tea-88"} {
		st, err := e.shop.coupons.Stats(e.ctx, tenant, tpl)
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Locked, tpl)
	}
	o, err := e.shop.coupons.Order(e.ctx, tenant, "A1")
	require.NoError(t, err)
	assert.Equal(t, []string{e.alice[0], e.alice[2]}, o.Coupons)

	// The provider delivers the paid callback twenty times at once: the
	// points are spent once and the cash earns once.
	pay := paymentRequest{OrderID: "A1", PaymentID: "wx-1", Status: "paid", Amount: c.CashDue}
	recs = e.race(n, http.MethodPost, func(int) string { return "/payments/callback" }, func(int) any { return pay })
	fresh = 0
	for i, rec := range recs {
		require.Equal(t, http.StatusOK, rec.Code, "callback %d: %s", i, rec.Body)
		assert.JSONEq(t, recs[0].Body.String(), rec.Body.String())
		if rec.Header().Get("Idempotent-Replayed") == "" {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh)
	a = e.account("alice")
	assert.Equal(t, int64(93), a.Points)
	assert.Equal(t, int64(0), a.Held)
	assert.Equal(t, int64(93), a.Growth)
}

// Ten orders racing for the same coupon: exactly one locks it and holds
// its points; the others are refused with 409 and hold nothing.
func TestConcurrentOrdersOneCoupon(t *testing.T) {
	e := newEnv(t)
	const n = 10
	recs := e.race(n, http.MethodPost, func(int) string { return "/checkout" }, func(i int) any {
		chk := checkoutRequest{cartRequest: teaCart("alice", fmt.Sprintf("O%d", i))}
		chk.Coupons, chk.Points = list(e.alice[0]), 500
		return chk
	})
	won := 0
	for i, rec := range recs {
		switch rec.Code {
		case http.StatusOK:
			won++
		case http.StatusConflict:
			var er errorResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &er))
			assert.Equal(t, "conflict", er.Error.Code)
			assert.Contains(t, er.Error.Message, e.alice[0])
		default:
			t.Errorf("order O%d: %d %s", i, rec.Code, rec.Body)
		}
	}
	assert.Equal(t, 1, won)
	a := e.account("alice")
	assert.Equal(t, int64(500), a.Held)
	assert.Equal(t, int64(4500), a.Points)
}

// Two orders of one customer, each with its own coupon and all her points,
// at once: one gets the points, the other is refused (422) and its coupon
// stays in the wallet.
func TestConcurrentOrdersOnePointsBalance(t *testing.T) {
	for range 20 {
		e := newEnv(t)
		coupons := []string{e.alice[0], e.alice[2]}
		recs := e.race(2, http.MethodPost, func(int) string { return "/checkout" }, func(i int) any {
			chk := checkoutRequest{cartRequest: teaCart("alice", fmt.Sprintf("O%d", i))}
			chk.Coupons, chk.Points = list(coupons[i]), 5000
			return chk
		})
		winner := 0
		if recs[0].Code != http.StatusOK {
			winner = 1
		}
		loser := 1 - winner
		require.Equal(t, http.StatusOK, recs[winner].Code, recs[winner].Body.String())
		require.Equal(t, http.StatusUnprocessableEntity, recs[loser].Code, recs[loser].Body.String())
		assert.Contains(t, recs[loser].Body.String(), `"code": "exhausted"`)

		a := e.account("alice")
		assert.Equal(t, int64(5000), a.Held)
		assert.Equal(t, int64(0), a.Points)
		var alice customerResponse
		e.ok(http.MethodGet, "/customers/alice", nil, &alice)
		for _, c := range alice.Coupons {
			want := "available"
			if c.ID == coupons[winner] {
				want = "locked"
			}
			assert.Equal(t, want, c.State, c.ID)
		}
	}
}

// failingHolds is a member store that fails holds with err while err is
// set.
type failingHolds struct {
	member.Store
	err atomic.Pointer[error]
}

func (f *failingHolds) Update(ctx context.Context, p member.UpdateParams, fn func(*member.LedgerTx) error) (member.Outcome, bool, error) {
	if err := f.err.Load(); p.HoldID != "" && err != nil {
		return member.Outcome{}, false, *err
	}
	return f.Store.Update(ctx, p, fn)
}

func (f *failingHolds) fail(err error) {
	if err == nil {
		f.err.Store(nil)
		return
	}
	f.err.Store(&err)
}

// A hold that fails after the coupons were locked: when the store is
// unavailable (503), the lock stays for the retry with the same key, which
// completes the checkout; any other failure releases the lock and spends
// the key, and a new key checks out.
func TestHoldFailsAfterLock(t *testing.T) {
	couponStates := func(e *env) map[string]string {
		var alice customerResponse
		e.ok(http.MethodGet, "/customers/alice", nil, &alice)
		out := map[string]string{}
		for _, c := range alice.Coupons {
			out[c.ID] = c.State
		}
		return out
	}

	t.Run("unavailable", func(t *testing.T) {
		store := &failingHolds{Store: member.NewMemoryStore()}
		e := newEnvWith(t, store)
		chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "k1"}
		chk.Coupons, chk.Points = list(e.alice[0], e.alice[2]), 3000

		store.fail(scrm.Errorf(scrm.ErrUnavailable, "db", "connection reset"))
		rec := e.do(http.MethodPost, "/checkout", mustJSON(t, chk))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Contains(t, rec.Body.String(), `"code": "unavailable"`)
		assert.Equal(t, map[string]string{e.alice[0]: "locked", e.alice[1]: "available", e.alice[2]: "locked"}, couponStates(e))
		assert.Equal(t, int64(5000), e.account("alice").Points)

		store.fail(nil)
		var c checkoutResponse
		e.ok(http.MethodPost, "/checkout", chk, &c)
		assertYuan(t, "113.94", c.CashDue)
		a := e.account("alice")
		assert.Equal(t, int64(2000), a.Points)
		assert.Equal(t, int64(3000), a.Held)
		o, err := e.shop.coupons.Order(e.ctx, tenant, "A1")
		require.NoError(t, err)
		assert.Equal(t, coupon.OrderLocked, o.State)
		assert.Equal(t, "checkout:A1:k1", o.IdempotencyKey, "the first attempt's lock")
	})

	t.Run("refused", func(t *testing.T) {
		store := &failingHolds{Store: member.NewMemoryStore()}
		e := newEnvWith(t, store)
		chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "k1"}
		chk.Coupons, chk.Points = list(e.alice[0], e.alice[2]), 3000

		store.fail(scrm.Errorf(scrm.ErrExhausted, "db", "spent elsewhere meanwhile"))
		e.fails(http.StatusUnprocessableEntity, http.MethodPost, "/checkout", chk)
		o, err := e.shop.coupons.Order(e.ctx, tenant, "A1")
		require.NoError(t, err)
		assert.Equal(t, coupon.OrderReleased, o.State, "the lock was taken, then released")
		for id, st := range couponStates(e) {
			assert.Equal(t, "available", st, id)
		}

		store.fail(nil)
		assert.Equal(t, "idempotency_key", e.fails(http.StatusConflict, http.MethodPost, "/checkout", chk).Field)
		chk.IdempotencyKey = "k2"
		var c checkoutResponse
		e.ok(http.MethodPost, "/checkout", chk, &c)
		assertYuan(t, "113.94", c.CashDue)
		assert.Equal(t, int64(2000), e.account("alice").Points)
	})
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
