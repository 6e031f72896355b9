package scrm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Customers added by two stores' staff; some join the store's group chat.
// The join rate (加群率) compares stores: of the customers added this week,
// how many joined a group within 7 days?
func ExampleGroups_JoinRate() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation())
	var bus *scrm.Dispatcher
	opts := &scrm.Options{
		Clock:     scrm.ClockFunc(func() time.Time { return now }),
		Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return bus.Publish(ctx, e) }),
	}
	team := scrm.NewTeam(nil, opts)
	groups := scrm.NewGroups(nil, opts)
	bus = scrm.NewDispatcher(team, groups) // in a host: Profiles first, then the rest

	_ = team.PutStaff(ctx, scrm.Staff{Tenant: "acme", ID: "xiaozhang", Store: "jingan", Active: true, Codes: []string{"qr-zhang"}})
	_ = team.PutStaff(ctx, scrm.Staff{Tenant: "acme", ID: "xiaowang", Store: "xuhui", Active: true})
	_ = groups.PutGroup(ctx, scrm.Group{Tenant: "acme", ID: "jingan-vip", Name: "静安店福利群", Owner: "xiaozhang", Store: "jingan"})

	publish := func(id string, c scrm.CustomerID, typ string, props map[string]any) {
		if err := bus.Publish(ctx, scrm.Event{ID: id, Tenant: "acme", Customer: c, Type: typ, Time: now, Props: props}); err != nil {
			fmt.Println(err)
		}
	}
	weekStart := now
	// Monday: three customers scan 小张's code, two walk into 徐汇.
	for i, c := range []scrm.CustomerID{"C1", "C2", "C3"} {
		publish(fmt.Sprintf("add-%d", i), c, scrm.EventCustomerAdded, map[string]any{"channel_code": "qr-zhang"})
	}
	publish("add-4", "C4", scrm.EventCustomerAdded, map[string]any{"store": "xuhui"})
	publish("add-5", "C5", scrm.EventCustomerAdded, map[string]any{"store": "xuhui"})
	// Over the week, C1 and C2 join 静安's group, C4 joins 徐汇's; C2 leaves.
	now = now.Add(26 * time.Hour)
	publish("join-1", "C1", scrm.EventGroupJoined, map[string]any{"group": "jingan-vip"})
	publish("join-2", "C2", scrm.EventGroupJoined, map[string]any{"group": "jingan-vip"})
	publish("join-4", "C4", scrm.EventGroupJoined, map[string]any{"group": "xuhui-vip"})
	now = now.Add(time.Hour)
	publish("left-2", "C2", scrm.EventGroupLeft, map[string]any{"group": "jingan-vip"})

	size, _ := groups.Size(ctx, "acme", "jingan-vip")
	members, _ := groups.Members(ctx, scrm.ListMembersParams{Tenant: "acme", Group: "jingan-vip"})
	fmt.Println("jingan-vip size:", size, "first member:", members.Members[0].Customer)
	of, _ := groups.GroupsOf(ctx, "acme", "C4")
	fmt.Println("C4 is in:", of[0].Group)

	now = weekStart.Add(8 * 24 * time.Hour)
	report, err := groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "acme", By: scrm.JoinRateByStore, From: weekStart, To: weekStart.Add(7 * 24 * time.Hour)})
	if err != nil {
		fmt.Println(err)
	}
	for _, r := range report.Rows {
		fmt.Printf("%-7s added %d, joined a group within 7 days %d: %s\n", r.Key, r.Added, r.Joined, r.Rate)
	}
	fmt.Printf("all     added %d, joined %d: %s\n", report.Total.Added, report.Total.Joined, report.Total.Rate)

	// Output:
	// jingan-vip size: 1 first member: C1
	// C4 is in: xuhui-vip
	// jingan  added 3, joined a group within 7 days 2: 0.6667
	// xuhui   added 2, joined a group within 7 days 1: 0.5
	// all     added 5, joined 3: 0.6
}
