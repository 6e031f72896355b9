package referral_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// partialProgram pays, on a qualifying order, a 10% level-1 and a 5%
// level-2 commission and a 5% percent reward capped at ¥30.
func partialProgram() referral.Program {
	return referral.Program{Percent: scrm.Yuan("0.05"), PercentCap: scrm.Yuan("30"), Commission: rates("0.10", "0.05"), SettleAfter: 7 * day}
}

// partialRig binds A under Z and B under A, and has B pay ¥1,000 (order
// o1) a day later: A's commission ¥100 and percent reward ¥30 (capped),
// Z's level-2 commission ¥50, all pending.
func partialRig(t *testing.T, opts ...func(*referral.Options)) *rig {
	t.Helper()
	r := newRig(t, opts...)
	r.save(partialProgram())
	r.mustBind("A", "Z")
	r.mustBind("B", "A")
	r.clock.Advance(day)
	r.pay("B", "1000.00", "o1")
	r.clock.Advance(day)
	return r
}

// refundOf builds a refund of amount of B's order o1 (not yet delivered).
func (r *rig) refundOf(amount string) scrm.Event {
	return r.order("B", scrm.EventOrderRefunded, amount, "o1")
}

// deliver publishes e through the dispatcher, requiring success.
func (r *rig) deliver(e scrm.Event) {
	r.t.Helper()
	require.NoError(r.t, r.dispatch.Publish(r.ctx, e))
}

// entries returns the tenant's entries of a status by ID.
func (r *rig) entries(status referral.EntryStatus) map[string]referral.Entry {
	r.t.Helper()
	page, err := r.store.ListEntries(r.ctx, referral.ListEntriesParams{Tenant: tenant, Status: status})
	require.NoError(r.t, err)
	out := map[string]referral.Entry{}
	for _, e := range page.Entries {
		out[e.ID] = e
	}
	return out
}

// pendingAmounts asserts the Amount of A's level-1 commission, A's percent
// reward and Z's level-2 commission, all pending.
func pendingAmounts(t *testing.T, r *rig, c1, pct, c2 string) {
	t.Helper()
	pending := r.entries(referral.EntryPending)
	require.Len(t, pending, 3)
	want := map[referral.EntryKind]map[int]string{referral.EntryCommission: {1: c1, 2: c2}, referral.EntryPercent: {0: pct}}
	for _, e := range pending {
		w := want[e.Kind][e.Level]
		assert.True(t, e.Amount.Equal(scrm.Yuan(w)), "%s: %s, want %s", e.ID, e.Amount, w)
		assert.True(t, e.Base.Equal(scrm.Yuan("1000")), "%s: Base %s", e.ID, e.Base)
	}
}

// stats asserts a beneficiary's Pending and Reversed.
func (r *rig) stats(c scrm.CustomerID, pending, reversed string) {
	r.t.Helper()
	st, err := r.svc.Stats(r.ctx, tenant, "p1", c)
	require.NoError(r.t, err)
	assert.True(r.t, st.Pending.Equal(scrm.Yuan(pending)), "%s pending %s, want %s", c, st.Pending, pending)
	assert.True(r.t, st.Reversed.Equal(scrm.Yuan(reversed)), "%s reversed %s, want %s", c, st.Reversed, reversed)
}

// A partial refund reduces the pending commissions (both levels) and
// percent reward in proportion to the amount refunded; refunds add up,
// and the one that reaches the order amount reverses them.
func TestPartialRefundReducesCommissionInProportion(t *testing.T) {
	r := partialRig(t)
	pendingAmounts(t, r, "100.00", "30.00", "50.00")

	r.deliver(r.refundOf("1.00"))
	pendingAmounts(t, r, "99.90", "29.97", "49.95") // 1/1000 off each
	r.stats("A", "129.87", "0.13")
	r.stats("Z", "49.95", "0.05")
	reduced := r.events.Of(referral.EventReduced)
	require.Len(t, reduced, 3)
	for _, e := range reduced {
		if e.Customer == "Z" {
			assert.True(t, e.Amount.Equal(scrm.Yuan("0.05")), "what was taken off: %s", e.Amount)
			assert.Equal(t, "49.95", e.Prop("amount"))
			assert.Equal(t, "50", e.Prop("gross"))
			assert.Equal(t, "1", e.Prop("refunded"))
			assert.Equal(t, "o1", e.Prop("order_id"))
			assert.Equal(t, "B", e.Prop("invitee"))
			assert.Equal(t, "p1", e.Prop("program"))
			assert.True(t, e.Time.Equal(r.clock.Now()), "at the refund's time")
		}
	}
	assert.Empty(t, r.events.Of(referral.EventReversed))

	r.deliver(r.refundOf("499.00"))
	pendingAmounts(t, r, "50.00", "15.00", "25.00")
	r.stats("A", "65.00", "65.00")
	r.stats("Z", "25.00", "25.00")
	assert.Len(t, r.events.Of(referral.EventReduced), 6, "one per entry and refunded total")

	r.deliver(r.refundOf("500.00"))
	assert.Empty(t, r.entries(referral.EntryPending))
	reversed := r.entries(referral.EntryReversed)
	require.Len(t, reversed, 3)
	r.stats("A", "0", "130.00")
	r.stats("Z", "0", "50.00")
	reversedSum(t, r, "180.00") // the Gross of each: 100 + 30 + 50

	r.clock.Advance(30 * day)
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Zero(t, res.Settled)
	assert.Empty(t, r.rewards.Calls())
}

// Settle pays what is left of a partially refunded entry; a refund after
// the return window changes nothing.
func TestSettlePaysReducedAmount(t *testing.T) {
	r := partialRig(t)
	r.deliver(r.refundOf("1.00"))
	r.clock.Advance(7 * day)
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 3, res.Settled)
	assert.True(t, res.Amount.Equal(scrm.Yuan("179.82")), res.Amount.String()) // 99.90 + 29.97 + 49.95
	assert.True(t, r.rewards.sum("A", scrm.RewardStoredValue).Equal(scrm.Yuan("129.87")))
	assert.True(t, r.rewards.sum("Z", scrm.RewardStoredValue).Equal(scrm.Yuan("49.95")))

	r.deliver(r.refundOf("999.00"))
	assert.Len(t, r.entries(referral.EntrySettled), 3)
	r.stats("A", "0", "0.13")
	assert.Len(t, r.events.Of(referral.EventReduced), 3, "nothing more")
	assert.Empty(t, r.events.Of(referral.EventReversed))
}

// A refund event delivered again through the Dispatcher is counted once,
// and an EventReduced whose publish failed is published by the
// redelivery; a refund with another ID counts again.
func TestRedeliveredPartialRefundCountsOnce(t *testing.T) {
	r := partialRig(t, withFlaky(referral.EventReduced))
	ref := r.refundOf("100.00")
	require.ErrorIs(t, r.dispatch.Publish(r.ctx, ref), scrm.ErrUnavailable, "a publish failed")
	pendingAmounts(t, r, "90.00", "27.00", "45.00")
	for range 3 {
		r.deliver(ref)
	}
	pendingAmounts(t, r, "90.00", "27.00", "45.00")
	assert.Len(t, r.events.Of(referral.EventReduced), 3, "every entry's event, once the redelivery published the failed one")

	second := r.refundOf("100.00") // another refund of ¥100
	require.ErrorIs(t, r.dispatch.Publish(r.ctx, second), scrm.ErrUnavailable)
	r.deliver(second)
	pendingAmounts(t, r, "80.00", "24.00", "40.00")
	assert.Len(t, r.events.Of(referral.EventReduced), 6)
}

// A partial refund delivered before the order reduces the entries the
// order creates, and publishes their EventReduced then.
func TestPartialRefundBeforeOrderReducesLaterEntries(t *testing.T) {
	r := newRig(t)
	r.save(partialProgram())
	r.mustBind("A", "Z")
	r.mustBind("B", "A")
	r.clock.Advance(day)
	pay := r.order("B", scrm.EventOrderPaid, "1000.00", "o1")
	ref := r.refundOf("250.00")
	ref.Time = pay.Time.Add(1)
	r.deliver(ref)
	assert.Empty(t, r.events.Of(referral.EventReduced), "no entries yet")
	r.deliver(pay)
	pendingAmounts(t, r, "75.00", "22.50", "37.50")
	reduced := r.events.Of(referral.EventReduced)
	require.Len(t, reduced, 3)
	for _, e := range reduced {
		assert.True(t, e.Time.Equal(ref.Time), "at the refund's time")
	}
	require.NoError(t, r.svc.Handle(r.ctx, pay)) // a redelivery republishes, nothing new
	assert.Len(t, r.events.Of(referral.EventReduced), 3)
	pendingAmounts(t, r, "75.00", "22.50", "37.50")
}

// A refund event without an Amount refunds the whole order, as before.
func TestRefundWithoutAmountReversesAll(t *testing.T) {
	r := partialRig(t)
	r.deliver(r.refundOf("1.00"))
	r.deliver(r.refundOf("0"))
	assert.Empty(t, r.entries(referral.EntryPending))
	assert.Len(t, r.entries(referral.EntryReversed), 3)
	reversedSum(t, r, "180.00")
	r.stats("A", "0", "130.00")
}

// reversedSum asserts the distinct EventReversed published: one per entry
// (3), their Amounts adding up to total.
func reversedSum(t *testing.T, r *rig, total string) {
	t.Helper()
	evs := r.events.Of(referral.EventReversed)
	sum := scrm.Yuan("0")
	for _, e := range evs {
		sum = sum.Add(e.Amount)
	}
	assert.Len(t, evs, 3)
	assert.True(t, sum.Equal(scrm.Yuan(total)), "events add up to %s, want %s", sum, total)
}
