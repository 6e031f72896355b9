package member_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// TestFullRefundTakesTierToWhatGrowthQualifiesFor: doc.go ("Decisions the
// issue left open", Tiers) promises that a refunded order cannot buy a
// tier. Under the default Cumulative/OneDown program a new customer whose
// only order (¥5000, 钻卡) is fully refunded has growth 0 and goes straight
// back to 普卡: a loss of growth is not limited to one step by OneDown
// (which Cumulative would never evaluate again), so the refunded order
// buys neither 钻卡 nor 金卡 and its ×1.5 points multiplier.
func TestFullRefundTakesTierToWhatGrowthQualifiesFor(t *testing.T) {
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "5000.00")
	require.Equal(t, "diamond", f.account(t, "c1").Tier)
	r := f.refund(t, "c1", "rf1", "o1", "5000.00")
	assert.Equal(t, &member.TierChange{From: "diamond", To: "normal"}, r.TierChange)
	a := f.account(t, "c1")
	require.Equal(t, int64(0), a.Growth)
	assert.Equal(t, "normal", a.Tier, "growth 0 after refunding the only order: 普卡")
	// The next ¥100 order earns 普卡's ×1.
	e := f.earn(t, "c1", "o2", "100.00")
	assert.Equal(t, int64(100), e.Points)
}

// TestRefundOfPointsOnlyOrderUsesWhatPointsPaid: with MaxShare 1 (zero)
// Redeem and Hold do not require OrderAmount (RedeemRule, doc.go
// "OrderAmount is required on holds only when MaxShare caps the order"). An
// order paid entirely with points then has no Earn and no OrderAmount; its
// refunds are shares of what its points paid (500 points at 100 points a
// yuan: ¥5.00), so the spent points are given back to their lots, as issue
// 4 says points spent on a refunded order are, and a refund of more is
// ErrInvalid naming Amount.
func TestRefundOfPointsOnlyOrderUsesWhatPointsPaid(t *testing.T) {
	p := standard()
	p.Redeem.MaxShare = dec("0")
	f := newFixture(t, p)
	ctx := context.Background()
	f.earn(t, "c1", "o1", "1000.00") // 1000 points (1000 growth: silver)
	before := f.account(t, "c1").Points
	_, err := f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r1", OrderID: "pos1", Points: 500})
	require.NoError(t, err)
	_, err = f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rf0", OrderID: "pos1", Amount: dec("5.01")})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Amount", errField(err))
	assert.ErrorContains(t, err, "the 5 left to refund")
	r, err := f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rf1", OrderID: "pos1", Amount: dec("2.00")})
	require.NoError(t, err, "a partial refund of an order paid with 500 points (¥5)")
	assert.Equal(t, int64(200), r.Returned)
	r, err = f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rf2", OrderID: "pos1", Amount: dec("3.00")})
	require.NoError(t, err, "the rest of it")
	assert.Equal(t, int64(300), r.Returned)
	assert.Equal(t, before, f.account(t, "c1").Points)

	// A captured hold without OrderAmount: its refund base is the hold's
	// Value, and an order.refunded event refunds it too.
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "pos2", Points: 300})
	require.NoError(t, err)
	_, err = f.svc.Capture(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	require.Equal(t, before-300, f.account(t, "c1").Points)
	require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "ev-rf3", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderRefunded,
		Time: f.clock.Now(), Amount: dec("3.00"), Props: map[string]any{"order_id": "pos2"}}))
	assert.Equal(t, before, f.account(t, "c1").Points)
}

// TestHeldPointsOfRefundedOrderTakenWhenHoldVoided: issue 4 says the debt
// policy only decides "if clawed-back points were already spent"; doc.go
// says held points stay in their lots and Void "returns them to their
// lots". A customer who holds all of their points at checkout, has the
// order that earned them fully refunded, then abandons the checkout (Void),
// keeps no point of the refunded order: the clawback found a spendable
// balance of 0 and, under TakeRemaining, forgave the 1000 for now but
// remembered them (Unclawed), and the Void takes them from the released
// points at once.
func TestHeldPointsOfRefundedOrderTakenWhenHoldVoided(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Tiers = nil
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "1000.00") // 1000 points
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "x1",
		Points: 1000, OrderAmount: dec("20.00")})
	require.NoError(t, err)
	r := f.refund(t, "c1", "rf1", "o1", "1000.00") // the whole order that earned them
	assert.Equal(t, int64(0), r.Clawed)
	assert.Equal(t, int64(1000), r.Forgiven)
	assert.Equal(t, int64(1000), f.account(t, "c1").Unclawed)
	v, err := f.svc.Void(ctx, tenant, h.HoldID) // checkout abandoned: nothing was spent
	require.NoError(t, err)
	assert.Equal(t, int64(1000), v.Clawed)
	require.Len(t, v.Entries, 2)
	assert.Equal(t, member.EntryVoid, v.Entries[0].Kind)
	assert.Equal(t, member.EntryClawback, v.Entries[1].Kind)
	assert.Equal(t, "unclawed", v.Entries[1].Note)
	assert.Equal(t, int64(-1000), v.Entries[1].Points)
	a := f.account(t, "c1")
	assert.Equal(t, int64(0), a.Points, "the points of a fully refunded order do not survive through a hold")
	assert.Zero(t, a.Unclawed)
}

// TestForgivenClawbackTakenFromRefundedSpend: both orders of a customer
// are fully refunded, and no point is left. o1 earned 1000 points, which
// were redeemed on o2; refunding o1 could take only o2's 20 points and
// forgave the other 980 (TakeRemaining: "already spent"), and refunding o2
// then gives the 1000 spent points back (refund.go: spent points are
// returned first), which pay the 980 off before o2's own 20 are clawed
// back: the ledger takes what the refunded o1 earned (issue 4: a refund
// claws back the points the order earned) once its spend is undone.
func TestForgivenClawbackTakenFromRefundedSpend(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Tiers = nil
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "1000.00") // 1000 points
	_, err := f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r2", OrderID: "o2",
		Points: 1000, OrderAmount: dec("30.00")})
	require.NoError(t, err)
	_, err = f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "e2", OrderID: "o2", Amount: dec("20.00")})
	require.NoError(t, err) // o2: ¥20 cash + 1000 points (¥10); 20 points
	r1 := f.refund(t, "c1", "rf1", "o1", "1000.00")
	assert.Equal(t, int64(20), r1.Clawed)
	assert.Equal(t, int64(980), r1.Forgiven)
	r2 := f.refund(t, "c1", "rf2", "o2", "20.00")
	assert.Equal(t, int64(1000), r2.Returned)
	assert.Equal(t, int64(980+20), r2.Clawed, "the unclawed 980, then o2's own 20")
	assert.Zero(t, r2.Forgiven)
	a := f.account(t, "c1")
	assert.Equal(t, int64(0), a.Growth)
	assert.Equal(t, int64(0), a.Points, "every order refunded in full: no points remain")
	assert.Zero(t, a.Unclawed)
}

// TestUnclawedNotPaidByNewOrExpiredPoints: what refunds could not claw back
// is taken only from points that come back without being earned: new
// points never pay it (that is AllowNegative's debt), nor do released
// points whose lot expired while they were held, which expire instead.
// Under AllowNegative nothing is remembered: the clawback records debt.
func TestUnclawedNotPaidByNewOrExpiredPoints(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Tiers = nil
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 20}
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "1000.00")
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "x1",
		Points: 1000, OrderAmount: dec("20.00")})
	require.NoError(t, err)
	f.refund(t, "c1", "rf1", "o1", "1000.00")
	require.Equal(t, int64(1000), f.account(t, "c1").Unclawed)

	f.clock.Advance(25 * 24 * time.Hour) // o1's lot expires meanwhile
	e := f.earn(t, "c1", "o2", "100.00")
	assert.Equal(t, int64(100), e.Points)
	assert.Zero(t, e.Clawed, "new points do not pay Unclawed")
	v, err := f.svc.Void(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	assert.Zero(t, v.Clawed, "released points of an expired lot expire: they do not come back")
	a := f.account(t, "c1")
	assert.Equal(t, int64(100), a.Points)
	assert.Equal(t, int64(1000), a.Unclawed)

	p.Debt = member.AllowNegative
	f = newFixture(t, p)
	f.earn(t, "c1", "o1", "1000.00")
	h, err = f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "x1",
		Points: 1000, OrderAmount: dec("20.00")})
	require.NoError(t, err)
	r := f.refund(t, "c1", "rf1", "o1", "1000.00")
	assert.Equal(t, int64(1000), r.Debt)
	v, err = f.svc.Void(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	assert.Zero(t, v.Clawed, "the debt is repaid instead")
	a = f.account(t, "c1")
	assert.Zero(t, a.Points)
	assert.Zero(t, a.Debt)
	assert.Zero(t, a.Unclawed)
}

// Points a points-mall exchange spent come back when its reward is
// refused; like a voided hold's, they pay off first what a refund could
// not claw back because they were spent (AccountState.Unclawed): the order
// refunded while the exchange's grant ran leaves no points.
func TestRefusedExchangeReturnPaysUnclawed(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)
	f.put(t, coffee())
	_, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "p1", OrderID: "o1", Amount: dec("120")})
	require.NoError(t, err)
	// The order is refunded while the coupon is being granted, and then
	// the coupon service refuses.
	f.shop.setFail(func(ctx context.Context, g scrm.Grant) error {
		if g.Reward.Kind != scrm.RewardCoupon {
			return nil
		}
		r, err := f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("120")})
		if err != nil {
			return err
		}
		if r.Forgiven != 120 {
			return fmt.Errorf("forgiven %d, want 120: the points were spent on the exchange", r.Forgiven)
		}
		return scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template latte is out of stock")
	})
	res, err := f.svc.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: "c1", Item: "coffee", IdempotencyKey: "x1"})
	require.Error(t, err)
	require.Equal(t, int64(120), res.Returned, "the refused exchange's points come back")
	a := f.account(t, "c1")
	assert.Equal(t, int64(0), a.Points, "and pay off the refunded order's forgiven clawback")
	assert.Equal(t, int64(0), a.Unclawed)
}

// A Hold replayed with its key tells the hold's state now: a checkout
// retried with the key of an attempt whose hold was voided used to be told
// "open" and counted on points that were no longer held.
func TestHoldReplayTellsStateNow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "1000")
	req := member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k1", OrderID: "o2", Points: 200, OrderAmount: dec("100")}
	h, err := f.svc.Hold(ctx, req)
	require.NoError(t, err)
	require.Equal(t, member.HoldOpen, h.State)
	again, err := f.svc.Hold(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, member.HoldOpen, again.State)

	_, err = f.svc.Void(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	again, err = f.svc.Hold(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, member.HoldVoided, again.State)
	assert.Equal(t, h.HoldID, again.HoldID)
	assert.Equal(t, int64(1000), f.account(t, "c1").Points, "the replay held nothing")
}
