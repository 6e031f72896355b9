package coupon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// oneLineLockOrder is a one-line order (1 × 100.00) whose coupon id of
// template tmpl takes 10.00 off.
func oneLineLockOrder(id string, cust scrm.CustomerID, key, couponID, tmpl string) coupon.Order {
	d := yuan("10.00")
	return coupon.Order{Tenant: tenant, ID: id, Customer: cust, State: coupon.OrderLocked, IdempotencyKey: key,
		LockedAt: t0, Coupons: []string{couponID},
		Cart: coupon.Cart{Tenant: tenant, Customer: cust, OrderID: id, Items: []coupon.Item{item("s1", "", "100.00", 1)}},
		Quote: coupon.Quote{Subtotal: yuan("100.00"), ItemDiscount: d, Discount: d, Payable: yuan("90.00"),
			Lines:   []coupon.Line{{Index: 0, SKU: "s1", Quantity: 1, Price: yuan("100.00"), Discount: d}},
			Applied: []coupon.Applied{{Coupon: couponID, Template: tmpl, Kind: coupon.KindCash, Discount: d, Lines: []coupon.Share{{Line: 0, Discount: d}}}}}}
}

// Store.Lock doc: "A key is unique per tenant and stays bound to the lock
// that used it". Order o1 locks with key k1, is released, and locks again
// with k2; k1 stays taken, so order o2 cannot lock with it. A late retry of
// o1's first checkout request (key k1) after a second release is refused
// too: that lock was superseded by k2, so it does not lock o1 again.
func TestLockKeyStaysBoundAfterItsOrderIsRelocked(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("10.00")})
	a := e.claim(t, "u1", "c")
	b := e.claim(t, "u1", "c")
	_, err := e.store.Lock(ctx, coupon.LockParams{Order: oneLineLockOrder("o1", "u1", "k1", a.ID, "c"), Fingerprint: "f1"})
	require.NoError(t, err)
	_, err = e.store.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: t0})
	require.NoError(t, err)
	_, err = e.store.Lock(ctx, coupon.LockParams{Order: oneLineLockOrder("o1", "u1", "k2", a.ID, "c"), Fingerprint: "f2"})
	require.NoError(t, err)
	_, err = e.store.Lock(ctx, coupon.LockParams{Order: oneLineLockOrder("o2", "u1", "k1", b.ID, "c"), Fingerprint: "f3"})
	require.ErrorIs(t, err, scrm.ErrConflict, "k1 was used by order o1")
	_, err = e.store.Release(ctx, coupon.OrderParams{Tenant: tenant, OrderID: "o1", Now: t0})
	require.NoError(t, err)
	_, err = e.store.Lock(ctx, coupon.LockParams{Order: oneLineLockOrder("o1", "u1", "k1", a.ID, "c"), Fingerprint: "f1"})
	require.ErrorIs(t, err, scrm.ErrConflict, "o1's lock with k1 was superseded by k2")
	o, err := e.store.Order(ctx, tenant, "o1")
	require.NoError(t, err)
	require.Equal(t, coupon.OrderReleased, o.State)
}

// Service.Revoke: "Revoke withdraws an available coupon ... ErrConflict for
// a locked, redeemed or expired coupon", and Coupon.State: "Wallet and Quote
// report an available coupon past its validity as expired even before Sweep
// has marked it". A coupon whose validity ended (Wallet says expired) is not
// revoked even when Sweep has not run yet, so it never counts in
// Stats.Revoked instead of Stats.Expired.
func TestRevokeRefusesCouponExpiredBeforeSweep(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("10.00"), Validity: coupon.Validity{Days: 1}})
	c := e.claim(t, "u1", "c")
	e.clock.Set(c.ValidTo.Add(time.Minute))
	w, err := e.svc.Wallet(ctx, tenant, "u1")
	require.NoError(t, err)
	require.Equal(t, coupon.StateExpired, w[0].State, "the wallet shows it expired")
	_, err = e.svc.Revoke(ctx, tenant, c.ID)
	require.ErrorIs(t, err, scrm.ErrConflict, "an expired coupon cannot be revoked")
}

// IssueBatch doc: "running the same batch again after a failure issues only
// what is missing"; emit doc: "Publish errors are returned: the change is
// stored, and retrying the request (an idempotent replay) publishes again
// with the same event IDs". A batch whose publish of u2's coupon.issued
// fails stops with ErrUnavailable after storing u2's coupon; running it
// again reports u2 as Replayed and publishes u2's coupon.issued, so the
// event (welcome touches, reports) is not lost.
func TestIssueBatchRerunRepublishesFailedEvent(t *testing.T) {
	e := newEnv(t)
	failed := false
	var delivered []scrm.Event
	svc := coupon.New(e.store, nil, &coupon.Options{Options: scrm.Options{Clock: e.clock,
		Publisher: scrm.PublisherFunc(func(_ context.Context, ev scrm.Event) error {
			if ev.Customer == "u2" && !failed {
				failed = true
				return errors.New("bus down")
			}
			delivered = append(delivered, ev)
			return nil
		})}})
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	req := coupon.BatchRequest{Tenant: tenant, Template: "c", Customers: []scrm.CustomerID{"u1", "u2", "u3"}, IdempotencyKey: "b1"}
	_, err := svc.IssueBatch(ctx, req)
	require.ErrorIs(t, err, scrm.ErrUnavailable, "the publish of u2's event failed")
	res, err := svc.IssueBatch(ctx, req)
	require.NoError(t, err)
	require.Len(t, res.Issued, 3)
	got := map[scrm.CustomerID]int{}
	for _, ev := range delivered {
		got[ev.Customer]++
	}
	require.Equal(t, 1, got["u2"], "u2's coupon.issued must be delivered by the rerun; delivered %v", got)
}
