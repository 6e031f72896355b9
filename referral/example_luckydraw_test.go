package referral_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// A lucky draw (抽奖) that costs 10 points and allows one draw a day:
// alice enters by replying its keyword, bob by tapping in the app. Each
// draw's record can be audited from the lottery's seed.
func ExampleService_Draw() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, scrm.DefaultLocation()))
	profiles := scrm.NewMemoryProfileStore()
	svc := referral.New(referral.NewMemoryStore(), profiles, &referral.Options{
		Options:  scrm.Options{Clock: clock},
		Rewarder: printGrants(),
		// A host wires this to member.Service.Redeem (see PointsSpender).
		PointsSpender: referral.PointsSpenderFunc(func(_ context.Context, c referral.PointsCharge) error {
			fmt.Printf("  charge %s: %d points\n", c.Customer, c.Points)
			return nil
		}),
		Seed: func() uint64 { return 20260501 },
	})
	bus := scrm.NewDispatcher(scrm.NewProfiles(profiles, nil), svc)

	_, err := svc.SaveLottery(ctx, referral.Lottery{
		Tenant: "shop", ID: "may-day", Name: "五一大转盘",
		Prizes: []referral.Prize{
			{ID: "minus-20", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "minus-20"}, Stock: 100, Weight: 30},
			{ID: "points-50", Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 50}, Stock: 1000, Weight: 50},
		},
		NoPrizeWeight:     20, // 谢谢参与
		EntryCostPoints:   10,
		PerCustomerPerDay: 1,
		Keyword:           "抽奖",
		Start:             clock.Now(), End: clock.Now().Add(7 * 24 * time.Hour),
	})
	if err != nil {
		panic(err)
	}

	show := func(d referral.DrawResult) {
		prize := "nothing"
		if d.Won() {
			prize = d.Prize
		}
		fmt.Printf("%s drew #%d: %s (audit ok: %v)\n", d.Customer, d.Seq, prize, d.Audit() == nil)
	}

	fmt.Println("alice replies 抽奖:")
	reply := scrm.Event{ID: "msg-1", Tenant: "shop", Customer: "alice", Type: scrm.EventMessageReplied,
		Time: clock.Now(), Props: map[string]any{"text": " 抽奖 "}}
	if err := bus.Publish(ctx, reply); err != nil {
		panic(err)
	}
	mine, _ := svc.Results(ctx, referral.ResultsRequest{Tenant: "shop", Lottery: "may-day", Customer: "alice"})
	show(mine.Results[0])

	fmt.Println("bob taps the wheel:")
	d, err := svc.Draw(ctx, referral.DrawRequest{Tenant: "shop", Customer: "bob", Lottery: "may-day", IdempotencyKey: "tap-bob-1"})
	if err != nil {
		panic(err)
	}
	show(d)

	_, err = svc.Draw(ctx, referral.DrawRequest{Tenant: "shop", Customer: "alice", Lottery: "may-day", IdempotencyKey: "tap-alice-1"})
	fmt.Println("alice again today:", referral.ReasonOf(err))

	clock.Advance(24 * time.Hour)
	fmt.Println("alice, the next day:")
	d, _ = svc.Draw(ctx, referral.DrawRequest{Tenant: "shop", Customer: "alice", Lottery: "may-day", IdempotencyKey: "tap-alice-1"})
	show(d)

	winners, _ := svc.Winners(ctx, referral.ResultsRequest{Tenant: "shop", Lottery: "may-day"})
	for _, w := range winners.Results {
		fmt.Printf("winner #%d: %s, %s\n", w.Seq, w.Customer, w.Prize)
	}
	// Output:
	// alice replies 抽奖:
	//   charge alice: 10 points
	// alice drew #1: nothing (audit ok: true)
	// bob taps the wheel:
	//   charge bob: 10 points
	//   grant bob: 50 points
	// bob drew #2: points-50 (audit ok: true)
	// alice again today: daily_limit
	// alice, the next day:
	//   charge alice: 10 points
	// alice drew #3: nothing (audit ok: true)
	// winner #2: bob, points-50
}
