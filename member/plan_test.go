package member_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// monthly is the plan of the issue: ¥18 a month, a 7-day trial, 8折 on
// everything, an extra 85折 on Fridays, double points, ¥70 of coupons in four
// weekly tranches, 100 points on the birthday and the break-even guarantee.
func monthly() member.Plan {
	return member.Plan{
		Tenant: tenant, ID: "monthly", Name: "月卡", Price: dec("18"), Period: member.PlanPeriod{Months: 1}, TrialDays: 7,
		Benefits: member.Benefits{
			Discount:         dec("0.8"),
			Weekly:           []member.WeeklyRate{{Weekday: time.Friday, Rate: dec("0.85")}},
			PointsMultiplier: dec("2"),
			CouponPack: []member.Tranche{
				{Day: 0, Rewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c-17.50"}}},
				{Day: 7, Rewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c-17.50"}}},
				{Day: 14, Rewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c-17.50"}}},
				{Day: 21, Rewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c-17.50"}}},
			},
			Birthday:  []scrm.Reward{{Kind: scrm.RewardPoints, Points: 100, Note: "生日礼"}},
			BreakEven: true,
		},
	}
}

func annual() member.Plan {
	return member.Plan{Tenant: tenant, ID: "annual", Name: "年卡", Price: dec("98"), Period: member.PlanPeriod{Months: 12},
		Benefits: member.Benefits{Discount: dec("0.9"), BreakEven: true}}
}

// planFixture routes points, growth and stored value to the service and
// records coupons (f.grants).
type planFixture struct {
	*fixture
	fail *failOnce
}

// failOnce fails the next coupon grant when armed.
type failOnce struct {
	mu    sync.Mutex
	armed bool
}

func (f *failOnce) take() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.armed
	f.armed = false
	return a
}

func newPlanFixture(t testing.TB, opts member.Options) *planFixture {
	t.Helper()
	return newPlanFixtureOn(t, member.NewMemoryStore(), opts)
}

// newPlanFixtureOn is newPlanFixture over store.
func newPlanFixtureOn(t testing.TB, store member.Store, opts member.Options) *planFixture {
	t.Helper()
	f := &fixture{store: store, clock: scrmtest.NewClock(start), events: &events{}, grants: &grants{},
		profiles: scrm.NewMemoryProfileStore()}
	pf := &planFixture{fixture: f, fail: &failOnce{}}
	router := scrm.NewRewardRouter()
	opts.Options = scrm.Options{Clock: f.clock, Publisher: f.events}
	opts.Rewarder = router
	f.svc = member.New(f.store, f.profiles, &opts)
	router.Route(scrm.RewardPoints, f.svc)
	router.Route(scrm.RewardGrowth, f.svc)
	router.Route(scrm.RewardStoredValue, f.svc)
	router.Route(scrm.RewardCoupon, scrm.RewarderFunc(func(ctx context.Context, g scrm.Grant) error {
		if pf.fail.take() {
			return scrm.Errorf(scrm.ErrUnavailable, "test", "coupon service down")
		}
		return f.grants.Grant(ctx, g)
	}))
	_, err := f.svc.PutProgram(bg, standard())
	require.NoError(t, err)
	for _, p := range []member.Plan{monthly(), annual()} {
		_, err = f.svc.PutPlan(bg, p)
		require.NoError(t, err)
	}
	return pf
}

// couponKeys returns the distinct keys of the coupons granted to c.
func (f *planFixture) couponKeys(c scrm.CustomerID) map[string]int {
	keys := map[string]int{}
	for _, g := range f.grants.list() {
		if g.Customer == c && g.Reward.Kind == scrm.RewardCoupon {
			keys[g.IdempotencyKey]++
		}
	}
	return keys
}

func (f *planFixture) run(t *testing.T) member.PlanRunResult {
	t.Helper()
	r, err := f.svc.RunPlans(bg, tenant)
	require.NoError(t, err)
	return r
}

func TestTrialThenPaidWithBreakEven(t *testing.T) {
	f := newPlanFixture(t, member.Options{})

	// A 7-day trial: the rates apply, the coupon pack does not.
	tr, err := f.svc.StartTrial(bg, member.TrialRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "trial-1"})
	require.NoError(t, err)
	assert.True(t, tr.Term.Trial)
	assert.True(t, tr.Membership.Active && tr.Membership.Trial)
	assert.Equal(t, start.AddDate(0, 0, 7), tr.Membership.End)
	_, err = f.svc.StartTrial(bg, member.TrialRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "trial-2"})
	requireField(t, err, scrm.ErrExhausted, "Plan")
	friday := time.Date(2026, 3, 6, 12, 0, 0, 0, shanghai)
	p, err := f.svc.PriceFor(bg, tenant, "C1", friday, dec("100"))
	require.NoError(t, err)
	assertDec(t, "68", p.Price, "100 × 0.8 × 0.85")
	assertDec(t, "32", p.Saved)
	assert.True(t, p.Trial)
	assert.Empty(t, f.couponKeys("C1"))

	// Day 3 of the trial the customer pays ¥18: the trial converts, the paid
	// month starts now and its first tranche is released at once.
	f.clock.Advance(3 * 24 * time.Hour) // Thursday 5 March 10:00
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "sub-1", Paid: dec("19.80")})
	requireField(t, err, scrm.ErrInvalid, "Paid")
	sub, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "sub-1", Paid: dec("18")})
	require.NoError(t, err)
	paidStart := f.clock.Now()
	assert.False(t, sub.Term.Trial)
	assert.True(t, paidStart.Equal(sub.Term.Start))
	assert.Equal(t, time.Date(2026, 4, 5, 10, 0, 0, 0, shanghai), sub.Term.End.In(shanghai))
	m := sub.Membership
	assert.True(t, m.Active && !m.Trial)
	assertDec(t, "18", m.Paid)
	assert.Len(t, f.couponKeys("C1"), 1, "tranche 0 at once")
	again, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "sub-1", Paid: dec("18")})
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, sub.Term, again.Term)

	// Double points on a ¥100 order; a half refund claws back half.
	e, err := f.svc.Earn(bg, member.EarnRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "o1", OrderID: "o1", Amount: dec("100")})
	require.NoError(t, err)
	assert.Equal(t, int64(200), e.Points)
	rf, err := f.svc.Refund(bg, member.RefundRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "rf1", OrderID: "o1", Amount: dec("50")})
	require.NoError(t, err)
	assert.Equal(t, int64(100), rf.Clawed)

	// The host reports ¥5.00 saved; the same report again changes nothing.
	sv, err := f.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("5.00")})
	require.NoError(t, err)
	assertDec(t, "5", sv.TermSaved)
	sv, err = f.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("5")})
	require.NoError(t, err)
	assert.True(t, sv.Replayed)
	_, err = f.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("6")})
	assert.ErrorIs(t, err, scrm.ErrConflict)

	// The weekly tranches, each once.
	for week := 1; week <= 3; week++ {
		f.clock.Set(dateAt(2026, 3, 5+7*week, 0, 1))
		r := f.run(t)
		assert.Equal(t, 1, r.Tranches, "week %d", week)
		assert.Zero(t, f.run(t).Tranches, "a second run releases nothing")
	}
	assert.Len(t, f.couponKeys("C1"), 4)

	// The month ends on 5 April 10:00; the break-even is settled ten
	// minutes later with ¥18 − ¥5 = ¥13 of stored value, and the
	// membership ends.
	f.clock.Set(time.Date(2026, 4, 5, 10, 5, 0, 0, shanghai))
	r := f.run(t)
	assert.Zero(t, r.Settlements+r.Tranches, "not before savings close; no tranche of a second month")
	f.clock.Set(time.Date(2026, 4, 5, 10, 10, 0, 0, shanghai))
	r = f.run(t)
	assert.Equal(t, 1, r.Settlements)
	assertDec(t, "13", r.Settled)
	assert.Equal(t, 1, r.Ended)
	b, err := f.svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "13", b.Bonus)
	assertDec(t, "0", b.Principal)
	r = f.run(t)
	assert.Zero(t, r.Members+r.Settlements+r.Ended, "nothing is due any more")
	m, err = f.svc.Membership(bg, tenant, "C1")
	require.NoError(t, err)
	assert.False(t, m.Active)
	assert.Len(t, eventIDs(f.events.ofType(member.EventPlanEnded)), 1)
	assert.Len(t, eventIDs(f.events.ofType(member.EventPlanStarted)), 2, "the replay republished under the same ID")
}

// eventIDs returns the distinct IDs of evs.
func eventIDs(evs []scrm.Event) map[string]bool {
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.ID] = true
	}
	return ids
}

func dateAt(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, shanghai)
}

func TestRenewalExtendsFromTheEnd(t *testing.T) {
	f := newPlanFixture(t, member.Options{})
	sub := func(key, plan, paid string) member.TermResult {
		t.Helper()
		r, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: plan, IdempotencyKey: key, Paid: dec(paid)})
		require.NoError(t, err)
		return r
	}
	first := sub("s1", "monthly", "18")
	f.clock.Advance(10 * 24 * time.Hour)
	second := sub("s2", "monthly", "18")
	assert.Equal(t, first.Term.End, second.Term.Start, "a renewal extends from the current end")
	assert.Equal(t, time.Date(2026, 5, 2, 10, 0, 0, 0, shanghai), second.Term.End.In(shanghai))
	third := sub("s3", "annual", "98")
	assert.Equal(t, second.Term.End, third.Term.Start, "another plan queues after it too")
	assert.Equal(t, time.Date(2027, 5, 2, 10, 0, 0, 0, shanghai), third.Term.End.In(shanghai))
	m := third.Membership
	assert.Equal(t, "monthly", m.Plan)
	assert.Equal(t, "月卡", m.PlanName)
	assert.Equal(t, time.Date(2027, 5, 2, 10, 0, 0, 0, shanghai), m.Until)
	assert.Len(t, m.Terms, 3)

	// While the annual term runs, the monthly benefits are gone and the
	// annual rate applies; no plan_ended between the terms.
	f.clock.Set(time.Date(2026, 5, 3, 10, 0, 0, 0, shanghai))
	r := f.run(t)
	assert.Zero(t, r.Ended)
	p, err := f.svc.PriceFor(bg, tenant, "C1", time.Time{}, dec("99.99"))
	require.NoError(t, err)
	assert.Equal(t, "annual", p.Plan)
	assertDec(t, "89.99", p.Price, "99.99 × 0.9 = 89.991")
	// Both monthly terms settled their break-even (nothing saved: ¥18 each).
	b, err := f.svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "36", b.Bonus)
}

func TestCancel(t *testing.T) {
	t.Run("no refund by default", func(t *testing.T) {
		f := newPlanFixture(t, member.Options{})
		_, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s1", Paid: dec("18")})
		require.NoError(t, err)
		f.clock.Advance(24 * time.Hour)
		c, err := f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1"})
		require.NoError(t, err)
		assert.True(t, c.Refund.IsZero())
		require.Len(t, c.Terms, 1)
		m, err := f.svc.Membership(bg, tenant, "C1")
		require.NoError(t, err)
		assert.False(t, m.Active)
		_, err = f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c2"})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing left to cancel")
		// A cancelled term releases nothing more and is never settled.
		f.clock.Advance(60 * 24 * time.Hour)
		r := f.run(t)
		assert.Zero(t, r.Tranches+r.Settlements+r.Ended)
		assert.Len(t, f.couponKeys("C1"), 1)
		b, err := f.svc.Balance(bg, tenant, "C1")
		require.NoError(t, err)
		assert.True(t, b.Total().IsZero())
		ended := f.events.ofType(member.EventPlanEnded)
		require.Len(t, ended, 1)
		assert.Equal(t, "cancelled", ended[0].Props["reason"])
	})
	t.Run("pro rata", func(t *testing.T) {
		f := newPlanFixture(t, member.Options{})
		for i, key := range []string{"s1", "s2"} {
			_, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: key, Paid: dec("98")})
			require.NoError(t, err, i)
		}
		// 2 March 2026 to 2 March 2027 is 365 days; 73 days in, 4/5 is
		// left: ¥78.40, and the renewal not started yet ¥98.
		f.clock.Advance(73 * 24 * time.Hour)
		c, err := f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1", ProRata: true})
		require.NoError(t, err)
		assertDec(t, "176.40", c.Refund)
		require.Len(t, c.Terms, 2)
		assert.Equal(t, int64(7840), c.Terms[0].Refund)
		assert.Equal(t, int64(9800), c.Terms[1].Refund)
		again, err := f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1", ProRata: true})
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		assertDec(t, "176.40", again.Refund)
		_, err = f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1"})
		assert.ErrorIs(t, err, scrm.ErrConflict)
	})
	t.Run("pro rata less saved", func(t *testing.T) {
		// Subscribe ¥98, save ¥30 at the member price, cancel at once:
		// the refund is ¥68, not ¥98 (退款扣除已享优惠); a term not started
		// yet saved nothing and comes back whole.
		f := newPlanFixture(t, member.Options{})
		for i, key := range []string{"s1", "s2"} {
			_, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: key, Paid: dec("98")})
			require.NoError(t, err, i)
		}
		_, err := f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c0", LessSaved: true})
		requireField(t, err, scrm.ErrInvalid, "LessSaved")
		_, err = f.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("30")})
		require.NoError(t, err)
		c, err := f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1", ProRata: true, LessSaved: true})
		require.NoError(t, err)
		require.Len(t, c.Terms, 2)
		assert.Equal(t, int64(6800), c.Terms[0].Refund)
		assert.Equal(t, int64(9800), c.Terms[1].Refund)
		assertDec(t, "166.00", c.Refund)
		_, err = f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1", ProRata: true})
		assert.ErrorIs(t, err, scrm.ErrConflict, "the same key without LessSaved is another request")

		// Savings above what is left refund nothing of the current term.
		g := newPlanFixture(t, member.Options{})
		_, err = g.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: "s1", Paid: dec("98")})
		require.NoError(t, err)
		_, err = g.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("120")})
		require.NoError(t, err)
		c, err = g.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "c1", ProRata: true, LessSaved: true})
		require.NoError(t, err)
		assert.True(t, c.Refund.IsZero(), "refund %s", c.Refund)
	})
}

func TestTrialExpires(t *testing.T) {
	f := newPlanFixture(t, member.Options{})
	_, err := f.svc.StartTrial(bg, member.TrialRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "t1"})
	require.NoError(t, err)
	_, err = f.svc.StartTrial(bg, member.TrialRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: "t2"})
	requireField(t, err, scrm.ErrInvalid, "Plan")
	f.clock.Advance(7*24*time.Hour - time.Second)
	assert.Zero(t, f.run(t).Ended)
	f.clock.Advance(time.Second)
	r := f.run(t)
	assert.Equal(t, 1, r.Ended)
	assert.Zero(t, r.Settlements, "trials are not settled")
	assert.Zero(t, f.run(t).Ended, "once")
	ended := f.events.ofType(member.EventPlanEnded)
	require.Len(t, ended, 1)
	assert.Equal(t, true, ended[0].Props["trial"])
	assert.Equal(t, "expired", ended[0].Props["reason"])
	m, err := f.svc.Membership(bg, tenant, "C1")
	require.NoError(t, err)
	assert.False(t, m.Active)
	assert.Equal(t, []string{"monthly"}, m.Trials)
	_, err = f.svc.StartTrial(bg, member.TrialRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "t3"})
	requireField(t, err, scrm.ErrExhausted, "Plan")
	// A paid member cannot start a trial.
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C2", Plan: "annual", IdempotencyKey: "s", Paid: dec("98")})
	require.NoError(t, err)
	_, err = f.svc.StartTrial(bg, member.TrialRequest{Tenant: tenant, Customer: "C2", Plan: "monthly", IdempotencyKey: "t4"})
	assert.ErrorIs(t, err, scrm.ErrConflict)
}

func TestBirthdayReward(t *testing.T) {
	f := newPlanFixture(t, member.Options{})
	// The birthday comes from the profile.
	_, _, err := scrm.UpdateProfile(bg, f.profiles, tenant, "C1", "attrs-1", func(p *scrm.Profile) error {
		p.SetAttr("birthday", "1990-03-10")
		return nil
	})
	require.NoError(t, err)
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s1", Paid: dec("18")})
	require.NoError(t, err)
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C2", Plan: "monthly", IdempotencyKey: "s2", Paid: dec("18"), Birthday: "02-29"})
	require.NoError(t, err)
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C3", Plan: "monthly", IdempotencyKey: "s3", Paid: dec("18"), Birthday: "13-01"})
	requireField(t, err, scrm.ErrInvalid, "Birthday")

	f.clock.Set(dateAt(2026, 3, 9, 23, 59))
	assert.Zero(t, f.run(t).Birthdays)
	f.clock.Set(dateAt(2026, 3, 10, 0, 0))
	assert.Equal(t, 1, f.run(t).Birthdays)
	assert.Zero(t, f.run(t).Birthdays, "once a year")
	assert.Equal(t, int64(100), f.account(t, "C1").Points)

	// C2 (29 February) renews for a year: in 2027 the birthday is 28
	// February.
	for i := 0; i < 12; i++ {
		_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C2", Plan: "monthly", IdempotencyKey: "r" + itoa(i), Paid: dec("18")})
		require.NoError(t, err)
	}
	f.clock.Set(dateAt(2027, 2, 27, 12, 0))
	r := f.run(t)
	assert.Zero(t, r.Birthdays)
	assert.Equal(t, 11+1, r.Settlements, "C2's eleven months that ended, and C1's one, were settled on the way")
	f.clock.Set(dateAt(2027, 2, 28, 0, 0))
	assert.Equal(t, 1, f.run(t).Birthdays)
	assert.Equal(t, int64(100), f.account(t, "C2").Points)
}

func TestPriceFor(t *testing.T) {
	prog := standard()
	prog.Tiers[1].Discount = dec("0.95") // 银卡 95折
	build := func(mode member.RateMode) *fixture {
		f := newPlanFixture(t, member.Options{PlanRates: mode}).fixture
		_, err := f.svc.PutProgram(bg, prog)
		require.NoError(t, err)
		f.earn(t, "C1", "o1", "600") // 银卡
		_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s1", Paid: dec("18")})
		require.NoError(t, err)
		return f
	}
	friday, saturday := dateAt(2026, 3, 6, 12, 0), dateAt(2026, 3, 7, 12, 0)
	tests := []struct {
		mode   member.RateMode
		at     time.Time
		amount string
		price  string
		rate   string
	}{
		{member.RatesMultiply, friday, "100", "64.60", "0.646"}, // 0.8 × 0.85 × 0.95
		{member.RatesMultiply, saturday, "100", "76", "0.76"},
		{member.RatesMultiply, saturday, "0.99", "0.75", "0.76"}, // 0.7524
		{member.BestRate, friday, "100", "80", "0.8"},
		{member.BestRate, saturday, "100", "80", "0.8"},
		{"", friday, "100", "64.60", "0.646"}, // the default multiplies
	}
	for _, tc := range tests {
		f := build(tc.mode)
		p, err := f.svc.PriceFor(bg, tenant, "C1", tc.at, dec(tc.amount))
		require.NoError(t, err)
		assertDec(t, tc.price, p.Price, tc.mode, tc.at.Weekday())
		assertDec(t, tc.rate, p.Rate, tc.mode)
		assert.True(t, p.Amount.Sub(p.Price).Equal(p.Saved))
		assert.Equal(t, "silver", p.Tier)
	}
	f := build(member.RatesMultiply)
	// Not a member, no account: the amount.
	p, err := f.svc.PriceFor(bg, tenant, "C9", friday, dec("100"))
	require.NoError(t, err)
	assertDec(t, "100", p.Price)
	assert.Empty(t, p.Plan)
	_, err = f.svc.PriceFor(bg, tenant, "C1", friday, dec("-1"))
	requireField(t, err, scrm.ErrInvalid, "amount")
}

func TestRecordSaving(t *testing.T) {
	f := newPlanFixture(t, member.Options{})
	_, err := f.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("1")})
	assert.ErrorIs(t, err, scrm.ErrNotFound, "not a member")
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s1", Paid: dec("18")})
	require.NoError(t, err)
	for _, tc := range []struct {
		req   member.SavingRequest
		field string
	}{
		{member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("-1")}, "Saved"},
		{member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("0.001")}, "Saved"},
		{member.SavingRequest{Tenant: tenant, Customer: "C1", Saved: dec("1")}, "OrderID"},
		{member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "o1", Saved: dec("1"), At: start.Add(time.Hour)}, "At"},
	} {
		_, err := f.svc.RecordSaving(bg, tc.req)
		requireField(t, err, scrm.ErrInvalid, tc.field)
	}
	// An order paid just before the end and reported just after counts;
	// later than FutureTolerance after the end it does not.
	end := time.Date(2026, 4, 2, 10, 0, 0, 0, shanghai)
	f.clock.Set(end.Add(2 * time.Minute))
	r, err := f.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "late", Saved: dec("3"), At: end.Add(-time.Minute)})
	require.NoError(t, err)
	assertDec(t, "3", r.TermSaved)
	f.clock.Set(end.Add(member.FutureTolerance))
	_, err = f.svc.RecordSaving(bg, member.SavingRequest{Tenant: tenant, Customer: "C1", OrderID: "later", Saved: dec("3"), At: end.Add(-time.Minute)})
	assert.ErrorIs(t, err, scrm.ErrExpired)
	f.clock.Set(end.Add(2 * member.FutureTolerance))
	assertDec(t, "15", f.run(t).Settled)
}

// TestPlanRunExactlyOnce: concurrent runs and a failing Rewarder never
// release a tranche or settle a term twice.
func TestPlanRunExactlyOnce(t *testing.T) {
	f := newPlanFixture(t, member.Options{})
	const members = 30
	for i := 0; i < members; i++ {
		c := scrm.CustomerID("C" + itoa(i))
		_, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: c, Plan: "monthly", IdempotencyKey: "s-" + string(c), Paid: dec("18")})
		require.NoError(t, err)
	}
	// A week later: one tranche each, with the coupon service failing once.
	f.clock.Set(dateAt(2026, 3, 9, 0, 0))
	f.fail.armed = true
	r, err := f.svc.RunPlans(bg, tenant)
	require.Error(t, err)
	assert.Equal(t, 1, r.Failed)
	assert.Equal(t, members-1, r.Tranches)
	r = f.run(t)
	assert.Equal(t, 1, r.Tranches, "the retry")
	// The month's end, with five runs racing.
	f.clock.Set(time.Date(2026, 4, 3, 0, 0, 0, 0, shanghai))
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.RunPlans(bg, tenant)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	for i := 0; i < members; i++ {
		c := scrm.CustomerID("C" + itoa(i))
		keys := f.couponKeys(c)
		assert.Len(t, keys, 4, "four tranches of one month")
		b, err := f.svc.Balance(bg, tenant, c)
		require.NoError(t, err)
		assertDec(t, "18", b.Bonus, "settled once")
	}
	assert.Len(t, eventIDs(f.events.ofType(member.EventPlanEnded)), members)
}

func TestPlanValidation(t *testing.T) {
	svc := member.New(nil, nil, nil)
	tests := []struct {
		name  string
		edit  func(p *member.Plan)
		field string
	}{
		{"no ID", func(p *member.Plan) { p.ID = "" }, "ID"},
		{"zero period", func(p *member.Plan) { p.Period = member.PlanPeriod{} }, "Period"},
		{"months and days", func(p *member.Plan) { p.Period.Days = 30 }, "Period"},
		{"negative period", func(p *member.Plan) { p.Period = member.PlanPeriod{Days: -30} }, "Period"},
		{"free", func(p *member.Plan) { p.Price = dec("0") }, "Price"},
		{"negative price", func(p *member.Plan) { p.Price = dec("-18") }, "Price"},
		{"price below the fen", func(p *member.Plan) { p.Price = dec("18.001") }, "Price"},
		{"negative trial", func(p *member.Plan) { p.TrialDays = -1 }, "TrialDays"},
		{"discount over 1", func(p *member.Plan) { p.Benefits.Discount = dec("1.2") }, "Benefits.Discount"},
		{"negative discount", func(p *member.Plan) { p.Benefits.Discount = dec("-0.8") }, "Benefits.Discount"},
		{"weekday twice", func(p *member.Plan) {
			p.Benefits.Weekly = append(p.Benefits.Weekly, member.WeeklyRate{Weekday: time.Friday, Rate: dec("0.9")})
		}, "Benefits.Weekly[1].Weekday"},
		{"zero weekly rate", func(p *member.Plan) { p.Benefits.Weekly[0].Rate = dec("0") }, "Benefits.Weekly[0].Rate"},
		{"multiplier below 1", func(p *member.Plan) { p.Benefits.PointsMultiplier = dec("0.5") }, "Benefits.PointsMultiplier"},
		{"tranche day 28", func(p *member.Plan) { p.Benefits.CouponPack[3].Day = 28 }, "Benefits.CouponPack[3].Day"},
		{"tranches out of order", func(p *member.Plan) { p.Benefits.CouponPack[1].Day = 0 }, "Benefits.CouponPack[1].Day"},
		{"empty tranche", func(p *member.Plan) { p.Benefits.CouponPack[0].Rewards = nil }, "Benefits.CouponPack[0].Rewards"},
		{"bad birthday reward", func(p *member.Plan) { p.Benefits.Birthday[0].Points = 0 }, "Benefits.Birthday[0].Points"},
		{"coupon without a rewarder", func(p *member.Plan) {}, "Benefits.CouponPack[0].Rewards[0].Kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := monthly()
			tc.edit(&p)
			_, err := svc.PutPlan(bg, p)
			requireField(t, err, scrm.ErrInvalid, tc.field)
		})
	}
	ps, err := svc.Plans(bg, tenant)
	require.NoError(t, err)
	assert.Empty(t, ps, "nothing written")

	// Versions: a new price applies to terms bought afterwards.
	f := newPlanFixture(t, member.Options{})
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: "s1", Paid: dec("98")})
	require.NoError(t, err)
	up := annual()
	up.Price = dec("198")
	v2, err := f.svc.PutPlan(bg, up)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v2.Version)
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: "s2", Paid: dec("98")})
	requireField(t, err, scrm.ErrInvalid, "Paid")
	r, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: "s2", Paid: dec("198")})
	require.NoError(t, err)
	assert.Equal(t, int64(2), r.Term.PlanVersion)
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "nope", IdempotencyKey: "s3", Paid: dec("1")})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	up.Retired = true
	_, err = f.svc.PutPlan(bg, up)
	require.NoError(t, err)
	_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "annual", IdempotencyKey: "s4", Paid: dec("198")})
	assert.ErrorIs(t, err, scrm.ErrForbidden)
	all, err := f.svc.Plans(bg, tenant)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "annual", all[0].ID)
	assert.Equal(t, int64(3), all[0].Version)
}

// planHooks is a Store that runs a hook, once, before the membership
// update with a given key (what happens between a request loading the
// plans and updating), counts PlansRevision calls, and can hide a plan
// version from Plans (one the store lost).
type planHooks struct {
	member.Store
	mu        sync.Mutex
	hooks     map[string]func()
	revisions atomic.Int64
	hide      atomic.Int64
}

func (s *planHooks) UpdateMembership(ctx context.Context, p member.MembershipParams, fn func(tx *member.MembershipTx) error) (member.MembershipOutcome, bool, error) {
	s.mu.Lock()
	h := s.hooks[p.IdempotencyKey]
	delete(s.hooks, p.IdempotencyKey)
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return s.Store.UpdateMembership(ctx, p, fn)
}

func (s *planHooks) PlansRevision(ctx context.Context, tn scrm.TenantID) (int64, error) {
	s.revisions.Add(1)
	return s.Store.PlansRevision(ctx, tn)
}

func (s *planHooks) Plans(ctx context.Context, tn scrm.TenantID) ([]member.Plan, error) {
	all, err := s.Store.Plans(ctx, tn)
	var out []member.Plan
	for _, p := range all {
		if p.Version != s.hide.Load() {
			out = append(out, p)
		}
	}
	return out, err
}

func (s *planHooks) on(key string, h func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		s.hooks = map[string]func(){}
	}
	s.hooks[key] = h
}

// TestSubscribeStalePlans: a renewal loaded the plans, then (before its
// update) the operator published a new version and the customer bought a
// month of it. The renewal's update finds a term of a version its plans
// do not know: it reloads them, so the membership stays due for that
// term's next tranche rather than only for the renewal's start.
func TestSubscribeStalePlans(t *testing.T) {
	store := &planHooks{Store: member.NewMemoryStore()}
	f := newPlanFixtureOn(t, store, member.Options{})
	store.on("renew", func() {
		_, err := f.svc.PutPlan(bg, monthly())
		require.NoError(t, err)
		_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "first", Paid: dec("18")})
		require.NoError(t, err)
	})
	r, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "renew", Paid: dec("18")})
	require.NoError(t, err)
	require.Len(t, r.Membership.Terms, 2)
	assert.Equal(t, int64(2), r.Membership.Terms[0].PlanVersion, "the month bought meanwhile")
	assert.Equal(t, int64(1), r.Term.PlanVersion, "the renewal, of the version it loaded")
	st, err := store.Membership(bg, tenant, "C1")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, shanghai), st.DueAt.In(shanghai), "the first month's second tranche")
	f.clock.Set(time.Date(2026, 3, 9, 0, 1, 0, 0, shanghai))
	assert.Equal(t, 1, f.run(t).Tranches)
	assert.Len(t, f.couponKeys("C1"), 2)
}

// TestCancelStalePlans: a cancellation loaded the plans, then (before its
// update) a month of a newer version was bought and ended, its break-even
// not yet settled, and a renewal started. The cancellation ends the
// renewal (whose day-0 tranche, due before it, is still released); the
// ended month stays due for its settlement.
func TestCancelStalePlans(t *testing.T) {
	store := &planHooks{Store: member.NewMemoryStore()}
	f := newPlanFixtureOn(t, store, member.Options{})
	var end time.Time
	store.on("cancel", func() {
		_, err := f.svc.PutPlan(bg, monthly())
		require.NoError(t, err)
		r, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s1", Paid: dec("18")})
		require.NoError(t, err)
		_, err = f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s2", Paid: dec("18")})
		require.NoError(t, err)
		end = r.Term.End
		f.clock.Set(end.Add(time.Minute))
	})
	c, err := f.svc.Cancel(bg, member.CancelRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "cancel"})
	require.NoError(t, err)
	require.Len(t, c.Terms, 1, "the renewal")
	st, err := store.Membership(bg, tenant, "C1")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, shanghai), st.DueAt.In(shanghai), "the first month's second tranche, computed with the plans reloaded")
	f.clock.Set(end.Add(time.Hour))
	r := f.run(t)
	// The renewal started at end, a minute before the cancellation: its
	// day-0 tranche fell due while it ran and is released too.
	assert.Equal(t, 4, r.Tranches, "the first month's tranches after the first, and the renewal's first")
	assert.Contains(t, f.couponKeys("C1"), "plan.tranche:C1:monthly:2:0:0", "the renewal's day-0 tranche")
	assert.Equal(t, 1, r.Settlements)
	b, err := f.svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "18", b.Bonus, "break-even settled")
}

// TestRunPlansLostPlanVersion: memberships with a term of a plan version
// the store lost are made due at once (every run retries them rather than
// forgetting a paid term), and the run reloads the plans once for the miss,
// not once per membership.
func TestRunPlansLostPlanVersion(t *testing.T) {
	store := &planHooks{Store: member.NewMemoryStore()}
	f := newPlanFixtureOn(t, store, member.Options{})
	_, err := f.svc.PutPlan(bg, monthly()) // version 2
	require.NoError(t, err)
	for i := range 3 {
		_, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: scrm.CustomerID(fmt.Sprint("C", i)), Plan: "monthly",
			IdempotencyKey: fmt.Sprint("s", i), Paid: dec("18")})
		require.NoError(t, err)
	}
	// A service with an empty cache over the store, which lost version 2.
	store.hide.Store(2)
	svc := member.New(store, nil, &member.Options{Options: scrm.Options{Clock: f.clock}, Rewarder: f.grants})
	f.clock.Set(time.Date(2026, 3, 9, 0, 1, 0, 0, shanghai))
	store.revisions.Store(0)
	r, err := svc.RunPlans(bg, tenant)
	require.NoError(t, err)
	assert.Equal(t, 3, r.Members)
	assert.Zero(t, r.Tranches, "nothing can be computed for a lost version")
	assert.Equal(t, int64(2), store.revisions.Load(), "the plans loaded, then reloaded once for the miss")
	for i := range 3 {
		st, err := store.Membership(bg, tenant, scrm.CustomerID(fmt.Sprint("C", i)))
		require.NoError(t, err)
		assert.True(t, st.DueAt.Equal(f.clock.Now()), "due at once, got %s", st.DueAt)
	}
	// Once the version is back, the next run catches up.
	store.hide.Store(0)
	_, err = f.svc.PutPlan(bg, annual()) // a new revision
	require.NoError(t, err)
	f.clock.Advance(time.Minute)
	r, err = svc.RunPlans(bg, tenant)
	require.NoError(t, err)
	assert.Equal(t, 3, r.Tranches)
}
