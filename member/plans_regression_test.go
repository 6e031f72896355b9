package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
)

// A coupon-pack tranche that came due while the term ran is released
// exactly once, whether RunPlans happened to run before a later Cancel or
// not: a tranche due at 00:00 and not yet released by the hourly RunPlans
// when the member cancels at 00:30 is released by the next run, like the
// birthday reward due at the same 00:00.
func TestCancelKeepsTrancheAlreadyDue(t *testing.T) {
	f := newPlanFixture(t, member.Options{})
	_, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly",
		IdempotencyKey: "s1", Paid: dec("18"), Birthday: "03-09"})
	require.NoError(t, err)
	require.Len(t, f.couponKeys("C1"), 1, "day 0 tranche at Subscribe")

	// The day-7 tranche (and the birthday) fall due at 00:00 on 9 March;
	// the member cancels at 00:30, before the scheduled RunPlans.
	f.clock.Set(dateAt(2026, 3, 9, 0, 30))
	_, err = f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1"})
	require.NoError(t, err)
	f.clock.Set(dateAt(2026, 3, 9, 1, 0))
	r := f.run(t)

	assert.Equal(t, 1, r.Birthdays, "the birthday due before the cancellation is granted")
	assert.Equal(t, int64(100), f.account(t, "C1").Points)
	assert.Len(t, f.couponKeys("C1"), 2,
		"the day-7 tranche came due at 00:00, while the term ran; it must be released like the birthday")
}

// member.plan_ended is published when a membership runs out, also when the
// customer buys a new term after a lapse but before RunPlans has closed the
// old one: only a term starting exactly at the old end (a renewal) is a
// successor, so the event does not depend on when RunPlans happened to run.
func TestPlanEndedAfterLapse(t *testing.T) {
	ended := func(runDuringLapse bool) int {
		f := newPlanFixture(t, member.Options{})
		_, err := f.svc.PutPlan(bg, member.Plan{Tenant: tenant, ID: "basic", Price: dec("10"), Period: member.PlanPeriod{Months: 1}})
		require.NoError(t, err)
		_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "basic", IdempotencyKey: "s1", Paid: dec("10")})
		require.NoError(t, err)
		// The term ends at 10:00 on 2 April; the member has none until
		// buying again at 10:20.
		if runDuringLapse {
			f.clock.Set(dateAt(2026, 4, 2, 10, 10))
			f.run(t)
		}
		f.clock.Set(dateAt(2026, 4, 2, 10, 20))
		_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "basic", IdempotencyKey: "s2", Paid: dec("10")})
		require.NoError(t, err)
		f.clock.Set(dateAt(2026, 4, 2, 10, 30))
		f.run(t)
		return len(f.events.ofType(member.EventPlanEnded))
	}
	require.Equal(t, 1, ended(true), "RunPlans during the lapse publishes plan_ended")
	assert.Equal(t, 1, ended(false), "the same lapse must publish plan_ended when RunPlans runs after the new Subscribe")
}

// Expiring accepts any positive window: one reaching past 2262, where
// UnixNano would overflow (e.g. math.MaxInt64, "everyone with expiring
// points"), is clamped to the ledger's last expiry and lists everyone.
func TestExpiringHugeWindow(t *testing.T) {
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 3}
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "10")
	for _, w := range []time.Duration{200 * 365 * 24 * time.Hour, 240 * 365 * 24 * time.Hour, time.Duration(1<<63 - 1)} {
		out, err := f.svc.Expiring(context.Background(), tenant, w)
		require.NoError(t, err)
		if assert.Len(t, out, 1, "within %s", w) {
			assert.Equal(t, int64(10), out[0].Points)
		}
	}
}
