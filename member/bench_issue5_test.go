package member_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// BenchmarkStoredValuePay: one proportional payment of ¥12.34 by one of 1000
// customers, each with ¥1,000,000 topped up (and ¥100 bonus), in the memory
// store: a new key and order each time.
func BenchmarkStoredValuePay(b *testing.B) {
	ctx := context.Background()
	_, svc := newValueService(b, member.PayProportional)
	const customers = 1000
	ids := make([]scrm.CustomerID, customers)
	for i := range ids {
		ids[i] = scrm.CustomerID("C" + itoa(i))
		topUp(b, svc, ids[i], "top-"+itoa(i), "1000000")
	}
	amount := dec("12.34")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := "pay-" + itoa(i)
		if _, err := svc.Pay(ctx, member.PayRequest{Tenant: tenant, Customer: ids[i%customers], IdempotencyKey: key, OrderID: key, Amount: amount}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckIn: the first check-in of the day of one of 1000 customers,
// on the ladder of the issue (5 points a day, 50 and a coupon on day 7,
// a 7-day cycle): the day is recorded and its points granted through the
// Rewarder (a router: points to the service itself, into the points ledger;
// coupons to a no-op). Each round of 1000 ops is the next day.
func BenchmarkCheckIn(b *testing.B) {
	benchCheckIn(b, true)
}

// BenchmarkCheckInNoGrant is BenchmarkCheckIn with the points routed to a
// no-op Rewarder: the cost of the check-in itself, without the points
// ledger's update.
func BenchmarkCheckInNoGrant(b *testing.B) {
	benchCheckIn(b, false)
}

func benchCheckIn(b *testing.B, ledger bool) {
	ctx := context.Background()
	f := newFixture(b, standard())
	noop := scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return nil })
	router := scrm.NewRewardRouter()
	router.Route(scrm.RewardPoints, noop)
	if ledger {
		router.Route(scrm.RewardPoints, f.svc)
	}
	router.Route(scrm.RewardCoupon, noop)
	svc := member.New(f.store, nil, &member.Options{Options: scrm.Options{Clock: f.clock}, Rewarder: router})
	if _, err := svc.PutCheckInRule(ctx, ladder()); err != nil {
		b.Fatal(err)
	}
	const customers = 1000
	ids := make([]scrm.CustomerID, customers)
	for i := range ids {
		ids[i] = scrm.CustomerID("C" + itoa(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%customers == 0 {
			f.clock.Advance(24 * time.Hour)
		}
		r, err := svc.CheckIn(ctx, member.CheckInRequest{Tenant: tenant, Customer: ids[i%customers]})
		if err != nil || r.Replayed {
			b.Fatal(err, r.Replayed)
		}
	}
}

// BenchmarkPlanSweep1M: RunPlans over a tenant of 1,000,000 paid members
// (an annual plan with a monthly coupon pack of four weekly tranches and the
// break-even guarantee) who all subscribed at the same moment, so that all
// of them are due at once: one op is one RunPlans at the time of the next
// tranche, which releases it to every member (1,000,000 grants through the
// Rewarder, here a counter) and records it. The worst case; the daily run of
// members who subscribed on different days is BenchmarkPlanSweep1MDaily.
// -short uses 10,000 members.
func BenchmarkPlanSweep1M(b *testing.B) {
	ctx := context.Background()
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	clock, svc, plan, granted := newPlanBench(b)
	subscribeAll(b, svc, plan, 0, 1, n)
	runtime.GC()

	// Tranche t of the year: membership month t/4, day 7 × (t%4); the
	// month starts at 10:00, the other tranches at midnight.
	t := 1
	b.ReportAllocs()
	for b.Loop() {
		if t >= 48 {
			b.Fatal("out of tranches: run with -benchtime of at most 47x")
		}
		month := start.AddDate(0, t/4, 0)
		clock.Set(time.Date(month.Year(), month.Month(), month.Day()+7*(t%4), 10, 1, 0, 0, shanghai))
		before := granted.Load()
		res, err := svc.RunPlans(ctx, tenant)
		if err != nil {
			b.Fatal(err)
		}
		if res.Members != n || res.Tranches != n || granted.Load()-before != int64(n) {
			b.Fatalf("tranche %d: %d members, %d tranches, %d grants", t, res.Members, res.Tranches, granted.Load()-before)
		}
		t++
	}
}

// newPlanBench returns a service over a memory store with the annual plan
// and its coupon pack, coupons granted to a counter.
func newPlanBench(b *testing.B) (*scrmtest.Clock, *member.Service, member.Plan, *atomic.Int64) {
	clock := scrmtest.NewClock(start)
	granted := new(atomic.Int64)
	router := scrm.NewRewardRouter()
	router.Route(scrm.RewardCoupon, scrm.RewarderFunc(func(context.Context, scrm.Grant) error { granted.Add(1); return nil }))
	svc := member.New(member.NewMemoryStore(), nil, &member.Options{Options: scrm.Options{Clock: clock}, Rewarder: router})
	router.Route(scrm.RewardStoredValue, svc)
	plan := annual()
	plan.Benefits.CouponPack = monthly().Benefits.CouponPack
	if _, err := svc.PutPlan(context.Background(), plan); err != nil {
		b.Fatal(err)
	}
	return clock, svc, plan, granted
}

// subscribeAll subscribes members first, first+step, ... below n in
// parallel (setup, not measured); each Subscribe releases its first tranche.
func subscribeAll(b *testing.B, svc *member.Service, plan member.Plan, first, step, n int) {
	ctx := context.Background()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := first + step*w; i < n; i += step * workers {
				id := "C" + itoa(i)
				if _, err := svc.Subscribe(ctx, member.SubscribeRequest{Tenant: tenant, Customer: scrm.CustomerID(id), Plan: plan.ID,
					IdempotencyKey: "sub-" + id, Paid: plan.Price}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkPlanSweep1MDaily: the daily RunPlans of a tenant of 1,000,000 paid
// members (an annual plan with a monthly coupon pack of four weekly tranches
// and the break-even guarantee) who subscribed over a week, a seventh of
// them each day: one op is one day's run, which finds the 142,857 members
// whose weekly tranche is due among the million (Store.ListPlanDue),
// releases it (a grant through the Rewarder, here a counter) and records it.
// -short uses 10,000 members.
func BenchmarkPlanSweep1MDaily(b *testing.B) {
	ctx := context.Background()
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	clock, svc, plan, granted := newPlanBench(b)

	// Members i with i%7 == d subscribe on day d.
	for d := 0; d < 7; d++ {
		clock.Set(start.AddDate(0, 0, d))
		subscribeAll(b, svc, plan, d, 7, n)
	}
	runtime.GC()

	// Day D = 7, 8, ... 20 after the first subscriptions: the members who
	// subscribed on day D%7 get their tranche of day 7, 14 or 21.
	day := 7
	b.ReportAllocs()
	for b.Loop() {
		if day > 20 {
			b.Fatal("out of days: run with -benchtime of at most 14x")
		}
		clock.Set(start.AddDate(0, 0, day).Add(time.Minute))
		want := (n - day%7 + 6) / 7 // members i < n with i%7 == day%7
		before := granted.Load()
		res, err := svc.RunPlans(ctx, tenant)
		if err != nil {
			b.Fatal(err)
		}
		if res.Members != want || res.Tranches != want || granted.Load()-before != int64(want) {
			b.Fatalf("day %d: %d members, %d tranches, %d grants; want %d", day, res.Members, res.Tranches, granted.Load()-before, want)
		}
		day++
	}
}
