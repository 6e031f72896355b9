package member_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// A points-mall exchange (积分兑换): the points are spent soonest-expiring
// first, the coupon is granted through the Rewarder, the per-customer limit
// holds, and a retry with the same key replays the exchange.
func ExampleService_Exchange() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, scrm.DefaultLocation()))
	router := scrm.NewRewardRouter()
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}, Rewarder: router})
	router.Route(scrm.RewardPoints, svc)
	router.Route(scrm.RewardGrowth, svc)
	router.Route(scrm.RewardCoupon, scrm.RewarderFunc(func(_ context.Context, g scrm.Grant) error {
		fmt.Printf("coupon service: %d × %s for %s (key %s)\n", max(g.Reward.Count, 1), g.Reward.Template, g.Customer, g.IdempotencyKey)
		return nil // the host's coupon.Service would issue it here
	}))

	if _, err := svc.PutProgram(ctx, member.Program{Tenant: "cafe",
		Earn:   member.EarnRule{PointsPerYuan: scrm.Yuan("1")},
		Expiry: member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 30},
	}); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := svc.PutCatalogItem(ctx, member.CatalogItem{Tenant: "cafe", ID: "latte", Name: "拿铁兑换券", Points: 300,
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "free-latte"}, Stock: 100, PerCustomer: 1}); err != nil {
		fmt.Println(err)
		return
	}

	// 200 points today, 250 ten days later: two lots.
	svc.Earn(ctx, member.EarnRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "pay-1", OrderID: "o1", Amount: scrm.Yuan("200.00")})
	clock.Advance(10 * 24 * time.Hour)
	svc.Earn(ctx, member.EarnRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "pay-2", OrderID: "o2", Amount: scrm.Yuan("250.00")})

	r, err := svc.Exchange(ctx, member.ExchangeRequest{Tenant: "cafe", Customer: "C1", Item: "latte", IdempotencyKey: "ex-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %s for %d points, balance %d\n", r.State, r.ItemName, r.Points, r.Balance.Points)
	for _, m := range r.Lots {
		fmt.Printf("  %d points from the lot expiring %s\n", -m.Points, m.ExpiresAt().In(scrm.DefaultLocation()).Format("2006-01-02"))
	}

	// One per customer.
	_, err = svc.Exchange(ctx, member.ExchangeRequest{Tenant: "cafe", Customer: "C1", Item: "latte", IdempotencyKey: "ex-2"})
	var se *scrm.Error
	if errors.Is(err, scrm.ErrExhausted) && errors.As(err, &se) {
		fmt.Println("second exchange refused:", se.Field)
	}

	// The app retries the first request: nothing happens twice.
	r, _ = svc.Exchange(ctx, member.ExchangeRequest{Tenant: "cafe", Customer: "C1", Item: "latte", IdempotencyKey: "ex-1"})
	item, _ := svc.CatalogItem(ctx, "cafe", "latte")
	left, _ := item.Left()
	fmt.Printf("replayed %v, balance %d, %d left in stock\n", r.Replayed, r.Balance.Points, left)

	// Output:
	// coupon service: 1 × free-latte for C1 (key mall:ex-1)
	// done: 拿铁兑换券 for 300 points, balance 150
	//   200 points from the lot expiring 2026-04-02
	//   100 points from the lot expiring 2026-04-12
	// second exchange refused: PerCustomer
	// replayed true, balance 150, 99 left in stock
}

// A reward the Rewarder refuses: the points, the stock and the customer's
// count are given back, and the error says so.
func ExampleService_Exchange_refused() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, scrm.DefaultLocation()))
	coupons := scrm.RewarderFunc(func(context.Context, scrm.Grant) error {
		return scrm.Errorf(scrm.ErrExhausted, "coupon.Issue", "template free-latte is out of stock")
	})
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}, Rewarder: coupons})
	svc.PutProgram(ctx, member.Program{Tenant: "cafe"})
	svc.PutCatalogItem(ctx, member.CatalogItem{Tenant: "cafe", ID: "latte", Name: "拿铁兑换券", Points: 300,
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "free-latte"}, Stock: 100, PerCustomer: 1})
	svc.Adjust(ctx, member.AdjustRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "gift", Points: 500, Reason: "开业礼", Operator: "alice"})

	r, err := svc.Exchange(ctx, member.ExchangeRequest{Tenant: "cafe", Customer: "C1", Item: "latte", IdempotencyKey: "ex-1"})
	fmt.Println(errors.Is(err, scrm.ErrUnavailable), errors.Is(err, scrm.ErrExhausted))
	fmt.Printf("%s: %d points returned, balance %d\n", r.State, r.Returned, r.Balance.Points)
	item, _ := svc.CatalogItem(ctx, "cafe", "latte")
	fmt.Println("sold:", item.Sold)

	// Output:
	// true true
	// refunded: 300 points returned, balance 500
	// sold: 0
}
