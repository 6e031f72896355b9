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

// An order paid (and earned) long before the Rolling window never counted
// in it; refunding it must not take growth from the months in the window.
func TestRollingRefundOfOrderOutsideWindow(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.TierPolicy = member.TierPolicy{Kind: member.Rolling, Months: 3}
	f := newFixture(t, p)
	// A late order.paid: paid 5 months ago (October 2025), outside the window (Jan–Mar 2026).
	_, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "old", OrderID: "old",
		Amount: dec("400.00"), At: time.Date(2025, 10, 2, 10, 0, 0, 0, shanghai)})
	require.NoError(t, err)
	f.earn(t, "c1", "new", "600.00")
	a := f.account(t, "c1")
	require.Equal(t, int64(600), a.TierGrowth)
	require.Equal(t, "silver", a.Tier)

	f.refund(t, "c1", "rf", "old", "400.00")
	a = f.account(t, "c1")
	assert.Equal(t, int64(600), a.Growth)
	assert.Equal(t, int64(600), a.TierGrowth, "the refunded order's growth was never in the window")
	assert.Equal(t, "silver", a.Tier)
}

// A replayed Hold returns the original result, even after the redeem rule
// changed: the hold record keeps the value it was placed at.
func TestHoldReplayValueAfterProgramChange(t *testing.T) {
	ctx := context.Background()
	p := standard()
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "1000.00")
	req := member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "o2", Points: 500, OrderAmount: dec("100.00")}
	first, err := f.svc.Hold(ctx, req)
	require.NoError(t, err)
	require.True(t, dec("5.00").Equal(first.Value))

	p.Redeem.PointsPerYuan = 50
	p.Redeem.Step = 50
	_, err = f.svc.PutProgram(ctx, p)
	require.NoError(t, err)

	again, err := f.svc.Hold(ctx, req)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	h, err := f.store.Hold(ctx, tenant, first.HoldID)
	require.NoError(t, err)
	assert.True(t, h.Value.Equal(again.Value), "replay value %s, hold record %s", again.Value, h.Value)
	assert.True(t, first.Value.Equal(again.Value), "replay value %s, original %s", again.Value, first.Value)
}

// Program.Validate accepts Expiry.Periods up to 1200 for every unit; 300
// years is valid, so points earned under it must not expire at once.
func TestLongEndOfPeriodExpiryStaysInRange(t *testing.T) {
	p := standard()
	p.Tiers = nil
	p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: 300}
	require.NoError(t, p.Validate())
	f := newFixture(t, p)
	r := f.earn(t, "c1", "o1", "100.00")
	assert.Equal(t, int64(100), r.Points)
	assert.Equal(t, int64(100), r.Balance.Points, "points earned with a 300-year expiry are spendable")
	t.Logf("ExpiresAt %s", r.ExpiresAt)
	assert.Equal(t, int64(100), f.account(t, "c1").Points)
}

// Under Rolling, growth taken by an operator (newest month first) and then
// by a refund of the order of that month must not leave the window with
// more growth than the account has.
func TestRollingWindowNeverExceedsGrowth(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.TierPolicy = member.TierPolicy{Kind: member.Rolling, Months: 3}
	f := newFixture(t, p)
	_, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "feb", OrderID: "feb",
		Amount: dec("1000.00"), At: time.Date(2026, 2, 10, 10, 0, 0, 0, shanghai)})
	require.NoError(t, err)
	f.earn(t, "c1", "mar", "600.00")
	_, err = f.svc.Adjust(ctx, member.AdjustRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "adj", Growth: -600,
		Reason: "correction", Operator: "op"})
	require.NoError(t, err)
	f.refund(t, "c1", "rf", "mar", "600.00")
	a := f.account(t, "c1")
	assert.Equal(t, int64(400), a.Growth)
	assert.LessOrEqual(t, a.TierGrowth, a.Growth, "the window cannot hold more growth than the account")
	assert.Equal(t, "normal", a.Tier, "400 growth in all qualifies for 普卡 only")
}

// "A full refund undoes exactly everything": points spent on the order
// after a partial refund (a hold captured later) must come back in full
// when the rest of the order is refunded.
func TestFullRefundAfterLateCaptureReturnsAllSpent(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Tiers = nil
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "10000.00")
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h", OrderID: "o2",
		Points: 1000, OrderAmount: dec("110.00")})
	require.NoError(t, err)
	_, err = f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "o2", OrderID: "o2", Amount: dec("100.00")})
	require.NoError(t, err)
	r1 := f.refund(t, "c1", "rf1", "o2", "50.00") // an item returned before shipment
	_, err = f.svc.Capture(ctx, tenant, h.HoldID) // the rest ships: the hold is captured
	require.NoError(t, err)
	r2 := f.refund(t, "c1", "rf2", "o2", "50.00") // then the rest is refunded too
	assert.Equal(t, int64(1000), r1.Returned+r2.Returned, "the whole order was refunded: every spent point comes back")
	assert.Equal(t, int64(100), r1.Clawed+r2.Clawed)
	a := f.account(t, "c1")
	assert.Equal(t, int64(10000), a.Points, "back to what o1 earned")
}

func nyFixture(t *testing.T, p member.Program, now time.Time) *fixture {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	f := &fixture{store: member.NewMemoryStore(), clock: scrmtest.NewClock(now), events: &events{}, grants: &grants{},
		profiles: scrm.NewMemoryProfileStore()}
	f.svc = member.New(f.store, f.profiles, &member.Options{
		Options:  scrm.Options{Clock: f.clock, Publisher: f.events, Location: ny},
		Rewarder: f.grants,
	})
	f.grants.to = f.svc
	_, err = f.svc.PutProgram(context.Background(), p)
	require.NoError(t, err)
	return f
}

// Passing edge cases kept: member day and event per-day caps on the day New
// York springs forward, a Validity period started on a leap day.
func TestMemberDayAndCapsInNewYork(t *testing.T) {
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	p := standard()
	p.Tiers = nil
	p.Earn.MemberDays = []member.MemberDay{{Weekday: time.Sunday, Multiplier: dec("2")}}
	p.Earn.Events = []member.EventRule{{Type: "review", Points: 10, PerDay: 1}}
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 1}
	// Sunday 8 March 2026 23:30 EDT (DST began 02:00 that day) = Monday 03:30 UTC.
	at := time.Date(2026, 3, 8, 23, 30, 0, 0, ny)
	f := nyFixture(t, p, at.Add(time.Minute))
	r, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "o1", OrderID: "o1", Amount: dec("100"), At: at})
	require.NoError(t, err)
	assert.Equal(t, int64(200), r.Points, "Sunday in New York")
	assert.True(t, time.Date(2026, 3, 10, 0, 0, 0, 0, ny).Equal(r.ExpiresAt), "%s", r.ExpiresAt)
	// Event caps per New York day.
	for i, tm := range []time.Time{at, at.Add(10 * time.Minute), at.Add(31 * time.Minute)} {
		ev := scrm.Event{ID: "e" + string(rune('a'+i)), Tenant: tenant, Customer: "c1", Type: "review", Time: tm}
		f.clock.Set(tm.Add(time.Second))
		require.NoError(t, f.svc.Handle(ctx, ev))
	}
	a := f.account(t, "c1")
	assert.Equal(t, int64(220), a.Points)
}

func TestValidityLeapDayNY(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p := standard()
	p.TierPolicy = member.TierPolicy{Kind: member.Validity, Months: 12}
	f := nyFixture(t, p, time.Date(2024, 2, 29, 22, 0, 0, 0, ny))
	f.earn(t, "c1", "o1", "600")
	a := f.account(t, "c1")
	assert.True(t, time.Date(2025, 3, 1, 0, 0, 0, 0, ny).Equal(a.TierValidUntil), "%s", a.TierValidUntil)
}

// Orders earned while the policy was Cumulative never counted in the
// Rolling window that followed; refunding them leaves the window alone.
func TestRollingRefundOfOrderBeforeSwitch(t *testing.T) {
	ctx := context.Background()
	p := standard()
	f := newFixture(t, p)
	f.earn(t, "c1", "old", "400.00")
	p.TierPolicy = member.TierPolicy{Kind: member.Rolling, Months: 3}
	_, err := f.svc.PutProgram(ctx, p)
	require.NoError(t, err)
	f.earn(t, "c1", "new", "600.00")
	a := f.account(t, "c1")
	require.Equal(t, int64(600), a.TierGrowth)
	require.Equal(t, "silver", a.Tier)

	f.refund(t, "c1", "rf", "old", "400.00")
	a = f.account(t, "c1")
	assert.Equal(t, int64(600), a.Growth)
	assert.Equal(t, int64(600), a.TierGrowth, "the refunded order's growth was never in the window")
	assert.Equal(t, "silver", a.Tier)
}

// A replayed Redeem returns the value the points paid when it ran.
func TestRedeemReplayValueAfterProgramChange(t *testing.T) {
	ctx := context.Background()
	p := standard()
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "1000.00")
	req := member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r1", OrderID: "o2", Points: 500, OrderAmount: dec("100.00")}
	first, err := f.svc.Redeem(ctx, req)
	require.NoError(t, err)
	require.True(t, dec("5.00").Equal(first.Value))

	p.Redeem.PointsPerYuan = 50
	p.Redeem.Step = 50
	_, err = f.svc.PutProgram(ctx, p)
	require.NoError(t, err)

	again, err := f.svc.Redeem(ctx, req)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	assert.True(t, first.Value.Equal(again.Value), "replay value %s, original %s", again.Value, first.Value)
}

// Expiry.Periods is bounded per unit (300 years at most), and an expiry
// past 2200 is 1 January 2200 in the tenant's zone.
func TestExpiryPeriodsBounds(t *testing.T) {
	for _, tc := range []struct {
		unit    member.PeriodUnit
		periods int
		ok      bool
	}{
		{member.Year, 300, true},
		{member.Year, 301, false},
		{member.Quarter, 1200, true},
		{member.Quarter, 1201, false},
		{member.Month, 1200, true},
		{member.Month, 1201, false},
	} {
		p := standard()
		p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: tc.unit, Periods: tc.periods}
		err := p.Validate()
		if tc.ok {
			assert.NoError(t, err, "%s %d", tc.unit, tc.periods)
			continue
		}
		assert.ErrorIs(t, err, scrm.ErrInvalid, "%s %d", tc.unit, tc.periods)
		var se *scrm.Error
		if assert.ErrorAs(t, err, &se) {
			assert.Equal(t, "Expiry.Periods", se.Field)
		}
	}
	earned := time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)
	for _, r := range []member.ExpiryRule{
		{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: 300},
		{Kind: member.ExpireEndOfPeriod, Unit: member.Quarter, Periods: 1200},
	} {
		got := r.ExpiresAt(earned, shanghai)
		assert.True(t, time.Date(2200, 1, 1, 0, 0, 0, 0, shanghai).Equal(got), "%v: %s", r, got)
	}
	r := member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: 100}
	assert.True(t, time.Date(2127, 1, 1, 0, 0, 0, 0, shanghai).Equal(r.ExpiresAt(earned, shanghai)), "unclamped below 2200")
}
