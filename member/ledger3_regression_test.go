package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// orderEvent builds an order event for Handle.
func orderEvent(id, typ string, customer scrm.CustomerID, order, amount string, f *fixture) scrm.Event {
	return scrm.Event{ID: id, Tenant: tenant, Customer: customer, Type: typ, Time: f.clock.Now(),
		Amount: dec(amount), Props: map[string]any{"order_id": order}}
}

// pointsAndCashOrder: a customer earns 5000 points, then pays order "mix"
// with 1000 points (¥10, a captured hold of an order of ¥100) and ¥90 in
// cash. It returns the fixture.
func pointsAndCashOrder(t *testing.T, customer scrm.CustomerID) *fixture {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, customer, "seed", "5000")
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: customer, IdempotencyKey: "h-mix",
		OrderID: "mix", Points: 1000, OrderAmount: dec("100")})
	require.NoError(t, err)
	_, err = f.svc.Capture(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	return f
}

// TestRefundBeforePaidReturnsSpentPointsAsAfter: an order paid with 1000
// points (captured hold, OrderAmount ¥100) and ¥90 in cash is refunded in
// full (order.refunded ¥90). A refund delivered before its order.paid is
// taken back by the order.paid that follows in the same entries a refund
// would write (Handle), so the order of the two events does not matter:
// delivered after order.paid, the refund gives back all 1000 spent points;
// delivered before, it gives back 900 against OrderAmount (¥100), and the
// Earn that follows, measuring against the paid ¥90, gives back the other
// 100 before clawing back the earned points.
func TestRefundBeforePaidReturnsSpentPointsAsAfter(t *testing.T) {
	ctx := context.Background()
	after := pointsAndCashOrder(t, "c1")
	require.NoError(t, after.svc.Handle(ctx, orderEvent("paid", scrm.EventOrderPaid, "c1", "mix", "90", after)))
	require.NoError(t, after.svc.Handle(ctx, orderEvent("refund", scrm.EventOrderRefunded, "c1", "mix", "90", after)))

	before := pointsAndCashOrder(t, "c1")
	require.NoError(t, before.svc.Handle(ctx, orderEvent("refund", scrm.EventOrderRefunded, "c1", "mix", "90", before)))
	require.NoError(t, before.svc.Handle(ctx, orderEvent("paid", scrm.EventOrderPaid, "c1", "mix", "90", before)))

	a, b := after.account(t, "c1"), before.account(t, "c1")
	require.Equal(t, a.Growth, b.Growth, "growth")
	require.Equal(t, a.Points, b.Points, "points: refund after order.paid vs before")
	require.Equal(t, int64(5000), b.Points, "every spent point is back, every earned one taken")
}

// TestRefundBeforePaidOfPointsAndCashOrderRemembered: under a program
// without MaxShare (OrderAmount optional), an order paid with 1000 points
// (¥10, captured hold without OrderAmount) and ¥90 in cash is refunded in
// full before its order.paid arrives. Handle remembers the refund, though
// it exceeds what the points paid (SpentValue ¥10, all that is known of the
// order yet), gives back the spent points at once, and the order.paid that
// follows takes back what the order earned: no points, no growth, and the
// 1000 spent points are back.
func TestRefundBeforePaidOfPointsAndCashOrderRemembered(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Redeem.MaxShare = dec("1")
	f := newFixture(t, p)
	f.earn(t, "c1", "seed", "5000")
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h-mix",
		OrderID: "mix", Points: 1000})
	require.NoError(t, err)
	_, err = f.svc.Capture(ctx, tenant, h.HoldID)
	require.NoError(t, err)

	err = f.svc.Handle(ctx, orderEvent("refund", scrm.EventOrderRefunded, "c1", "mix", "90", f))
	require.NoError(t, err, "refund before order.paid of a points+cash order")
	require.NoError(t, f.svc.Handle(ctx, orderEvent("paid", scrm.EventOrderPaid, "c1", "mix", "90", f)))
	a := f.account(t, "c1")
	require.Equal(t, int64(5000), a.Growth, "the refunded order leaves no growth")
	require.Equal(t, int64(5000), a.Points, "the refunded order leaves no points and gives back its spent ones")
}

// TestRefundBeforePaidOfOrderWithOpenHoldRemembered: a refund delivered
// before its order.paid is remembered also while the order's points are
// only held, without an OrderAmount (nothing known to measure it against
// yet); the points captured afterwards are given back by the order.paid
// that follows, against the paid amount.
func TestRefundBeforePaidOfOrderWithOpenHoldRemembered(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Redeem.MaxShare = dec("1")
	f := newFixture(t, p)
	f.earn(t, "c1", "seed", "5000")
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h-mix",
		OrderID: "mix", Points: 1000})
	require.NoError(t, err)
	require.NoError(t, f.svc.Handle(ctx, orderEvent("refund", scrm.EventOrderRefunded, "c1", "mix", "90", f)))
	_, err = f.svc.Capture(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	require.NoError(t, f.svc.Handle(ctx, orderEvent("paid", scrm.EventOrderPaid, "c1", "mix", "90", f)))
	a := f.account(t, "c1")
	assert.Equal(t, int64(5000), a.Growth)
	assert.Equal(t, int64(5000), a.Points)
	assert.Zero(t, a.Held)
}

// TestDirectRefundOfOrderOnlyRefundedEarlyNotFound: Refund answers
// ErrNotFound for an order whose order.paid has not arrived and that
// nothing was held or spent on, also once Handle remembered an early refund
// of it: a host that retries ErrNotFound later (the order.paid is on its
// way) must not be told the refund is malformed.
func TestDirectRefundOfOrderOnlyRefundedEarlyNotFound(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	require.NoError(t, f.svc.Handle(ctx, orderEvent("refund-1", scrm.EventOrderRefunded, "c1", "o1", "30", f)))
	_, err := f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "direct",
		OrderID: "o1", Amount: dec("20")})
	require.ErrorIs(t, err, scrm.ErrNotFound, "got %v", err)
}

// TestVoidOfPointsEarnedAfterClawbackKeepsThem: what TakeRemaining forgave
// (AccountState.Unclawed) is taken only from points that come back having
// left the balance before the clawback; new points never pay it. A
// customer earns 1000 points on order A, spends them all on order B (a
// completed purchase), and A is refunded: 1000 are forgiven (Unclawed).
// Later the customer earns 1000 new points on order C, starts a checkout
// with them (Hold) and abandons it (Void): the balance is where it was
// (1000, the new points), as it would be without the hold.
func TestVoidOfPointsEarnedAfterClawbackKeepsThem(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "A", "1000")
	_, err := f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "B",
		OrderID: "B", Points: 1000, OrderAmount: dec("100")})
	require.NoError(t, err)
	_, err = f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rA", OrderID: "A", Amount: dec("1000")})
	require.NoError(t, err)
	require.Equal(t, int64(1000), f.account(t, "c1").Unclawed)

	f.clock.Advance(time.Minute) // the new points come later
	f.earn(t, "c1", "C", "1000")
	before := f.account(t, "c1").Points
	require.Equal(t, int64(1000), before)
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "hD",
		OrderID: "D", Points: 1000, OrderAmount: dec("100")})
	require.NoError(t, err)
	_, err = f.svc.Void(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	require.Equal(t, before, f.account(t, "c1").Points, "hold + void of new points leaves the balance as it was")
	assert.Equal(t, int64(1000), f.account(t, "c1").Unclawed)
}

// TestRefundOfPointsSpentAfterClawbackKeepsThem: the spent points a refund
// gives back pay off Unclawed only when the order's points were spent at or
// before the clawback that forgave. Points earned later and spent on an
// order that is refunded come back to the customer; those of the order
// spent before the clawback (B) pay it off.
func TestRefundOfPointsSpentAfterClawbackKeepsThem(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "A", "1000")
	_, err := f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "B",
		OrderID: "B", Points: 1000, OrderAmount: dec("100")})
	require.NoError(t, err)
	f.refund(t, "c1", "rA", "A", "1000")
	require.Equal(t, int64(1000), f.account(t, "c1").Unclawed)

	f.clock.Advance(time.Minute)
	f.earn(t, "c1", "C", "1000")
	_, err = f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "D",
		OrderID: "D", Points: 1000, OrderAmount: dec("100")})
	require.NoError(t, err)
	r := f.refund(t, "c1", "rD", "D", "100")
	assert.Equal(t, int64(1000), r.Returned)
	assert.Zero(t, r.Clawed, "points spent after the clawback do not pay Unclawed")
	a := f.account(t, "c1")
	assert.Equal(t, int64(1000), a.Points)
	assert.Equal(t, int64(1000), a.Unclawed)

	r = f.refund(t, "c1", "rB", "B", "100")
	assert.Equal(t, int64(1000), r.Returned)
	assert.Equal(t, int64(1000), r.Clawed, "points spent before the clawback pay it")
	a = f.account(t, "c1")
	assert.Equal(t, int64(1000), a.Points)
	assert.Zero(t, a.Unclawed)
}

// TestRefusedExchangeTellsWhatBecameOfPoints: a refused exchange's error
// says how many of the returned points were taken straight back for what a
// refund could not claw back (ExchangeRecord.Unclawed); the points of an
// exchange charged after that refund are new points and are kept.
func TestRefusedExchangeTellsWhatBecameOfPoints(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)
	f.put(t, coffee())
	refuse := func(ctx context.Context, g scrm.Grant) error {
		return scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template latte is out of stock")
	}
	_, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "p1", OrderID: "o1", Amount: dec("120")})
	require.NoError(t, err)
	f.shop.setFail(func(ctx context.Context, g scrm.Grant) error {
		if _, err := f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("120")}); err != nil {
			return err
		}
		return refuse(ctx, g)
	})
	res, err := f.exchange("c1", "coffee", "x1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, int64(120), res.Returned)
	assert.Equal(t, int64(120), res.Unclawed)
	assert.Contains(t, err.Error(), "120 points were returned (0 forfeited), 120 of them taken straight back")
	_, err = f.exchange("c1", "coffee", "x1")
	assert.Contains(t, err.Error(), "120 of them taken straight back", "a replay tells the same")

	// Another customer: the refund forgives while their points are spent
	// elsewhere, then they earn new points and exchange them.
	_, err = f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c2", IdempotencyKey: "p2", OrderID: "o2", Amount: dec("100")})
	require.NoError(t, err)
	_, err = f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c2", IdempotencyKey: "B", OrderID: "B",
		Points: 100, OrderAmount: dec("10")})
	require.NoError(t, err)
	_, err = f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c2", IdempotencyKey: "r2", OrderID: "o2", Amount: dec("100")})
	require.NoError(t, err)
	require.Equal(t, int64(100), f.account(t, "c2").Unclawed)
	f.clock.Advance(time.Minute)
	_, err = f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c2", IdempotencyKey: "p3", OrderID: "o3", Amount: dec("120")})
	require.NoError(t, err)
	f.shop.setFail(refuse)
	res, err = f.exchange("c2", "coffee", "x2")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, int64(120), res.Returned)
	assert.Zero(t, res.Unclawed, "charged after the clawback: new points")
	assert.NotContains(t, err.Error(), "taken straight back")
	a := f.account(t, "c2")
	assert.Equal(t, int64(120), a.Points)
	assert.Equal(t, int64(100), a.Unclawed)
}

// TestRunPlansKeepsRefusalCode: RunPlans classifies a failed benefit as
// scrm.Join does: a Rewarder that refused (a coupon template that ran out)
// gives an error with its code, not ErrUnavailable, so that a host that
// retries on ErrUnavailable does not retry it for ever; a Rewarder that was
// down gives ErrUnavailable.
func TestRunPlansKeepsRefusalCode(t *testing.T) {
	clock := scrmtest.NewClock(start)
	var couponErr error
	router := scrm.NewRewardRouter()
	svc := member.New(member.NewMemoryStore(), scrm.NewMemoryProfileStore(), &member.Options{Options: scrm.Options{Clock: clock}, Rewarder: router})
	router.Route(scrm.RewardPoints, svc)
	router.Route(scrm.RewardGrowth, svc)
	router.Route(scrm.RewardStoredValue, svc)
	router.Route(scrm.RewardCoupon, scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return couponErr }))
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	_, err = svc.PutPlan(bg, monthly())
	require.NoError(t, err)
	_, err = svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s1", Paid: dec("18")})
	require.NoError(t, err)

	clock.Advance(8 * 24 * time.Hour) // the second tranche is due
	couponErr = scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template c-17.50 ran out")
	r, err := svc.RunPlans(bg, tenant)
	require.Error(t, err)
	assert.Equal(t, 1, r.Failed)
	assert.ErrorIs(t, err, scrm.ErrExhausted)
	assert.NotErrorIs(t, err, scrm.ErrUnavailable, "a refusal is not retryable")

	couponErr = scrm.Errorf(scrm.ErrUnavailable, "coupon.Grant", "coupon service down")
	_, err = svc.RunPlans(bg, tenant)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)

	couponErr = nil
	r, err = svc.RunPlans(bg, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, r.Tranches)
}
