package referral_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// BenchmarkDraw makes lucky draws of a lottery of five prizes and nothing,
// each customer drawing three times (its daily limit): the store's atomic
// draw with the limit and stock checks, the entry cost charged through a
// PointsSpender, and the prize (about half the draws) granted through the
// grant ledger. No Publisher, as in BenchmarkBind.
func BenchmarkDraw(b *testing.B) {
	ctx := context.Background()
	svc := referral.New(referral.NewMemoryStore(), scrm.NewMemoryProfileStore(), &referral.Options{
		Options:       scrm.Options{Clock: scrmtest.NewClock(t0.Add(day))},
		Rewarder:      scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return nil }),
		PointsSpender: referral.PointsSpenderFunc(func(context.Context, referral.PointsCharge) error { return nil }),
		Seed:          func() uint64 { return 20260501 },
	})
	l := referral.Lottery{Tenant: tenant, ID: "spin", Keyword: "抽奖", NoPrizeWeight: 50,
		EntryCostPoints: 10, PerCustomerPerDay: 3, Start: t0, End: t0.Add(30 * day)}
	for i, w := range []int{1, 4, 10, 15, 20} {
		l.Prizes = append(l.Prizes, referral.Prize{ID: fmt.Sprintf("p%d", i), Reward: coupon(fmt.Sprintf("c%d", i)),
			Stock: 1_000_000_000, Weight: w})
	}
	if _, err := svc.SaveLottery(ctx, l); err != nil {
		b.Fatal(err)
	}
	reqs := make([]referral.DrawRequest, b.N)
	for i := range reqs {
		reqs[i] = referral.DrawRequest{Tenant: tenant, Lottery: "spin", Customer: scrm.CustomerID(fmt.Sprintf("C%09d", i/3)),
			IdempotencyKey: fmt.Sprintf("draw-%09d", i)}
	}
	runtime.GC() // collect the setup's garbage outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Draw(ctx, reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
