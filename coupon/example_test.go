package coupon_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// The main flow: templates, a claim, a quote that rejects one coupon with
// its reason, the best combination, then checkout: lock, confirm, and a
// refund of one item.
func Example() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, scrm.DefaultLocation()))
	n := 0
	svc := coupon.New(coupon.NewMemoryStore(), scrm.NewMemoryProfileStore(), &coupon.Options{
		Options: scrm.Options{Clock: clock, NewID: func() string { n++; return fmt.Sprintf("cp%d", n) }},
	})
	const shop scrm.TenantID = "tea-shop"
	for _, t := range []coupon.Template{
		{ID: "new-10", Name: "新客立减 10 元", Kind: coupon.KindCash, Amount: scrm.Yuan("10.00")},
		{ID: "200-30", Name: "满 200 减 30", Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("200.00"), Amount: scrm.Yuan("30.00")},
		{ID: "tea-88", Name: "茶饮 88 折", Kind: coupon.KindPercent, Rate: scrm.Yuan("0.88"), Scope: coupon.Scope{Categories: []string{"tea"}}},
	} {
		t.Tenant, t.Validity = shop, coupon.Validity{Days: 7}
		if _, err := svc.PutTemplate(ctx, t); err != nil {
			fmt.Println(err)
			return
		}
	}
	var ids []string
	for _, t := range []string{"new-10", "200-30", "tea-88"} {
		c, err := svc.Claim(ctx, coupon.ClaimRequest{Tenant: shop, Customer: "alice", Template: t, IdempotencyKey: "claim-" + t})
		if err != nil {
			fmt.Println(err)
			return
		}
		ids = append(ids, c.ID)
	}
	first, _ := svc.Wallet(ctx, shop, "alice")
	fmt.Println("claimed:", len(first), "coupons, valid until", first[0].ValidTo.Format("2006-01-02 15:04"))

	cart := coupon.Cart{Tenant: shop, Customer: "alice", OrderID: "o-1001", Shipping: scrm.Yuan("6.00"),
		Items: []coupon.Item{
			{SKU: "oolong", Category: "tea", Price: scrm.Yuan("58.00"), Quantity: 2},
			{SKU: "teapot", Category: "ware", Price: scrm.Yuan("45.00"), Quantity: 1},
		}}
	q, _ := svc.Quote(ctx, cart, []string{ids[0], ids[1]})
	for _, r := range q.Rejected {
		fmt.Printf("rejected %s: %s (short by %s)\n", r.Coupon, r.Reason, r.Shortfall.StringFixed(2))
	}
	fmt.Println("quote: discount", q.Discount.StringFixed(2), "payable", q.Payable.StringFixed(2))

	best, _ := svc.Best(ctx, cart)
	fmt.Println("best:", best.Coupons(), "discount", best.Discount.StringFixed(2), "payable", best.Payable.StringFixed(2))

	o, err := svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: best.Coupons(), IdempotencyKey: "pay-o-1001"})
	if err != nil {
		fmt.Println(err)
		return
	}
	o, _ = svc.Confirm(ctx, shop, o.ID)
	fmt.Println("order:", o.State)
	for _, l := range o.Quote.Lines {
		fmt.Printf("  line %d %s ×%d: %s - %s = %s\n", l.Index, l.SKU, l.Quantity, l.Amount().StringFixed(2), l.Discount.StringFixed(2), l.Payable().StringFixed(2))
	}

	r, _ := svc.Refund(ctx, coupon.RefundRequest{Tenant: shop, OrderID: o.ID, IdempotencyKey: "rf-1",
		Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
	fmt.Println("refund one oolong: pay back", r.Amount.StringFixed(2), "coupon share", r.Discount.StringFixed(2), "full:", r.Full)
	st, _ := svc.Stats(ctx, shop, "tea-88")
	fmt.Println("tea-88 stats: redeemed", st.Redeemed, "discount", st.Discount.StringFixed(2), "GMV", st.GMV.StringFixed(2))

	// Output:
	// claimed: 3 coupons, valid until 2026-03-08 00:00
	// rejected cp2: min_spend (short by 39.00)
	// quote: discount 10.00 payable 157.00
	// best: [cp1 cp3] discount 23.06 payable 143.94
	// order: confirmed
	//   line 0 oolong ×2: 116.00 - 20.26 = 95.74
	//   line 1 teapot ×1: 45.00 - 2.80 = 42.20
	// refund one oolong: pay back 47.87 coupon share 10.13 full: false
	// tea-88 stats: redeemed 1 discount 6.53 GMV 96.07
}

// Coupons apply gift first, then cash and threshold, then percent on what
// is left, then free shipping; each coupon's discount is spread over its
// lines so that the shares add up exactly.
func ExampleEvaluate() {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	offer := func(id string, t coupon.Template) coupon.Offer {
		t.Tenant, t.ID, t.Validity = "shop", "t-"+id, coupon.Validity{Days: 7}
		return coupon.Offer{Template: t, Coupon: coupon.Coupon{Tenant: "shop", ID: id, Template: t.ID, Customer: "bob",
			State: coupon.StateAvailable, ValidFrom: now, ValidTo: now.Add(24 * time.Hour)}}
	}
	cart := coupon.Cart{Tenant: "shop", Customer: "bob", Shipping: scrm.Yuan("8.00"), Items: []coupon.Item{
		{SKU: "a", Price: scrm.Yuan("10.00"), Quantity: 1},
		{SKU: "b", Price: scrm.Yuan("10.00"), Quantity: 1},
		{SKU: "c", Price: scrm.Yuan("10.00"), Quantity: 1},
	}}
	q, err := coupon.Evaluate(cart, []coupon.Offer{
		offer("ship", coupon.Template{Kind: coupon.KindFreeShipping}),
		offer("pct", coupon.Template{Kind: coupon.KindPercent, Rate: scrm.Yuan("0.9")}),
		offer("cash", coupon.Template{Kind: coupon.KindCash, Amount: scrm.Yuan("10.00")}),
		offer("late", coupon.Template{Kind: coupon.KindCash, Amount: scrm.Yuan("99.00")}),
	}, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range q.Applied {
		fmt.Print(a.Coupon, " ", a.Discount.StringFixed(2), ":")
		for _, s := range a.Lines {
			fmt.Print(" ", s.Line, "=", s.Discount.StringFixed(2))
		}
		fmt.Println()
	}
	for _, r := range q.Rejected {
		fmt.Println("rejected", r.Coupon, r.Reason)
	}
	fmt.Println("payable", q.Payable.StringFixed(2))
	// Output:
	// cash 10.00: 0=3.34 1=3.33 2=3.33
	// pct 2.00: 0=0.67 1=0.66 2=0.67
	// ship 8.00:
	// rejected late stacking
	// payable 18.00
}

// Generated codes are short, use no 0, O, 1 or I, and carry a check
// character, so a mistyped character is caught before any lookup.
func ExampleParseCode() {
	code, err := coupon.ParseCode("7kq4 m9xd f2hc")
	fmt.Println(code, err, coupon.FormatCode(code))
	_, err = coupon.ParseCode("7KQ4-M9XD-F2HD")
	fmt.Println(err)
	// Output:
	// 7KQ4M9XDF2HC <nil> 7KQ4-M9XD-F2HC
	// coupon.ParseCode: Code: check character does not match: a character is mistyped
}

// A targeted push to many customers reports who got a coupon and who was
// skipped, and why; running it again with the same key issues nothing twice.
func ExampleService_IssueBatch() {
	ctx := context.Background()
	svc := coupon.New(coupon.NewMemoryStore(), nil, &coupon.Options{Options: scrm.Options{
		Clock: scrmtest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, scrm.DefaultLocation()))}})
	if _, err := svc.PutTemplate(ctx, coupon.Template{Tenant: "shop", ID: "spring", Kind: coupon.KindCash,
		Amount: scrm.Yuan("5.00"), Validity: coupon.Validity{Days: 3}, Stock: 2}); err != nil {
		fmt.Println(err)
		return
	}
	req := coupon.BatchRequest{Tenant: "shop", Template: "spring", IdempotencyKey: "push-0301",
		Customers: []scrm.CustomerID{"ann", "ben", "ann", "cat"}}
	for run := 1; run <= 2; run++ {
		res, err := svc.IssueBatch(ctx, req)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, i := range res.Issued {
			fmt.Printf("run %d: %s issued (again: %v)\n", run, i.Customer, i.Replayed)
		}
		for _, s := range res.Skipped {
			fmt.Printf("run %d: %s skipped: %s\n", run, s.Customer, s.Reason)
		}
	}
	// Output:
	// run 1: ann issued (again: false)
	// run 1: ben issued (again: false)
	// run 1: ann skipped: duplicate
	// run 1: cat skipped: stock
	// run 2: ann issued (again: true)
	// run 2: ben issued (again: true)
	// run 2: ann skipped: duplicate
	// run 2: cat skipped: stock
}

// The Service is the scrm.Rewarder for coupons: referral and SOP packages
// grant coupons through a RewardRouter without importing this package, and
// a grant's key makes it happen once.
func ExampleService_Grant() {
	ctx := context.Background()
	svc := coupon.New(coupon.NewMemoryStore(), nil, nil)
	if _, err := svc.PutTemplate(ctx, coupon.Template{Tenant: "shop", ID: "thanks", Kind: coupon.KindCash,
		Amount: scrm.Yuan("20.00"), Validity: coupon.Validity{Days: 30}}); err != nil {
		fmt.Println(err)
		return
	}
	rewards := scrm.NewRewardRouter()
	rewards.Route(scrm.RewardCoupon, svc)
	g := scrm.Grant{Tenant: "shop", Customer: "inviter-1", IdempotencyKey: "referral:r9:inviter",
		Source: "referral:r9", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "thanks", Count: 2}}
	fmt.Println(rewards.Grant(ctx, g), rewards.Grant(ctx, g))
	w, _ := svc.Wallet(ctx, "shop", "inviter-1")
	fmt.Println(len(w), "coupons from", w[0].Source)
	// Output:
	// <nil> <nil>
	// 2 coupons from referral:r9
}
