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

// A customer's points, growth and tier through purchases, a checkout with
// points, a refund and an expiry.
func Example() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 3, 10, 0, 0, 0, scrm.DefaultLocation())) // a Tuesday
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}})

	_, err := svc.PutProgram(ctx, member.Program{
		Tenant: "cafe",
		Tiers: []member.Tier{
			{ID: "normal", Name: "普卡"},
			{ID: "silver", Name: "银卡", Threshold: 500, PointsMultiplier: scrm.Yuan("1.5"),
				UpgradeRewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 200, Note: "升级礼"}}},
			{ID: "gold", Name: "金卡", Threshold: 2000, PointsMultiplier: scrm.Yuan("2")},
		},
		Growth: member.GrowthRule{PerYuan: scrm.Yuan("1")},
		Earn: member.EarnRule{
			PointsPerYuan: scrm.Yuan("1"),
			MemberDays:    []member.MemberDay{{Weekday: time.Tuesday, Multiplier: scrm.Yuan("2")}},
		},
		Expiry: member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: 1},
		Redeem: member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: scrm.Yuan("0.5"), Step: 100},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	show := func(what string) {
		a, err := svc.Account(ctx, "cafe", "C1")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-22s points %4d  growth %4d  tier %s\n", what, a.Points, a.Growth, a.TierName)
	}

	// ¥320 on member day: 320 points × 2.
	r, _ := svc.Earn(ctx, member.EarnRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "pay-1", OrderID: "o1", Amount: scrm.Yuan("320.00")})
	fmt.Printf("order o1 earned %d points, expiring %s\n", r.Points, r.ExpiresAt.Format("2006-01-02"))
	show("after o1:")

	// ¥260 a day later reaches 银卡 (580 growth): the upgrade reward of 200
	// points is granted by the service itself (no Rewarder configured).
	clock.Advance(24 * time.Hour)
	r, _ = svc.Earn(ctx, member.EarnRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "pay-2", OrderID: "o2", Amount: scrm.Yuan("260.00")})
	fmt.Printf("order o2 earned %d points, tier %s -> %s\n", r.Points, r.TierChange.From, r.TierChange.To)
	show("after o2:")

	// Checkout of a ¥15 order: points may pay at most 50%, in steps of 100.
	q, _ := svc.Quote(ctx, member.QuoteRequest{Tenant: "cafe", Customer: "C1", OrderAmount: scrm.Yuan("15.00")})
	fmt.Printf("quote for ¥15: up to %d points = ¥%s\n", q.Points, q.Value.StringFixed(2))
	h, _ := svc.Hold(ctx, member.HoldRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "chk-3", OrderID: "o3",
		Points: q.Points, OrderAmount: scrm.Yuan("15.00")})
	_, _ = svc.Capture(ctx, "cafe", h.HoldID)
	show("after paying o3:")

	// Half of o1 is refunded: half its points and growth are clawed back,
	// which takes the tier back to 普卡.
	rf, _ := svc.Refund(ctx, member.RefundRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "refund-1", OrderID: "o1", Amount: scrm.Yuan("160.00")})
	fmt.Printf("refund clawed %d points and %d growth, tier %s -> %s\n", rf.Clawed, rf.GrowthClawed, rf.TierChange.From, rf.TierChange.To)
	show("after refund:")

	// Points earned in 2026 expire at the end of 2027.
	clock.Set(time.Date(2028, 1, 1, 0, 5, 0, 0, scrm.DefaultLocation()))
	sw, _ := svc.Sweep(ctx, "cafe")
	fmt.Printf("sweep expired %d points\n", sw.Expired)
	show("in 2028:")

	// Output:
	// order o1 earned 640 points, expiring 2028-01-01
	// after o1:              points  640  growth  320  tier 普卡
	// order o2 earned 260 points, tier normal -> silver
	// after o2:              points 1100  growth  580  tier 银卡
	// quote for ¥15: up to 700 points = ¥7.00
	// after paying o3:       points  400  growth  580  tier 银卡
	// refund clawed 320 points and 160 growth, tier silver -> normal
	// after refund:          points   80  growth  420  tier 普卡
	// sweep expired 80 points
	// in 2028:               points    0  growth  420  tier 普卡
}

// A checkout with points as try / confirm / cancel: the host holds points
// when the customer confirms the cart, captures them when payment succeeds,
// and voids them when the order is abandoned.
func ExampleService_Hold() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 5, 20, 12, 0, 0, 0, scrm.DefaultLocation()))
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	_, _ = svc.PutProgram(ctx, member.Program{
		Tenant: "shop",
		Earn:   member.EarnRule{PointsPerYuan: scrm.Yuan("1")},
		Redeem: member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: scrm.Yuan("0.3"), Step: 100},
	})
	_, _ = svc.Earn(ctx, member.EarnRequest{Tenant: "shop", Customer: "C1", IdempotencyKey: "pay-0", OrderID: "o0", Amount: scrm.Yuan("2000.00")})

	// Points may pay 30% of ¥99: ¥29.70, so at most 2900 points in steps of 100.
	_, err := svc.Hold(ctx, member.HoldRequest{Tenant: "shop", Customer: "C1", IdempotencyKey: "cart-1", OrderID: "o1",
		Points: 3000, OrderAmount: scrm.Yuan("99.00")})
	fmt.Println("3000 points:", errors.Is(err, scrm.ErrInvalid))
	_, err = svc.Hold(ctx, member.HoldRequest{Tenant: "shop", Customer: "C1", IdempotencyKey: "cart-1", OrderID: "o1",
		Points: 150, OrderAmount: scrm.Yuan("99.00")})
	fmt.Println("150 points:", errors.Is(err, scrm.ErrInvalid))

	h, _ := svc.Hold(ctx, member.HoldRequest{Tenant: "shop", Customer: "C1", IdempotencyKey: "cart-1", OrderID: "o1",
		Points: 1500, OrderAmount: scrm.Yuan("99.00")})
	a, _ := svc.Account(ctx, "shop", "C1")
	fmt.Printf("held %d points worth ¥%s; spendable %d\n", h.Points, h.Value.StringFixed(2), a.Points)

	c, _ := svc.Capture(ctx, "shop", h.HoldID)
	fmt.Println("paid:", c.State, "balance", c.Balance.Points)
	_, err = svc.Void(ctx, "shop", h.HoldID)
	fmt.Println("void after capture:", errors.Is(err, scrm.ErrConflict))

	h2, _ := svc.Hold(ctx, member.HoldRequest{Tenant: "shop", Customer: "C1", IdempotencyKey: "cart-2", OrderID: "o2",
		Points: 500, OrderAmount: scrm.Yuan("20.00")})
	v, _ := svc.Void(ctx, "shop", h2.HoldID)
	fmt.Println("abandoned:", v.State, "balance", v.Balance.Points)

	// Output:
	// 3000 points: true
	// 150 points: true
	// held 1500 points worth ¥15.00; spendable 500
	// paid: captured balance 500
	// void after capture: true
	// abandoned: voided balance 500
}

// Points that expire soon, for a reminder touch, and the sweep that expires
// them.
func ExampleService_Expiring() {
	ctx := context.Background()
	shanghai := scrm.DefaultLocation()
	clock := scrmtest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, shanghai))
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	_, _ = svc.PutProgram(ctx, member.Program{
		Tenant: "shop",
		Earn:   member.EarnRule{PointsPerYuan: scrm.Yuan("1")},
		// Points are valid through the end of the quarter they were earned in.
		Expiry: member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Quarter},
	})
	_, _ = svc.Earn(ctx, member.EarnRequest{Tenant: "shop", Customer: "C1", IdempotencyKey: "p1", OrderID: "o1", Amount: scrm.Yuan("88.00")})
	clock.Set(time.Date(2026, 12, 10, 10, 0, 0, 0, shanghai))
	_, _ = svc.Earn(ctx, member.EarnRequest{Tenant: "shop", Customer: "C2", IdempotencyKey: "p2", OrderID: "o2", Amount: scrm.Yuan("66.00")})

	clock.Set(time.Date(2026, 12, 20, 10, 0, 0, 0, shanghai))
	soon, _ := svc.Expiring(ctx, "shop", 14*24*time.Hour)
	for _, x := range soon {
		fmt.Printf("%s: %d points expire at %s\n", x.Customer, x.Points, x.ExpiresAt.Format("2006-01-02 15:04"))
	}

	clock.Set(time.Date(2027, 1, 1, 0, 10, 0, 0, shanghai))
	res, _ := svc.Sweep(ctx, "shop")
	fmt.Printf("swept %d accounts, expired %d points\n", res.Accounts, res.Expired)

	clock.Set(time.Date(2027, 1, 2, 10, 0, 0, 0, shanghai))
	_, _ = svc.Earn(ctx, member.EarnRequest{Tenant: "shop", Customer: "C2", IdempotencyKey: "p3", OrderID: "o3", Amount: scrm.Yuan("10.00")})
	a, _ := svc.Account(ctx, "shop", "C2")
	fmt.Printf("C2 keeps %d points, expiring %s\n", a.Points, a.NextExpiry.In(shanghai).Format("2006-01-02"))

	// Output:
	// C1: 88 points expire at 2027-01-01 00:00
	// C2: 66 points expire at 2027-01-01 00:00
	// swept 2 accounts, expired 154 points
	// C2 keeps 10 points, expiring 2027-04-01
}
