package member_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

const raceTenant scrm.TenantID = "race"

// raceStart is a Monday, 10:00 in Shanghai.
var raceStart = time.Date(2026, 3, 2, 10, 0, 0, 0, scrm.DefaultLocation())

// gatedCoupons records coupon grants; the first coupon
// grant made while armed signals entered (with its customer) and waits for
// release before it is recorded.
type gatedCoupons struct {
	mu      sync.Mutex
	all     []scrm.Grant
	armed   bool
	entered chan scrm.CustomerID
	release chan struct{}
}

func (c *gatedCoupons) Grant(_ context.Context, g scrm.Grant) error {
	c.mu.Lock()
	block := c.armed
	c.armed = false
	c.mu.Unlock()
	if block {
		c.entered <- g.Customer
		<-c.release
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, g)
	return nil
}

// keys returns the distinct coupon grant keys of a customer.
func (c *gatedCoupons) keys(cu scrm.CustomerID) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, g := range c.all {
		if g.Customer == cu {
			out[g.IdempotencyKey] = true
		}
	}
	return out
}

// recordedEvents records published events.
type recordedEvents struct {
	mu  sync.Mutex
	all []scrm.Event
}

func (e *recordedEvents) Publish(_ context.Context, ev scrm.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	return nil
}

func (e *recordedEvents) of(typ string, cu scrm.CustomerID) []scrm.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []scrm.Event
	for _, ev := range e.all {
		if ev.Type == typ && ev.Customer == cu {
			out = append(out, ev)
		}
	}
	return out
}

type raceFixture struct {
	events  *recordedEvents
	svc     *member.Service
	store   member.Store
	clock   *scrmtest.Clock
	coupons *gatedCoupons
}

func newRaceFixture(t *testing.T, store member.Store, rewarder func(svc *member.Service, router *scrm.RewardRouter)) *raceFixture {
	t.Helper()
	if store == nil {
		store = member.NewMemoryStore()
	}
	f := &raceFixture{store: store, clock: scrmtest.NewClock(raceStart), events: &recordedEvents{},
		coupons: &gatedCoupons{entered: make(chan scrm.CustomerID, 1), release: make(chan struct{})}}
	router := scrm.NewRewardRouter()
	f.svc = member.New(store, nil, &member.Options{Options: scrm.Options{Clock: f.clock, Publisher: f.events}, Rewarder: router})
	router.Route(scrm.RewardPoints, f.svc)
	router.Route(scrm.RewardGrowth, f.svc)
	router.Route(scrm.RewardStoredValue, f.svc)
	router.Route(scrm.RewardCoupon, f.coupons)
	if rewarder != nil {
		rewarder(f.svc, router)
	}
	_, err := f.svc.PutProgram(context.Background(), member.Program{Tenant: raceTenant,
		Tiers:  []member.Tier{{ID: "normal", Name: "普卡"}},
		Growth: member.GrowthRule{PerYuan: decimal.NewFromInt(1)},
		Earn:   member.EarnRule{PointsPerYuan: decimal.NewFromInt(1)},
		Redeem: member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, Step: 100}})
	require.NoError(t, err)
	return f
}

// subscribeAndRunToMidMarch subscribes A and B to the monthly plan and
// runs the plans on 9 and 16 March (the Day 7 and Day 14 tranches).
func (f *raceFixture) subscribeAndRunToMidMarch(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, c := range []scrm.CustomerID{"A", "B"} {
		_, err := f.svc.Subscribe(ctx, member.SubscribeRequest{Tenant: raceTenant, Customer: c, Plan: "monthly",
			IdempotencyKey: "sub-" + string(c), Paid: decimal.NewFromInt(18)})
		require.NoError(t, err)
	}
	for _, d := range []int{9, 16} {
		f.clock.Set(time.Date(2026, 3, d, 0, 5, 0, 0, scrm.DefaultLocation()))
		_, err := f.svc.RunPlans(ctx, raceTenant)
		require.NoError(t, err)
	}
}

// stalledRun starts a RunPlans whose first coupon grant blocks until
// f.coupons.release is closed; it returns the run's result channel and the
// customer the run has not reached yet.
func (f *raceFixture) stalledRun(ctx context.Context) (chan error, scrm.CustomerID) {
	f.coupons.mu.Lock()
	f.coupons.armed = true
	f.coupons.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := f.svc.RunPlans(ctx, raceTenant)
		done <- err
	}()
	other := scrm.CustomerID("B")
	if first := <-f.coupons.entered; first == "B" {
		other = "A"
	}
	return done, other
}

// raceMonthly: ¥18 a month, a coupon on days 0, 7, 14 and 21 of each
// membership month.
func raceMonthly() member.Plan {
	tr := func(d int) member.Tranche {
		return member.Tranche{Day: d, Rewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c-17.50"}}}
	}
	return member.Plan{Tenant: raceTenant, ID: "monthly", Name: "月卡", Price: decimal.NewFromInt(18),
		Period:   member.PlanPeriod{Months: 1},
		Benefits: member.Benefits{Discount: decimal.RequireFromString("0.8"), CouponPack: []member.Tranche{tr(0), tr(7), tr(14), tr(21)}}}
}

// TestRunPlansReleasesNoTrancheDueAfterConcurrentCancel: Cancel only cuts
// the term's End to now, so nothing due from then on is released, not even
// by a RunPlans that listed the membership before the cancellation ("Cancel
// only cuts the term's End to now, so nothing due from now on is";
// "Cancelled terms ... release no more tranches"). Here the run lists
// customers A and B at 23:59:50 on 15 March (both owe the Day 7 tranche of
// 9 March), the grant for the first member is slow, B cancels at 23:59:55,
// and the run gets to B at 00:00:05 on 16 March: it judges B at its start
// (23:59:50), so it releases the Day 7 tranche but not the Day 14 one due
// at 00:00 on 16 March, after the cancellation. B gets 2 coupons, as
// without the interleaving (cancel, then a run), not a third for a
// membership already cancelled and, with ProRata, refunded.
func TestRunPlansReleasesNoTrancheDueAfterConcurrentCancel(t *testing.T) {
	ctx := context.Background()
	f := newRaceFixture(t, nil, nil)
	_, err := f.svc.PutPlan(ctx, raceMonthly())
	require.NoError(t, err)
	for _, c := range []scrm.CustomerID{"A", "B"} {
		_, err := f.svc.Subscribe(ctx, member.SubscribeRequest{Tenant: raceTenant, Customer: c, Plan: "monthly",
			IdempotencyKey: "sub-" + string(c), Paid: decimal.NewFromInt(18)})
		require.NoError(t, err)
		require.Len(t, f.coupons.keys(c), 1, "tranche 0 at once")
	}
	loc := scrm.DefaultLocation()
	f.clock.Set(time.Date(2026, 3, 15, 23, 59, 50, 0, loc))

	done, other := f.stalledRun(ctx)
	f.clock.Set(time.Date(2026, 3, 15, 23, 59, 55, 0, loc))
	c, err := f.svc.Cancel(ctx, member.CancelRequest{Tenant: raceTenant, Customer: other, IdempotencyKey: "cancel", ProRata: true})
	require.NoError(t, err)
	require.True(t, c.Refund.IsPositive())
	f.clock.Set(time.Date(2026, 3, 16, 0, 0, 5, 0, loc))
	close(f.coupons.release)
	require.NoError(t, <-done)

	// Tranche 0 (2 March) and the Day 7 tranche (9 March) fell due before
	// the cancellation; the Day 14 tranche (16 March 00:00) after it.
	require.Len(t, f.coupons.keys(other), 2, "customer %s cancelled at 23:59:55 got the tranche due at 00:00 after it: %v", other, f.coupons.keys(other))
}

// TestRunPlansDoesNotEndMembershipRenewedDuringRun: a customer who renews
// before the end gets no member.plan_ended with reason "expired", even from
// a RunPlans that listed the membership before the renewal: a renewal (a
// term starting exactly when the last ends) runs on without a gap (see
// RunPlans and hasSuccessor). Here the run lists A and B at 09:59:50 on 2
// April (both owe the Day 21 tranche of 23 March), the grant for the first
// is slow, B renews at 09:59:55 (the new term starts at 10:00, the old
// one's End), and the run gets to B at 10:00:05: it judges B at its start,
// before the end, and the membership as stored has the renewal, so no
// "your membership expired" goes to a paying member.
func TestRunPlansDoesNotEndMembershipRenewedDuringRun(t *testing.T) {
	ctx := context.Background()
	f := newRaceFixture(t, nil, nil)
	_, err := f.svc.PutPlan(ctx, raceMonthly())
	require.NoError(t, err)
	// Runs on 9 and 16 March; none after, so the Day 21 tranche (23 March)
	// is owed.
	f.subscribeAndRunToMidMarch(t, ctx)
	loc := scrm.DefaultLocation()
	f.clock.Set(time.Date(2026, 4, 2, 9, 59, 50, 0, loc))

	done, other := f.stalledRun(ctx)
	f.clock.Set(time.Date(2026, 4, 2, 9, 59, 55, 0, loc))
	r, err := f.svc.Subscribe(ctx, member.SubscribeRequest{Tenant: raceTenant, Customer: other, Plan: "monthly",
		IdempotencyKey: "renew-" + string(other), Paid: decimal.NewFromInt(18)})
	require.NoError(t, err)
	require.True(t, r.Term.Start.Equal(time.Date(2026, 4, 2, 10, 0, 0, 0, loc)), "the renewal starts at the end: %s", r.Term.Start)
	f.clock.Set(time.Date(2026, 4, 2, 10, 0, 5, 0, loc))
	close(f.coupons.release)
	require.NoError(t, <-done)

	m, err := f.svc.Membership(ctx, raceTenant, other)
	require.NoError(t, err)
	require.True(t, m.Active, "the renewal runs")
	require.Empty(t, f.events.of(member.EventPlanEnded, other), "customer %s renewed before the end, yet plan_ended was published", other)
}

// TestRunPlansDoesNotSettleTermCancelledDuringRun: the money side.
// Cancelled terms get no break-even settlement (and with ProRata the unused
// time is refunded), also when the cancellation comes while a RunPlans that
// listed the membership before it is under way. The run lists A and B at
// 09:59:50 on 2 April, the grant for the first is slow, B cancels with
// ProRata at 09:59:55, and the run gets to B after 10:10:00 (the end plus
// the settlement delay of 2×FutureTolerance): it must not grant B the
// break-even guarantee (¥18 − ¥0 saved of stored value) nor record the
// cancelled term as settled. B's stored value stays 0.
func TestRunPlansDoesNotSettleTermCancelledDuringRun(t *testing.T) {
	ctx := context.Background()
	f := newRaceFixture(t, nil, nil)
	p := raceMonthly()
	p.Benefits.BreakEven = true
	_, err := f.svc.PutPlan(ctx, p)
	require.NoError(t, err)
	f.subscribeAndRunToMidMarch(t, ctx)
	loc := scrm.DefaultLocation()
	f.clock.Set(time.Date(2026, 4, 2, 9, 59, 50, 0, loc))

	done, other := f.stalledRun(ctx)
	f.clock.Set(time.Date(2026, 4, 2, 9, 59, 55, 0, loc))
	_, err = f.svc.Cancel(ctx, member.CancelRequest{Tenant: raceTenant, Customer: other, IdempotencyKey: "cancel", ProRata: true})
	require.NoError(t, err)
	f.clock.Set(time.Date(2026, 4, 2, 10, 10, 5, 0, loc))
	close(f.coupons.release)
	require.NoError(t, <-done)

	b, err := f.svc.Balance(ctx, raceTenant, other)
	require.NoError(t, err)
	require.True(t, b.Total().IsZero(), "customer %s cancelled before the end, yet got %s of break-even stored value", other, b.Total())
}

// TestOverlappingRunPlansCountEachTrancheOnce: PlanRunResult counts only
// what the run recorded. Two runs overlap: the first lists A and B and is
// slow granting to the first; the second runs meanwhile and records both
// Day 7 tranches; the first then finds each membership changed since it
// read it, computes again from the membership as stored (nothing left) and
// counts nothing. Each tranche is released once and counted once in all.
func TestOverlappingRunPlansCountEachTrancheOnce(t *testing.T) {
	ctx := context.Background()
	f := newRaceFixture(t, nil, nil)
	_, err := f.svc.PutPlan(ctx, raceMonthly())
	require.NoError(t, err)
	for _, c := range []scrm.CustomerID{"A", "B"} {
		_, err := f.svc.Subscribe(ctx, member.SubscribeRequest{Tenant: raceTenant, Customer: c, Plan: "monthly",
			IdempotencyKey: "sub-" + string(c), Paid: decimal.NewFromInt(18)})
		require.NoError(t, err)
	}
	f.clock.Set(time.Date(2026, 3, 9, 0, 5, 0, 0, scrm.DefaultLocation()))

	f.coupons.mu.Lock()
	f.coupons.armed = true
	f.coupons.mu.Unlock()
	type result struct {
		r   member.PlanRunResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := f.svc.RunPlans(ctx, raceTenant)
		done <- result{r, err}
	}()
	<-f.coupons.entered
	second, err := f.svc.RunPlans(ctx, raceTenant)
	require.NoError(t, err)
	close(f.coupons.release)
	first := <-done
	require.NoError(t, first.err)

	for _, c := range []scrm.CustomerID{"A", "B"} {
		require.Len(t, f.coupons.keys(c), 2, "customer %s: tranches 0 and 1", c)
	}
	require.Equal(t, 2, second.Tranches, "the second run recorded both tranches")
	require.Equal(t, 0, first.r.Tranches, "the first run recorded none of them")
	require.Equal(t, 2, first.r.Members, "both memberships were visited")
	require.Zero(t, first.r.Failed)
}
