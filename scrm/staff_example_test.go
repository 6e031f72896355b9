package scrm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// A store's two shopping guides; a customer scans one guide's channel code,
// and when that guide leaves, her customers are handed to a colleague.
func ExampleTeam() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var bus *scrm.Dispatcher
	team := scrm.NewTeam(scrm.NewMemoryStaffStore(), &scrm.Options{
		Clock:     scrm.ClockFunc(func() time.Time { return now }),
		Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return bus.Publish(ctx, e) }),
	})
	// Whoever else listens: sop moves pending staff tasks on owner changes.
	listener := scrm.HandlerFunc(func(_ context.Context, e scrm.Event) error {
		if e.Type == scrm.EventOwnerChanged {
			fmt.Printf("%s: %s %q -> %q (%s)\n", e.ID, e.Customer, e.Prop("from"), e.Prop("to"), e.Prop("reason"))
		}
		return nil
	})
	bus = scrm.NewDispatcher(team, listener)

	for _, s := range []scrm.Staff{
		{Tenant: "acme", ID: "xiaozhang", Name: "张小燕", Store: "jingan", Active: true, Codes: []string{"qr-zhang"}},
		{Tenant: "acme", ID: "xiaoli", Name: "李明", Store: "jingan", Active: true},
	} {
		if err := team.PutStaff(ctx, s); err != nil {
			fmt.Println(err)
		}
	}

	// Two customers scan 小张's channel code; a third walks into the store.
	for i, props := range []map[string]any{
		{"channel_code": "qr-zhang"},
		{"channel_code": "qr-zhang"},
		{"store": "jingan"},
	} {
		e := scrm.Event{ID: fmt.Sprintf("add-%d", i+1), Tenant: "acme", Customer: scrm.CustomerID(fmt.Sprintf("C%d", i+1)),
			Type: scrm.EventCustomerAdded, Time: now, Props: props}
		if err := bus.Publish(ctx, e); err != nil {
			fmt.Println(err)
		}
	}

	// 小张 leaves: her customers go to 小李, in one step.
	now = now.Add(24 * time.Hour)
	res, err := team.Deactivate(ctx, scrm.DeactivateRequest{Tenant: "acme", Staff: "xiaozhang", To: "xiaoli", IdempotencyKey: "leave-xiaozhang"})
	fmt.Println("moved:", len(res.Changes), "deactivated:", res.Deactivated, err)

	page, _ := team.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: "acme", Staff: "xiaoli"})
	fmt.Println("xiaoli owns", page.Customers)
	history, _ := team.History(ctx, "acme", "C1")
	for _, c := range history {
		fmt.Printf("C1 #%d %s→%s at %s\n", c.Seq, c.From, c.To, c.At.Format("01-02"))
	}
	s, _ := team.Staff(ctx, "acme", "xiaozhang")
	fmt.Println(s)

	// Output:
	// owner:C1:1: C1 "" -> "xiaozhang" (channel_code)
	// owner:C2:1: C2 "" -> "xiaozhang" (channel_code)
	// owner:C3:1: C3 "" -> "xiaoli" (store_rule)
	// owner:C1:2: C1 "xiaozhang" -> "xiaoli" (departure)
	// owner:C2:2: C2 "xiaozhang" -> "xiaoli" (departure)
	// moved: 2 deactivated: true <nil>
	// xiaoli owns [C1 C2 C3]
	// C1 #1 →xiaozhang at 03-01
	// C1 #2 xiaozhang→xiaoli at 03-02
	// staff acme/xiaozhang 张** store=jingan inactive codes=1
}
