package coupon_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestWalletSweepExpiring(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "d1", Kind: coupon.KindCash, Amount: yuan("5"), Validity: coupon.Validity{Days: 1}})
	e.put(t, coupon.Template{ID: "d3", Kind: coupon.KindCash, Amount: yuan("5"), Validity: coupon.Validity{Days: 3}})
	e.put(t, coupon.Template{ID: "d9", Kind: coupon.KindCash, Amount: yuan("5"), Validity: coupon.Validity{Days: 9}})
	a, b, c := e.claim(t, "u1", "d1"), e.claim(t, "u1", "d3"), e.claim(t, "u2", "d9")
	locked := e.claim(t, "u1", "d1")
	revoked := e.claim(t, "u1", "d9")
	_, err := e.svc.Revoke(ctx, tenant, revoked.ID)
	require.NoError(t, err)
	_, err = e.svc.Revoke(ctx, tenant, revoked.ID)
	require.NoError(t, err, "revoking twice")
	_, err = e.svc.Lock(ctx, coupon.LockRequest{Cart: cart3(), Coupons: []string{locked.ID}, IdempotencyKey: "k"})
	require.NoError(t, err)
	_, err = e.svc.Revoke(ctx, tenant, locked.ID)
	assert.ErrorIs(t, err, scrm.ErrConflict)

	// Expiring within two days (today is day 1): a (end of today) and b? No:
	// b ends at the end of 3 March, 62 hours away.
	soon, err := e.svc.Expiring(ctx, tenant, 48*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{a.ID}, couponIDs(soon), "locked and revoked coupons need no reminder")
	soon, err = e.svc.Expiring(ctx, tenant, 3*24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{a.ID, b.ID}, couponIDs(soon), "soonest first")
	_, err = e.svc.Expiring(ctx, tenant, 0)
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	e.clock.Set(time.Date(2026, 3, 2, 0, 0, 0, 0, shanghai)) // a's last day is over
	w := mustWallet(t, e, "u1")
	assert.Equal(t, []string{b.ID, locked.ID, a.ID, revoked.ID}, couponIDs(w), "usable first, then locked, expired, revoked")
	assert.Equal(t, []coupon.State{coupon.StateAvailable, coupon.StateLocked, coupon.StateExpired, coupon.StateRevoked}, states(w),
		"an unswept coupon past its validity shows as expired")

	n, err := e.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the locked coupon is left to its order")
	expired := e.events.ofType(coupon.EventExpired)
	require.Len(t, expired, 1)
	assert.Equal(t, "coupon.expired:"+a.ID, expired[0].ID)
	n, err = e.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Zero(t, n)

	// Releasing the order makes the locked coupon available, then expired.
	_, err = e.svc.Release(ctx, tenant, "o1")
	require.NoError(t, err)
	n, err = e.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	st, err := e.svc.Stats(ctx, tenant, "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), st.Expired)
	assert.Equal(t, int64(2), st.Issued)
	assert.Equal(t, coupon.StateAvailable, mustWallet(t, e, "u2")[0].State)
	_ = c
}

func couponIDs(cs []coupon.Coupon) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func states(cs []coupon.Coupon) []coupon.State {
	out := make([]coupon.State, len(cs))
	for i, c := range cs {
		out[i] = c.State
	}
	return out
}
