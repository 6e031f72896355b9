package referral_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

const day = 24 * time.Hour

func TestQualifyRewardsBothSidesOnce(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{
		Qualify:          referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * day},
		InviteeOnBind:    []scrm.Reward{coupon("new-50")},
		InviteeOnQualify: []scrm.Reward{points(200)},
		InviterRewards:   []scrm.Reward{coupon("148-20"), points(500)},
	})
	r.mustBind("B", "A")
	r.clock.Advance(day)
	r.pay("B", "49.99", "o1") // below MinAmount
	assert.Equal(t, []string{"new-50"}, templates(r.rewards.For("B")))
	assert.Empty(t, r.rewards.For("A"))

	r.pay("B", "50.00", "o2")
	assert.Equal(t, []string{"new-50", "points:200"}, templates(r.rewards.For("B")))
	assert.Equal(t, []string{"148-20", "points:500"}, templates(r.rewards.For("A")))
	for _, g := range r.rewards.Calls() {
		assert.Equal(t, "referral:p1", g.Source)
	}

	r.pay("B", "300.00", "o3") // qualified once only
	assert.Len(t, r.rewards.Calls(), 4)
	q := r.events.Of(referral.EventQualified)
	require.Len(t, q, 1)
	assert.Equal(t, "o2", q[0].Prop("order_id"))

	st, err := r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.Equal(t, 1, st.Bound)
	assert.Equal(t, 1, st.Qualified)
	assert.Equal(t, 2, st.Rewards)
}

func TestQualifyWindowAndEvent(t *testing.T) {
	tests := []struct {
		name    string
		qualify referral.Qualify
		events  func(r *rig)
		want    bool
	}{
		{"default event order.paid", referral.Qualify{}, func(r *rig) { r.pay("B", "1.00", "o1") }, true},
		{"other event types ignored", referral.Qualify{}, func(r *rig) { r.event("B", scrm.EventCustomerAdded, "", "") }, false},
		{"custom event", referral.Qualify{Event: scrm.EventCustomerAdded}, func(r *rig) { r.event("B", scrm.EventCustomerAdded, "", "") }, true},
		{"inside Within", referral.Qualify{Within: 7 * day}, func(r *rig) { r.clock.Advance(7*day - time.Second); r.pay("B", "1.00", "o1") }, true},
		{"at the end of Within", referral.Qualify{Within: 7 * day}, func(r *rig) { r.clock.Advance(7 * day); r.pay("B", "1.00", "o1") }, false},
		{"FirstOnly, first order too small", referral.Qualify{FirstOnly: true, MinAmount: scrm.Yuan("100")}, func(r *rig) {
			r.clock.Advance(time.Hour)
			r.pay("B", "20.00", "o1")
			r.clock.Advance(time.Hour)
			r.pay("B", "200.00", "o2")
		}, false},
		{"FirstOnly, first order big enough", referral.Qualify{FirstOnly: true, MinAmount: scrm.Yuan("100")}, func(r *rig) {
			r.clock.Advance(time.Hour)
			r.pay("B", "120.00", "o1")
		}, true},
		{"without FirstOnly a later order may qualify", referral.Qualify{MinAmount: scrm.Yuan("100")}, func(r *rig) {
			r.pay("B", "20.00", "o1")
			r.pay("B", "200.00", "o2")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.save(referral.Program{Qualify: tt.qualify, InviterRewards: []scrm.Reward{coupon("inv")}})
			r.mustBind("B", "A")
			tt.events(r)
			assert.Equal(t, tt.want, len(r.rewards.For("A")) == 1)
		})
	}
}

func TestQualifyConcurrentDuplicateEvents(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{
		InviteeOnQualify: []scrm.Reward{coupon("welcome")},
		InviterRewards:   []scrm.Reward{coupon("148-20")},
		Ladder:           []referral.Rung{{Count: 1, Rewards: []scrm.Reward{points(1000)}}},
		Percent:          scrm.Yuan("0.1"), PercentCap: scrm.Yuan("100"),
	})
	r.mustBind("B", "A")
	r.clock.Advance(time.Hour)
	e := scrm.Event{ID: "pay-1", Tenant: tenant, Customer: "B", Type: scrm.EventOrderPaid, Time: r.clock.Now(),
		Amount: scrm.Yuan("256.00"), Props: map[string]any{"order_id": "o1"}}
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, r.svc.Handle(r.ctx, e))
		}()
	}
	wg.Wait()
	calls := r.rewards.Calls()
	assert.Equal(t, []string{"welcome"}, templates(r.rewards.For("B")))
	assert.ElementsMatch(t, []string{"148-20", "points:1000", "stored_value:25.60"}, templates(r.rewards.For("A")))
	assert.Len(t, calls, 4, "one call to the Rewarder per reward, however many deliveries")
	keys := map[string]bool{}
	for _, g := range calls {
		assert.False(t, keys[g.IdempotencyKey], "duplicate key %s", g.IdempotencyKey)
		keys[g.IdempotencyKey] = true
	}
}

func TestQualifyRetryAfterRewarderFailure(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviteeOnQualify: []scrm.Reward{coupon("welcome")}, InviterRewards: []scrm.Reward{coupon("inv")}})
	r.mustBind("B", "A")
	e := scrm.Event{ID: "pay-1", Tenant: tenant, Customer: "B", Type: scrm.EventOrderPaid, Time: t0.Add(time.Hour), Amount: scrm.Yuan("10")}
	r.rewards.failNext(errors.New("member service down"))
	err := r.svc.Handle(r.ctx, e)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Len(t, r.rewards.Calls(), 1, "the other grant went through")

	require.NoError(t, r.svc.Handle(r.ctx, e)) // the host redelivers
	assert.Equal(t, []string{"welcome"}, templates(r.rewards.For("B")))
	assert.Equal(t, []string{"inv"}, templates(r.rewards.For("A")))
	require.NoError(t, r.svc.Handle(r.ctx, e))
	assert.Len(t, r.rewards.Calls(), 2)
}

func TestLadderRungsPayOnce(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{
		InviterRewards: []scrm.Reward{points(10)},
		Ladder: []referral.Rung{
			{Count: 2, Rewards: []scrm.Reward{coupon("rung-2")}},
			{Count: 4, Rewards: []scrm.Reward{coupon("rung-4a"), coupon("rung-4b")}},
		},
		MaxPerInviter: 4,
	})
	for i := 1; i <= 6; i++ {
		c := scrm.CustomerID(fmt.Sprintf("B%d", i))
		r.mustBind(c, "A")
		r.pay(c, "10.00", fmt.Sprintf("o%d", i))
		r.pay(c, "10.00", fmt.Sprintf("o%d-again", i))
	}
	got := templates(r.rewards.For("A"))
	assert.Equal(t, []string{
		"points:10", "points:10", "rung-2", "points:10", "points:10", "rung-4a", "rung-4b",
	}, got, "invitees 5 and 6 are past MaxPerInviter")
	st, err := r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.Equal(t, 6, st.Qualified)
	assert.Equal(t, 7, st.Rewards)
}

func TestMaxPerInviterUnderConcurrency(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviterRewards: []scrm.Reward{points(10)}, MaxPerInviter: 3,
		Ladder: []referral.Rung{{Count: 3, Rewards: []scrm.Reward{coupon("rung-3")}}}})
	const n = 20
	for i := range n {
		r.mustBind(scrm.CustomerID(fmt.Sprintf("B%02d", i)), "A")
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := scrm.CustomerID(fmt.Sprintf("B%02d", i))
			assert.NoError(t, r.svc.Handle(r.ctx, scrm.Event{ID: "pay-" + string(c), Tenant: tenant, Customer: c,
				Type: scrm.EventOrderPaid, Time: t0.Add(time.Hour), Amount: scrm.Yuan("10")}))
		}()
	}
	wg.Wait()
	assert.ElementsMatch(t, []string{"points:10", "points:10", "points:10", "rung-3"}, templates(r.rewards.For("A")))
}

func TestPercentRewardRoundedAndCapped(t *testing.T) {
	tests := []struct {
		amount, percent, cap, want string
	}{
		{"123.45", "0.1", "100", "12.35"}, // 12.345 rounds half up
		{"2000.00", "0.1", "100", "100.00"},
		{"0.04", "0.1", "0", "0.00"}, // rounds to nothing: no reward
		{"999.99", "0.05", "0", "50.00"},
	}
	for _, tt := range tests {
		t.Run(tt.amount, func(t *testing.T) {
			r := newRig(t)
			r.save(referral.Program{Percent: scrm.Yuan(tt.percent), PercentCap: scrm.Yuan(tt.cap)})
			r.mustBind("B", "A")
			r.pay("B", tt.amount, "o1")
			got := r.rewards.sum("A", scrm.RewardStoredValue)
			assert.True(t, got.Equal(scrm.Yuan(tt.want)), "got %s", got)
			assert.LessOrEqual(t, len(r.rewards.For("A")), 1)
		})
	}
}

func TestPercentKindOption(t *testing.T) {
	r := newRig(t, func(o *referral.Options) { o.PercentKind = "cash" })
	r.save(referral.Program{Percent: scrm.Yuan("0.1")})
	r.mustBind("B", "A")
	r.pay("B", "88.00", "o1")
	assert.Equal(t, []string{"cash:8.80"}, templates(r.rewards.For("A")))
}

func twoLevelProgram() referral.Program {
	return referral.Program{
		Percent: scrm.Yuan("0.05"), Commission: rates("0.10", "0.03"), SettleAfter: 7 * day,
	}
}

func TestCommissionTwoLevelsSettleAfterWindow(t *testing.T) {
	r := newRig(t)
	r.save(twoLevelProgram())
	r.mustBind("A", "Z") // Z invited A; A invites B
	r.mustBind("B", "A")
	r.clock.Advance(day)
	r.pay("B", "199.90", "o1")
	assert.Empty(t, r.rewards.Calls(), "everything waits for the return window")

	stA, err := r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.True(t, stA.Pending.Equal(scrm.Yuan("29.99")), "5%% 10.00 (9.995 rounded) + 10%% 19.99, got %s", stA.Pending)
	stZ, err := r.svc.Stats(r.ctx, tenant, "p1", "Z")
	require.NoError(t, err)
	assert.True(t, stZ.Pending.Equal(scrm.Yuan("6.00")), "3%% of 199.90 = 5.997, got %s", stZ.Pending)

	r.clock.Advance(7*day - time.Second)
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Settled)

	r.clock.Advance(time.Second)
	res, err = r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 3, res.Settled)
	assert.True(t, res.Amount.Equal(scrm.Yuan("35.99")), res.Amount.String())
	assert.True(t, r.rewards.sum("A", scrm.RewardStoredValue).Equal(scrm.Yuan("29.99")))
	assert.True(t, r.rewards.sum("Z", scrm.RewardStoredValue).Equal(scrm.Yuan("6.00")))

	res, err = r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Settled, "paid once")

	// A refund after settlement reverses nothing.
	r.event("B", scrm.EventOrderRefunded, "199.90", "o1")
	stA, err = r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.True(t, stA.Settled.Equal(scrm.Yuan("29.99")))
	assert.True(t, stA.Reversed.IsZero())
}

func TestRefundWithinWindowReversesPending(t *testing.T) {
	r := newRig(t)
	r.save(twoLevelProgram())
	r.mustBind("A", "Z")
	r.mustBind("B", "A")
	r.clock.Advance(day)
	r.pay("B", "199.90", "o1")
	r.clock.Advance(3 * day)
	r.event("B", scrm.EventOrderRefunded, "50.00", "other-order") // another order: nothing happens
	r.event("B", scrm.EventOrderRefunded, "199.90", "o1")
	require.Len(t, r.events.Of(referral.EventReversed), 3)

	r.clock.Advance(30 * day)
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Settled)
	assert.Empty(t, r.rewards.Calls())
	for _, c := range []scrm.CustomerID{"A", "Z"} {
		st, err := r.svc.Stats(r.ctx, tenant, "p1", c)
		require.NoError(t, err)
		assert.True(t, st.Pending.IsZero())
		assert.True(t, st.Reversed.IsPositive())
	}
}

func TestRefundBeforeApprovalReversesLaterEntries(t *testing.T) {
	r := newRig(t)
	p := twoLevelProgram()
	p.Fraud.SameDevice = referral.ActionReview
	r.save(p)
	require.NoError(t, r.svc.Observe(r.ctx, tenant, "A", referral.Signals{Device: "d"}))
	r.mustBind("B", "A", referral.Signals{Device: "d"})
	r.pay("B", "100.00", "o1")
	r.clock.Advance(day)
	ref := r.event("B", scrm.EventOrderRefunded, "100.00", "o1") // refunded while held
	_, err := r.svc.Approve(r.ctx, tenant, "B")
	require.NoError(t, err)
	rev := r.events.Of(referral.EventReversed)
	require.Len(t, rev, 2, "the entries born reversed have their events")
	for _, e := range rev {
		assert.Equal(t, scrm.CustomerID("A"), e.Customer)
		assert.True(t, e.Time.Equal(ref.Time))
	}
	assert.True(t, rev[0].Amount.Add(rev[1].Amount).Equal(scrm.Yuan("15.00")))
	r.clock.Advance(30 * day)
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Settled, "the entries were born reversed")
	st, err := r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.True(t, st.Reversed.Equal(scrm.Yuan("15.00")), st.Reversed.String())
}

func TestSettleImmediatelyWithoutWindow(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{Commission: rates("0.1")})
	r.mustBind("B", "A")
	r.pay("B", "10.00", "o1")
	assert.Equal(t, []string{"stored_value:1.00"}, templates(r.rewards.For("A")))
}

func TestSettleRetriesFailedGrants(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{Commission: rates("0.1"), SettleAfter: day})
	r.mustBind("B", "A")
	r.mustBind("C", "A")
	r.pay("B", "10.00", "o1")
	r.pay("C", "20.00", "o2")
	r.clock.Advance(day)
	r.rewards.failNext(errors.New("down"))
	res, err := r.svc.Settle(r.ctx, tenant)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, 1, res.Settled)
	assert.Equal(t, 1, res.Failed)
	res, err = r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Settled)
	assert.True(t, r.rewards.sum("A", scrm.RewardStoredValue).Equal(scrm.Yuan("3.00")))
}

func TestSettleConcurrentPaysOnce(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{Commission: rates("0.1"), SettleAfter: day})
	for i := range 30 {
		c := scrm.CustomerID(fmt.Sprintf("B%02d", i))
		r.mustBind(c, "A")
		r.pay(c, "10.00", "o-"+string(c))
	}
	r.clock.Advance(day)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.svc.Settle(r.ctx, tenant)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Len(t, r.rewards.Calls(), 30)
	assert.True(t, r.rewards.sum("A", scrm.RewardStoredValue).Equal(scrm.Yuan("30.00")))
}

func TestHandleIgnoresWhatIsNotItsBusiness(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviterRewards: []scrm.Reward{coupon("inv")}})
	r.pay("stranger", "100.00", "o1")
	r.event("stranger", scrm.EventOrderRefunded, "100.00", "o1")
	require.NoError(t, r.svc.Handle(r.ctx, scrm.Event{ID: "x", Tenant: tenant, Customer: "B", Type: referral.EventBound}))
	err := r.svc.Handle(r.ctx, scrm.Event{ID: "bad", Tenant: tenant, Customer: "B", Type: scrm.EventOrderPaid})
	assert.ErrorIs(t, err, scrm.ErrInvalid, "a malformed event is reported")
	assert.Empty(t, r.rewards.Calls())
}

func TestCommissionKindOption(t *testing.T) {
	r := newRig(t, func(o *referral.Options) { o.CommissionKind = "cash" })
	r.save(referral.Program{Commission: rates("0.1", "0.05")})
	r.mustBind("A", "Z")
	r.mustBind("B", "A")
	r.pay("B", "20.00", "o1")
	assert.Equal(t, []string{"cash:2.00"}, templates(r.rewards.For("A")))
	assert.Equal(t, []string{"cash:1.00"}, templates(r.rewards.For("Z")))
}
