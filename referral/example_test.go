package referral_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// printGrants is a Rewarder that prints what it is asked to grant; a real
// host routes grants to the member and coupon services with a
// scrm.RewardRouter.
func printGrants() scrm.Rewarder {
	return scrm.RewarderFunc(func(_ context.Context, g scrm.Grant) error {
		switch g.Reward.Kind {
		case scrm.RewardCoupon:
			fmt.Printf("  grant %s: coupon %s\n", g.Customer, g.Reward.Template)
		case scrm.RewardPoints:
			fmt.Printf("  grant %s: %d points\n", g.Customer, g.Reward.Points)
		default:
			fmt.Printf("  grant %s: ¥%s %s\n", g.Customer, g.Reward.Amount.StringFixed(2), g.Reward.Kind)
		}
		return nil
	})
}

// An invite, a binding, the invitee's first order and the rewards for both
// sides; then the return window passes and the commission is paid.
func Example() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 6, 1, 10, 0, 0, 0, scrm.DefaultLocation()))
	profiles := scrm.NewMemoryProfileStore()
	svc := referral.New(referral.NewMemoryStore(), profiles, &referral.Options{
		Options:    scrm.Options{Clock: clock},
		Rewarder:   printGrants(),
		CodeSecret: func(scrm.TenantID) []byte { return []byte("the tenant's 32-byte secret key.") },
	})
	// Profiles first, so the service sees every order in the invitee's profile.
	bus := scrm.NewDispatcher(scrm.NewProfiles(profiles, nil), svc)

	err := svc.SaveProgram(ctx, referral.Program{
		Tenant: "shop", ID: "summer", Name: "老带新 summer",
		Qualify:          referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * 24 * time.Hour},
		InviteeOnBind:    []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "new-customer-50"}},
		InviteeOnQualify: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 200}},
		InviterRewards:   []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "148-minus-20"}},
		Commission:       []decimal.Decimal{scrm.Yuan("0.10")},
		SettleAfter:      7 * 24 * time.Hour,
	})
	if err != nil {
		panic(err)
	}

	code, _ := svc.Code(ctx, "shop", "alice")
	fmt.Println("alice shares her code:", len(code), "characters")

	fmt.Println("bob binds:")
	b, err := svc.Bind(ctx, referral.BindRequest{Tenant: "shop", Program: "summer", Invitee: "bob", Code: code})
	if err != nil {
		panic(err)
	}
	fmt.Println("  bob's inviter:", b.Inviter, b.Status)

	_, err = svc.Bind(ctx, referral.BindRequest{Tenant: "shop", Program: "summer", Invitee: "alice", Code: code})
	fmt.Println("alice binds to herself:", referral.ReasonOf(err))

	clock.Advance(48 * time.Hour)
	fmt.Println("bob pays his first order, ¥128.00:")
	if err := bus.Publish(ctx, scrm.Event{ID: "pay-1", Tenant: "shop", Customer: "bob", Type: scrm.EventOrderPaid,
		Time: clock.Now(), Amount: scrm.Yuan("128.00"), Props: map[string]any{"order_id": "o-1"}}); err != nil {
		panic(err)
	}
	st, _ := svc.Stats(ctx, "shop", "summer", "alice")
	fmt.Printf("alice: bound %d, qualified %d, rewards %d, pending ¥%s\n", st.Bound, st.Qualified, st.Rewards, st.Pending.StringFixed(2))

	clock.Advance(7 * 24 * time.Hour)
	fmt.Println("after the return window, Settle:")
	res, _ := svc.Settle(ctx, "shop")
	fmt.Printf("  settled %d, ¥%s\n", res.Settled, res.Amount.StringFixed(2))

	// Output:
	// alice shares her code: 9 characters
	// bob binds:
	//   grant bob: coupon new-customer-50
	//   bob's inviter: alice active
	// alice binds to herself: self_referral
	// bob pays his first order, ¥128.00:
	//   grant bob: 200 points
	//   grant alice: coupon 148-minus-20
	// alice: bound 1, qualified 1, rewards 1, pending ¥12.80
	// after the return window, Settle:
	//   grant alice: ¥12.80 stored_value
	//   settled 1, ¥12.80
}

// A bargain (砍价): five friends help cut ¥99 to ¥9.90; the cuts come from
// the session's recorded seed, so they can be recomputed.
func ExampleService_Help() {
	ctx := context.Background()
	svc := referral.New(nil, scrm.NewMemoryProfileStore(), &referral.Options{
		Options: scrm.Options{Clock: scrmtest.NewClock(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))},
		Seed:    func() uint64 { return 2026 }, // fixed for the example; crypto/rand by default
	})
	err := svc.SaveBargain(ctx, referral.Bargain{Tenant: "shop", ID: "kettle", Price: scrm.Yuan("99.00"),
		Floor: scrm.Yuan("9.90"), Helpers: 5, Duration: 24 * time.Hour})
	if err != nil {
		panic(err)
	}
	sess, _ := svc.Start(ctx, "shop", "kettle", "carol")
	for _, friend := range []scrm.CustomerID{"dan", "erin", "frank", "grace", "heidi"} {
		c, err := svc.Help(ctx, "shop", sess.ID, friend)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-5s cuts ¥%5s → ¥%s\n", friend, c.Amount.StringFixed(2), c.Price.StringFixed(2))
	}
	_, err = svc.Help(ctx, "shop", sess.ID, "ivan")
	fmt.Println("ivan:", referral.ReasonOf(err))

	sess, _ = svc.Session(ctx, "shop", sess.ID)
	plan, _ := sess.Terms.Plan(sess.Seed, make([]bool, 5))
	fmt.Print("recomputed from seed ", sess.Seed, ":")
	for _, c := range plan {
		fmt.Print(" ", c.StringFixed(2))
	}
	fmt.Println()
	// Output:
	// dan   cuts ¥16.70 → ¥82.30
	// erin  cuts ¥ 6.14 → ¥76.16
	// frank cuts ¥24.25 → ¥51.91
	// grace cuts ¥ 2.93 → ¥48.98
	// heidi cuts ¥39.08 → ¥9.90
	// ivan: bargain_complete
	// recomputed from seed 2026: 16.70 6.14 24.25 2.93 39.08
}

// A group buy (拼团) of three: the team that fills in time succeeds; the one
// that does not fails and its members are reported for a refund.
func ExampleService_Join() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	ids := 0
	svc := referral.New(nil, scrm.NewMemoryProfileStore(), &referral.Options{
		Options: scrm.Options{Clock: clock, NewID: func() string { ids++; return fmt.Sprintf("team-%d", ids) },
			Publisher: scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
				fmt.Printf("  event %s: %s ¥%s\n", e.Type, e.Customer, e.Amount.StringFixed(2))
				return nil
			})},
	})
	if err := svc.SaveGroupBuy(ctx, referral.GroupBuy{Tenant: "shop", ID: "coffee-3", Size: 3,
		Duration: 24 * time.Hour, Price: scrm.Yuan("19.90")}); err != nil {
		panic(err)
	}
	a, _ := svc.Open(ctx, "shop", "coffee-3", "amy")
	b, _ := svc.Open(ctx, "shop", "coffee-3", "ben")
	fmt.Println(a.ID, "fills up:")
	_, _ = svc.Join(ctx, "shop", a.ID, "cat")
	team, _ := svc.Join(ctx, "shop", a.ID, "dov")
	fmt.Println(" ", team.ID, team.Status)
	_, err := svc.Join(ctx, "shop", a.ID, "eve")
	fmt.Println("eve:", referral.ReasonOf(err))

	_, _ = svc.Join(ctx, "shop", b.ID, "fay")
	clock.Advance(24 * time.Hour)
	fmt.Println("a day later, Sweep:")
	res, _ := svc.Sweep(ctx, "shop")
	fmt.Println(" ", res.Failed[0].ID, res.Failed[0].Status)
	// Output:
	// team-1 fills up:
	//   event referral.team_succeeded: amy ¥19.90
	//   event referral.team_succeeded: cat ¥19.90
	//   event referral.team_succeeded: dov ¥19.90
	//   team-1 succeeded
	// eve: team_full
	// a day later, Sweep:
	//   event referral.team_failed: ben ¥19.90
	//   event referral.team_failed: fay ¥19.90
	//   team-2 failed
}

// A lottery draw is reproducible from the seed recorded with it: an auditor
// recomputes the winners from Draw.Seed and Draw.Entrants.
func ExampleDrawWinners() {
	var entrants []referral.Entrant
	for _, team := range []string{"team-a", "team-b"} {
		for _, c := range []scrm.CustomerID{"1", "2", "3"} {
			entrants = append(entrants, referral.Entrant{Team: team, Customer: scrm.CustomerID(team[5:]) + c})
		}
	}
	const seed = 20260618
	winners := referral.DrawWinners(seed, entrants, 2)
	for _, w := range winners {
		fmt.Println("winner:", w.Customer, "of", w.Team)
	}
	again := referral.DrawWinners(seed, entrants, 2)
	fmt.Println("recomputed:", again[0] == winners[0] && again[1] == winners[1])
	// Output:
	// winner: a1 of team-a
	// winner: a2 of team-a
	// recomputed: true
}
