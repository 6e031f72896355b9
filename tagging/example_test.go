package tagging_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/tagging"
)

// A tag library with an exclusive spending group maintained by rules, and a
// keyword tag for customers who ask not to be messaged. Events flow through a
// Dispatcher: Profiles first, then tagging.
func Example() {
	ctx := context.Background()
	const shop scrm.TenantID = "coffee"
	clock := scrmtest.NewClock(time.Date(2026, 6, 1, 9, 0, 0, 0, scrm.DefaultLocation()))
	ps := scrm.NewMemoryProfileStore()
	var d *scrm.Dispatcher
	tags := tagging.New(tagging.NewMemoryStore(), ps, &tagging.Options{Options: scrm.Options{
		Clock:     clock,
		Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return d.Publish(ctx, e) }),
	}})
	d = scrm.NewDispatcher(scrm.NewProfiles(ps, nil), tags, scrm.HandlerFunc(func(_ context.Context, e scrm.Event) error {
		if e.Type == scrm.EventTagApplied || e.Type == scrm.EventTagRemoved {
			fmt.Printf("  %s %s (%s)\n", e.Type, e.Prop("tag"), e.Prop("reason"))
		}
		return nil
	}))

	check := func(_ any, err error) {
		if err != nil {
			panic(err)
		}
	}
	check(tags.PutGroup(ctx, shop, tagging.Group{ID: "消费能力", Exclusive: true}))
	for _, t := range []string{"高", "中", "低"} {
		check(tags.PutTag(ctx, shop, tagging.Tag{ID: t, Group: "消费能力", Kind: tagging.KindRule}))
	}
	check(tags.PutTag(ctx, shop, tagging.Tag{ID: "拒绝营销", Kind: tagging.KindKeyword}))
	spent := func(min string) rule.Condition {
		return rule.Event(scrm.EventOrderPaid).Within(90 * 24 * time.Hour).SumGte(scrm.Yuan(min))
	}
	check(tags.PutRule(ctx, shop, tagging.Rule{ID: "spend-high", Tag: "高", When: spent("1000"), Priority: 3, Sync: true}))
	check(tags.PutRule(ctx, shop, tagging.Rule{ID: "spend-mid", Tag: "中", When: spent("300"), Priority: 2, Sync: true}))
	check(tags.PutRule(ctx, shop, tagging.Rule{ID: "spend-low", Tag: "低", When: spent("0.01"), Priority: 1, Sync: true}))
	check(tags.PutRule(ctx, shop, tagging.Rule{ID: "refuse", Tag: "拒绝营销", Keywords: []string{"不需要", "别发了"}}))

	n := 0
	publish := func(typ, amount, text string) {
		n++
		e := scrm.Event{ID: fmt.Sprint("e", n), Tenant: shop, Customer: "C1", Type: typ, Time: clock.Now()}
		if amount != "" {
			e.Amount = scrm.Yuan(amount)
		}
		if text != "" {
			e.Props = map[string]any{"text": text}
		}
		fmt.Println(typ, amount+text)
		if err := d.Publish(ctx, e); err != nil {
			panic(err)
		}
		clock.Advance(24 * time.Hour)
	}
	publish(scrm.EventOrderPaid, "128.00", "")
	publish(scrm.EventOrderPaid, "268.00", "")
	publish(scrm.EventOrderPaid, "88.00", "")
	publish(scrm.EventMessageReplied, "", "活动不需要了，谢谢！")

	count, _ := tags.Count(ctx, shop, "中")
	fmt.Println("customers tagged 中:", count)
	hist, _ := tags.History(ctx, shop, "C1")
	fmt.Println("history, newest first:")
	for _, h := range hist {
		fmt.Printf("  %s %s %s by %s\n", h.At.Format("01-02"), h.Action, h.Tag, h.Source)
	}
	// Output:
	// order.paid 128.00
	//   tag.applied 低 (rule spend-low matched (order.paid))
	// order.paid 268.00
	//   tag.applied 中 (rule spend-mid matched (order.paid))
	//   tag.removed 低 (replaced by 中 (exclusive group 消费能力))
	// order.paid 88.00
	// message.replied 活动不需要了，谢谢！
	//   tag.applied 拒绝营销 (reply matched "不需要" (rule refuse))
	// customers tagged 中: 1
	// history, newest first:
	//   06-04 applied 拒绝营销 by keyword:refuse
	//   06-02 removed 低 by rule:spend-mid
	//   06-02 applied 中 by rule:spend-mid
	//   06-01 applied 低 by rule:spend-low
}

// Staff tag a customer by hand; in an exclusive group the new tag replaces
// the old one, and re-applying a tag refreshes it.
func ExampleService_Apply() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 6, 1, 15, 0, 0, 0, scrm.DefaultLocation()))
	tags := tagging.New(nil, scrm.NewMemoryProfileStore(), &tagging.Options{Options: scrm.Options{Clock: clock}})
	_, _ = tags.PutGroup(ctx, "boutique", tagging.Group{ID: "风格偏好", Exclusive: true})
	for _, t := range []string{"休闲风", "时尚风", "商务风"} {
		_, _ = tags.PutTag(ctx, "boutique", tagging.Tag{ID: t, Group: "风格偏好"})
	}
	_, _ = tags.PutTag(ctx, "boutique", tagging.Tag{ID: "到店未成交"})

	apply := func(tag string, expires time.Time) {
		res, err := tags.Apply(ctx, tagging.ApplyRequest{Tenant: "boutique", Customer: "C9", Tag: tag, By: "店员小王", Expires: expires})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s at %s refreshed=%v replaced=%v\n", tag, res.Mark.At.Format("01-02 15:04"), res.Refreshed, res.Replaced)
	}
	apply("休闲风", time.Time{})
	apply("商务风", time.Time{})
	apply("到店未成交", clock.Now().Add(7*24*time.Hour))
	clock.Advance(24 * time.Hour)
	apply("到店未成交", clock.Now().Add(7*24*time.Hour)) // came again, still did not buy
	apply("不存在", time.Time{})

	page, _ := tags.Customers(ctx, "boutique", "商务风", "", 10)
	for _, c := range page.Customers {
		fmt.Println("商务风:", c.Customer, "by", c.Mark.By)
	}
	// Output:
	// 休闲风 at 06-01 15:00 refreshed=false replaced=[]
	// 商务风 at 06-01 15:00 refreshed=false replaced=[休闲风]
	// 到店未成交 at 06-01 15:00 refreshed=false replaced=[]
	// 到店未成交 at 06-02 15:00 refreshed=true replaced=[]
	// tagging.Apply: Tag: unknown tag "不存在"
	// 商务风: C9 by 店员小王
}

// A customer becomes "dormant" without any event arriving: the sweep
// re-evaluates time-based rules, and removes expired tags.
func ExampleService_Sweep() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 6, 1, 9, 0, 0, 0, scrm.DefaultLocation()))
	ps := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(ps, nil)
	tags := tagging.New(nil, ps, &tagging.Options{Options: scrm.Options{Clock: clock}})
	_, _ = tags.PutTag(ctx, "shop", tagging.Tag{ID: "沉睡30天"})
	_, _ = tags.PutTag(ctx, "shop", tagging.Tag{ID: "新品试用"})
	_, _ = tags.PutRule(ctx, "shop", tagging.Rule{ID: "dormant", Tag: "沉睡30天", Sync: true,
		When: rule.Event(scrm.EventOrderPaid).LastOlderThan(30 * 24 * time.Hour)})
	for i, c := range []scrm.CustomerID{"C1", "C2", "C3"} {
		_ = profiles.Handle(ctx, scrm.Event{ID: fmt.Sprint("o", i), Tenant: "shop", Customer: c, Type: scrm.EventOrderPaid,
			Time: clock.Now().Add(time.Duration(i) * 10 * 24 * time.Hour), Amount: scrm.Yuan("50.00")})
	}
	_, _ = tags.Apply(ctx, tagging.ApplyRequest{Tenant: "shop", Customer: "C3", Tag: "新品试用", Expires: clock.Now().Add(14 * 24 * time.Hour)})

	for _, days := range []int{35, 10} {
		clock.Advance(time.Duration(days) * 24 * time.Hour)
		res, err := tags.Sweep(ctx, "shop", tagging.SweepOptions{})
		if err != nil {
			fmt.Println(err)
		}
		dormant, _ := tags.Count(ctx, "shop", "沉睡30天")
		fmt.Printf("day %d: scanned %d, applied %d, removed %d, expired %d; dormant: %d\n",
			days, res.Scanned, res.Applied, res.Removed, res.Expired, dormant)
	}
	// Output:
	// day 35: scanned 3, applied 1, removed 0, expired 1; dormant: 1
	// day 10: scanned 3, applied 1, removed 0, expired 0; dormant: 2
}

// Keyword rules compare normalized text: full-width forms folded, Latin
// letters lower-cased, white space collapsed.
func ExampleNormalizeText() {
	fmt.Printf("%q\n", tagging.NormalizeText("  ＳＴＯＰ　别发了！ "))
	// Output:
	// "stop 别发了!"
}
