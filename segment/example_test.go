package segment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/segment"
)

// Example wires a segment Service into a Dispatcher, refreshes a segment an
// operator saved as JSON, and keeps it current as events arrive.
func Example() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, scrm.DefaultLocation()))
	profiles := scrm.NewMemoryProfileStore()

	var segments *segment.Service
	bus := scrm.NewDispatcher(
		scrm.NewProfiles(profiles, nil), // first: later handlers read updated profiles
		scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error { return segments.Handle(ctx, e) }),
		scrm.HandlerFunc(func(_ context.Context, e scrm.Event) error {
			if e.Type == scrm.EventSegmentEntered || e.Type == scrm.EventSegmentExited {
				fmt.Printf("  event %s %s (%s)\n", e.Type, e.Customer, e.Prop("source"))
			}
			return nil
		}),
	)
	segments = segment.New(segment.NewMemoryStore(), profiles, &segment.Options{Options: scrm.Options{Clock: clock, Publisher: bus}})

	n := 0
	order := func(c scrm.CustomerID, daysAgo int, amount string) {
		n++
		_ = bus.Publish(ctx, scrm.Event{ID: fmt.Sprint("order-", n), Tenant: "shop", Customer: c, Type: scrm.EventOrderPaid,
			Time: clock.Now().Add(-time.Duration(daysAgo) * 24 * time.Hour), Amount: scrm.Yuan(amount)})
	}
	order("李雷", 3, "168.00")
	order("李雷", 20, "99.00")
	order("韩梅梅", 5, "58.00")
	order("王芳", 50, "520.00")

	// What an operator UI saves: two orders in 30 days, or ¥500 in 90.
	var when rule.Condition
	_ = json.Unmarshal([]byte(`{"any": [
		{"event": "order.paid", "within": "30d", "count": {"gte": 2}},
		{"event": "order.paid", "within": "90d", "sum": {"gte": "500.00"}}]}`), &when)
	if _, err := segments.Define(ctx, segment.Segment{Tenant: "shop", ID: "active-buyers", Name: "活跃买家", When: when}); err != nil {
		fmt.Println(err)
		return
	}

	fmt.Println("refresh:")
	d, _ := segments.Refresh(ctx, "shop", "active-buyers")
	fmt.Println("  entered", d.Entered, "exited", d.Exited, "size", d.Size)

	fmt.Println("韩梅梅 orders again:")
	order("韩梅梅", 0, "32.00")

	fmt.Println("a month later:")
	clock.Advance(31 * 24 * time.Hour)
	d, _ = segments.Refresh(ctx, "shop", "active-buyers")
	fmt.Println("  entered", d.Entered, "exited", d.Exited, "size", d.Size)
	page, _ := segments.Members(ctx, "shop", "active-buyers", "", 10)
	fmt.Println("members:", page.Customers)

	// Output:
	// refresh:
	//   event segment.entered 李雷 (refresh)
	//   event segment.entered 王芳 (refresh)
	//   entered [李雷 王芳] exited [] size 2
	// 韩梅梅 orders again:
	//   event segment.entered 韩梅梅 (event)
	// a month later:
	//   event segment.exited 李雷 (refresh)
	//   event segment.exited 韩梅梅 (refresh)
	//   entered [] exited [李雷 韩梅梅] size 1
	// members: [王芳]
}

// ExampleService_Add keeps an uploaded list as a static segment.
func ExampleService_Add() {
	ctx := context.Background()
	profiles := scrm.NewMemoryProfileStore()
	segments := segment.New(nil, profiles, nil)
	_, _ = segments.Define(ctx, segment.Segment{Tenant: "shop", ID: "double11", Name: "双11 邀约名单", Static: true})

	d, _ := segments.Add(ctx, "shop", "double11", "c3", "c1", "c2", "c1")
	fmt.Println("entered", d.Entered, "size", d.Size)
	d, _ = segments.Add(ctx, "shop", "double11", "c1")
	fmt.Println("again: entered", d.Entered, "size", d.Size)
	d, _ = segments.Remove(ctx, "shop", "double11", "c2")
	fmt.Println("exited", d.Exited, "size", d.Size)

	// Conditions elsewhere (coupon audiences, SOP triggers) read the
	// membership from the profile.
	p, _ := profiles.Get(ctx, "shop", "c3")
	prog := rule.MustCompile(rule.InSegment("double11"), nil)
	fmt.Println("c3 matches {\"segment\": \"double11\"}:", prog.Eval(p, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)))

	// Output:
	// entered [c1 c2 c3] size 3
	// again: entered [] size 3
	// exited [c2] size 2
	// c3 matches {"segment": "double11"}: true
}

// ExampleSplit assigns customers to a 10% holdout and two treatments.
func ExampleSplit() {
	counts := make([]int, 3)
	for i := 0; i < 10_000; i++ {
		counts[segment.Split(fmt.Sprintf("C%05d", i), "double11-coupon", 10, 45, 45)]++
	}
	fmt.Println("holdout, A, B:", counts)
	fmt.Println("C00042 is in arm", segment.Split("C00042", "double11-coupon", 10, 45, 45))
	fmt.Println("always the same arm:", segment.Split("C00042", "double11-coupon", 10, 45, 45))
	fmt.Println("no weights:", segment.Split("C00042", "x"), segment.CheckWeights())

	// Output:
	// holdout, A, B: [994 4569 4437]
	// C00042 is in arm 1
	// always the same arm: 1
	// no weights: -1 segment.Split: weights: at least one arm is required
}

// ExampleScoreRFM scores customers by quintiles and classifies them.
func ExampleScoreRFM() {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	buy := func(id scrm.CustomerID, orders ...any) *scrm.Profile {
		p := scrm.NewProfile("shop", id)
		for i := 0; i < len(orders); i += 2 {
			p.Apply(scrm.Event{ID: fmt.Sprint(i), Tenant: "shop", Customer: id, Type: scrm.EventOrderPaid,
				Time: now.AddDate(0, 0, -orders[i].(int)), Amount: scrm.Yuan(orders[i+1].(string))})
		}
		return p
	}
	profiles := []*scrm.Profile{
		buy("李雷", 2, "368.00", 15, "128.00", 40, "99.00", 70, "256.00"),
		buy("韩梅梅", 5, "1288.00"),
		buy("王芳", 120, "88.00", 150, "66.00", 200, "120.00"),
		buy("张伟", 300, "39.00"),
		buy("赵敏", 9, "45.00", 30, "36.00"),
		scrm.NewProfile("shop", "新粉丝"),
	}
	scores, err := segment.ScoreRFM(profiles, segment.RFMConfig{Quantiles: true}, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range scores {
		if !s.Scored {
			fmt.Printf("%s\tno orders in the window\n", s.Customer)
			continue
		}
		fmt.Printf("%s\tlast %3dd  %d×  ¥%-8s R%d F%d M%d %s (%s)\n", s.Customer, int(s.Recency.Hours()/24), s.Frequency,
			s.Monetary.StringFixed(2), s.R, s.F, s.M, s.Class, s.Class.English())
	}
	// Output:
	// 李雷	last   2d  4×  ¥851.00   R5 F5 M4 重要价值 (Important Value)
	// 韩梅梅	last   5d  1×  ¥1288.00  R4 F1 M5 重要发展 (Important Develop)
	// 王芳	last 120d  3×  ¥274.00   R2 F4 M3 一般保持 (General Keep)
	// 张伟	last 300d  1×  ¥39.00    R1 F1 M1 一般挽留 (General Retain)
	// 赵敏	last   9d  2×  ¥81.00    R3 F3 M2 一般保持 (General Keep)
	// 新粉丝	no orders in the window
}

// ExampleLifecycle_Stage places customers in the default retail lifecycle
// and in a custom one.
func ExampleLifecycle_Stage() {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	profile := func(daysAgo ...int) *scrm.Profile {
		p := scrm.NewProfile("shop", "c")
		for _, d := range daysAgo {
			p.Apply(scrm.Event{ID: "o", Tenant: "shop", Customer: "c", Type: scrm.EventOrderPaid, Time: now.AddDate(0, 0, -d), Amount: scrm.Yuan("50")})
		}
		return p
	}
	l := segment.DefaultLifecycle()
	for _, days := range [][]int{nil, {12}, {200, 3}, {45}, {95}} {
		fmt.Printf("orders %v days ago: %s\n", days, l.Stage(profile(days...), now))
	}

	vip, err := segment.NewLifecycle([]segment.Stage{
		{Name: "高净值", When: rule.Event(scrm.EventOrderPaid).Within(365 * 24 * time.Hour).SumGte(decimal.NewFromInt(100))},
		{Name: "普通"},
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vip.Stage(profile(1, 2), now), vip.Stage(profile(1), now))
	_, err = segment.NewLifecycle(nil, nil)
	fmt.Println(err)

	// Output:
	// orders [] days ago: prospect
	// orders [12] days ago: new
	// orders [200 3] days ago: active
	// orders [45] days ago: dormant
	// orders [95] days ago: churned
	// 高净值 普通
	// segment.NewLifecycle: Stages: a lifecycle needs at least one stage
}

// ExampleValueScorer_Explain scores a customer with the default model and
// shows each feature's contribution.
func ExampleValueScorer_Explain() {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("shop", "c1")
	event := func(typ string, daysAgo int, amount string) {
		e := scrm.Event{ID: "x", Tenant: "shop", Customer: "c1", Type: typ, Time: now.AddDate(0, 0, -daysAgo)}
		if amount != "" {
			e.Amount = scrm.Yuan(amount)
		}
		p.Apply(e)
	}
	event(scrm.EventOrderPaid, 18, "1280.00")
	event(scrm.EventOrderPaid, 60, "699.00")
	event(scrm.EventOrderPaid, 150, "399.00")
	for d := 0; d < 12; d++ {
		event(scrm.EventPageViewed, d*5, "")
	}
	event(scrm.EventMessageReplied, 2, "")
	event(segment.EventReferralQualified, 30, "")

	v, err := segment.NewValueScorer(segment.DefaultValueModel())
	if err != nil {
		fmt.Println(err)
		return
	}
	ex := v.Explain(p, now)
	fmt.Printf("score %.2f, band %s\n", ex.Score, ex.Band)
	for _, c := range ex.Contributions {
		fmt.Printf("  %-10s %-12s %5.2f points (weight %.0f%%)\n", c.Feature, c.Observed, c.Points, c.Weight*100)
	}

	// Output:
	// score 51.47, band C
	//   recency    18 days ago  27.00 points (weight 30%)
	//   frequency  3 events      6.25 points (weight 25%)
	//   monetary   ¥2378.00     11.89 points (weight 25%)
	//   engagement 13 events     4.33 points (weight 10%)
	//   referrals  1 event       2.00 points (weight 10%)
}
