package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// pointsAndCashOrderWithoutAmount: under a program without MaxShare
// (OrderAmount optional), c1 earns 5000 points, then pays order "mix"
// (¥100) with 1000 points (¥10, a captured hold without OrderAmount) and
// ¥90 in cash. It returns the fixture.
func pointsAndCashOrderWithoutAmount(t *testing.T) *fixture {
	t.Helper()
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
	return f
}

// TestEarlyPartialRefundReturnsSpentPointsAsAfterPaid: a points+cash order
// (1000 points captured without OrderAmount, so SpentValue ¥10, and ¥90 in
// cash) is refunded ¥5 (a partial refund of the cash). As Handle's doc
// promises, the order of the two events changes nothing. Delivered after
// order.paid, the refund gives back floor(1000×5/90) = 55 spent points.
// Delivered before, the refund gives back the spent points against what
// is known then (SpentValue: ¥5 of ¥10, 500 points), and the order.paid
// that follows takes back the 445 given beyond the paid amount's share
// (an EntryClawback noted "over-returned"): both end with the same points
// and growth.
func TestEarlyPartialRefundReturnsSpentPointsAsAfterPaid(t *testing.T) {
	ctx := context.Background()
	after := pointsAndCashOrderWithoutAmount(t)
	require.NoError(t, after.svc.Handle(ctx, orderEvent("paid", scrm.EventOrderPaid, "c1", "mix", "90", after)))
	require.NoError(t, after.svc.Handle(ctx, orderEvent("refund", scrm.EventOrderRefunded, "c1", "mix", "5", after)))

	before := pointsAndCashOrderWithoutAmount(t)
	require.NoError(t, before.svc.Handle(ctx, orderEvent("refund", scrm.EventOrderRefunded, "c1", "mix", "5", before)))
	require.NoError(t, before.svc.Handle(ctx, orderEvent("paid", scrm.EventOrderPaid, "c1", "mix", "90", before)))

	a, b := after.account(t, "c1"), before.account(t, "c1")
	assert.Equal(t, a.Growth, b.Growth, "growth")
	assert.Equal(t, a.Points, b.Points, "points: refund after order.paid (%d) vs before (%d)", a.Points, b.Points)
}

// TestVoidPaysOnlyUnclawedForgivenWhileHeld: what TakeRemaining forgave is
// taken only from points that come back having left the balance before
// the clawback that forgave them; "New points never pay it" (Refund doc,
// AccountState.Unclawed doc). c1 earns 1000 on A and spends them on B;
// A is refunded: 1000 forgiven at t1. Later c1 earns 1000 on C and 120 on
// D (银卡), holds 1100 for a checkout, and D is refunded while they are
// held: 100 more forgiven at t3, after the hold. The checkout is abandoned
// (Void): only D's 100 were missed by a clawback while held; C's 1000 are
// new points relative to A's clawback. Unclawed is kept in parts by time
// (AccountState.UnclawedParts), so the Void pays only the part forgiven
// since the hold: the balance keeps C's 1000 points, and A's forgiven
// 1000 stay in Unclawed for B's refund to pay.
func TestVoidPaysOnlyUnclawedForgivenWhileHeld(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "A", "1000")
	_, err := f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "B",
		OrderID: "B", Points: 1000, OrderAmount: dec("100")})
	require.NoError(t, err)
	_, err = f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rA", OrderID: "A", Amount: dec("1000")})
	require.NoError(t, err)
	require.Equal(t, int64(1000), f.account(t, "c1").Unclawed)

	f.clock.Advance(time.Minute)
	cPoints := f.earn(t, "c1", "C", "1000").Points // 1000
	f.earn(t, "c1", "D", "100")                    // 120 at 银卡
	all := f.account(t, "c1").Points
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "hE",
		OrderID: "E", Points: all / 100 * 100, OrderAmount: dec("3000")})
	require.NoError(t, err)
	f.clock.Advance(time.Minute)
	_, err = f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rD", OrderID: "D", Amount: dec("100")})
	require.NoError(t, err)
	require.Greater(t, f.account(t, "c1").Unclawed, int64(1000))

	f.clock.Advance(time.Minute)
	_, err = f.svc.Void(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	a := f.account(t, "c1")
	assert.GreaterOrEqual(t, a.Points, cPoints, "C's 1000 new points are kept; only D's pay Unclawed")
	assert.Equal(t, int64(1000), a.Unclawed, "A's forgiven 1000 wait for B's points")
}

// TestCaptureAfterFullRefundGivesPointsBack: Refund's doc promises that
// points spent on the order after a refund (a hold captured later) are
// given back, "in full once the whole order is refunded", and Handle's
// that an order refunded in full "gives back all its spent points". c1
// holds 1000 points for order "mix" (¥100: ¥10 in points, ¥90 cash), the
// order is paid and refunded in full (¥90), and only then the hold is
// captured (a capture-on-shipment worker behind the refund). No refund is
// left to give them back, so the capture gives them back at once (or,
// were it refused, would leave them held): the customer loses none.
func TestCaptureAfterFullRefundGivesPointsBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "seed", "5000")
	before := f.account(t, "c1").Points
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h-mix",
		OrderID: "mix", Points: 1000, OrderAmount: dec("100")})
	require.NoError(t, err)
	require.NoError(t, f.svc.Handle(ctx, orderEvent("paid", scrm.EventOrderPaid, "c1", "mix", "90", f)))
	require.NoError(t, f.svc.Handle(ctx, orderEvent("refund", scrm.EventOrderRefunded, "c1", "mix", "90", f)))
	_, cerr := f.svc.Capture(ctx, tenant, h.HoldID)
	a := f.account(t, "c1")
	if cerr == nil {
		assert.Equal(t, before, a.Points, "the fully refunded order keeps none of the customer's points")
	} else {
		assert.Equal(t, before, a.Points+a.Held, "refused capture leaves the points held")
	}
}

// Points cannot pay for an order already refunded in full: no refund is
// left to give them back (Hold and Redeem are ErrConflict, and nothing is
// written).
func TestNoPointsOnOrderRefundedInFull(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "1000")
	_, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "p2", OrderID: "o2", Amount: dec("100")})
	require.NoError(t, err)
	_, err = f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r2", OrderID: "o2", Amount: dec("100")})
	require.NoError(t, err)
	before := f.account(t, "c1")
	_, err = f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "o2", Points: 100, OrderAmount: dec("100")})
	require.ErrorIs(t, err, scrm.ErrConflict)
	_, err = f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "d1", OrderID: "o2", Points: 100, OrderAmount: dec("100")})
	require.ErrorIs(t, err, scrm.ErrConflict)
	assert.Equal(t, before, f.account(t, "c1"), "nothing written")
	// A corrected retry with the same key works on another order.
	_, err = f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "o3", Points: 100, OrderAmount: dec("100")})
	require.NoError(t, err)
}
