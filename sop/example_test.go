package sop_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

// printingChannel records each message and prints it with the simulated
// time it went out.
func printingChannel(clock *scrmtest.Clock, rec *scrmtest.Recorder) scrm.Channel {
	return scrm.ChannelFunc(func(ctx context.Context, m scrm.Message) (scrm.Receipt, error) {
		to := string(m.Customer)
		if to == "" {
			to = "group " + m.Group
		}
		fmt.Printf("%s  %-8s %s\n", clock.Now().In(scrm.DefaultLocation()).Format("Mon 01-02 15:04"), to, m.Template)
		return rec.Send(ctx, m)
	})
}

// tick advances the simulated clock to end, running due jobs every step.
func tick(ctx context.Context, svc *sop.Service, clock *scrmtest.Clock, end time.Time, step time.Duration) {
	for first := true; first || clock.Now().Before(end); first = false {
		if !first {
			clock.Advance(step)
		}
		for {
			r, err := svc.RunDue(ctx, sop.RunRequest{Worker: "example"})
			if err != nil {
				panic(err)
			}
			if r.Claimed == 0 {
				break
			}
		}
	}
}

// A welcome SOP: a customer who adds the store manager gets a welcome
// within minutes, unless it is night (quiet hours), and a coupon the next
// morning.
func Example() {
	ctx := context.Background()
	sh := scrm.DefaultLocation()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 22, 40, 0, 0, sh))
	rec := scrmtest.NewRecorder()
	profiles := scrm.NewMemoryProfileStore()
	svc := sop.New(sop.NewMemoryStore(), profiles, &sop.Options{
		Options: scrm.Options{Clock: clock},
		Channel: printingChannel(clock, rec),
		Rewarder: scrm.RewarderFunc(func(_ context.Context, g scrm.Grant) error {
			fmt.Printf("%s  %-8s coupon %s (key %s)\n", clock.Now().In(sh).Format("Mon 01-02 15:04"), g.Customer, g.Reward.Template, g.IdempotencyKey)
			return nil
		}),
	})
	d := scrm.NewDispatcher(scrm.NewProfiles(profiles, nil), svc)

	_, err := svc.PutPlaybook(ctx, sop.Playbook{
		Tenant: "shop", ID: "welcome", Name: "加好友欢迎",
		Trigger: sop.Trigger{Event: scrm.EventCustomerAdded},
		Steps: []sop.Step{
			{ID: "hello", After: 5 * time.Minute, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "欢迎语"}},
			{ID: "coupon", Day: 1, At: "10:00", Action: sop.Action{Kind: sop.Reward, Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "new-10"}}},
		},
	})
	if err != nil {
		panic(err)
	}
	_, err = svc.SetPolicy(ctx, "shop", sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "08:00"}})
	if err != nil {
		panic(err)
	}
	// Alice adds the manager at 22:40, Bob at 08:30 the next morning.
	publish := func(id string, c scrm.CustomerID) {
		if err := d.Publish(ctx, scrm.Event{ID: id, Tenant: "shop", Customer: c, Type: scrm.EventCustomerAdded, Time: clock.Now()}); err != nil {
			panic(err)
		}
	}
	publish("e1", "alice")
	tick(ctx, svc, clock, time.Date(2026, 3, 3, 8, 30, 0, 0, sh), time.Minute)
	publish("e2", "bob")
	tick(ctx, svc, clock, time.Date(2026, 3, 4, 12, 0, 0, 0, sh), time.Minute)

	st, _ := svc.Stats(ctx, "shop", "welcome")
	for _, s := range st.Steps {
		fmt.Printf("%s: enrolled %d, sent %d, deferred %d\n", s.Step, s.Enrolled, s.Sent, s.Deferred)
	}
	// Output:
	// Tue 03-03 08:00  alice    欢迎语
	// Tue 03-03 08:35  bob      欢迎语
	// Tue 03-03 10:00  alice    coupon new-10 (key sop:shop:welcome:alice:1:coupon)
	// Wed 03-04 10:00  bob      coupon new-10 (key sop:shop:welcome:bob:1:coupon)
	// hello: enrolled 2, sent 2, deferred 1
	// coupon: enrolled 2, sent 2, deferred 0
}

// A tag-triggered day-N sequence with an exit: customers tagged 新客 get
// messages on day 1, 3, 8 and 15 at 10:00, until they buy.
func Example_dayNSequence() {
	ctx := context.Background()
	sh := scrm.DefaultLocation()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 15, 0, 0, 0, sh))
	profiles := scrm.NewMemoryProfileStore()
	svc := sop.New(nil, profiles, &sop.Options{
		Options: scrm.Options{Clock: clock},
		Channel: printingChannel(clock, scrmtest.NewRecorder()),
	})
	d := scrm.NewDispatcher(scrm.NewProfiles(profiles, nil), svc)
	exit := rule.Event(scrm.EventOrderPaid).Happened()
	step := func(id string, day int) sop.Step {
		return sop.Step{ID: id, Day: day, At: "10:00", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: id}}
	}
	_, err := svc.PutPlaybook(ctx, sop.Playbook{
		Tenant: "shop", ID: "new-lead",
		Trigger: sop.Trigger{Tag: "新客"},
		Steps:   []sop.Step{step("day1", 1), step("day3", 3), step("day8", 8), step("day15", 15)},
		Exit:    &exit,
	})
	if err != nil {
		panic(err)
	}
	event := func(id string, c scrm.CustomerID, typ string, props map[string]any) {
		if err := d.Publish(ctx, scrm.Event{ID: id, Tenant: "shop", Customer: c, Type: typ, Time: clock.Now(), Props: props}); err != nil {
			panic(err)
		}
	}
	// The tagging service would publish these when its rules apply 新客.
	event("t1", "amy", scrm.EventTagApplied, map[string]any{"tag": "新客"})
	event("t2", "ben", scrm.EventTagApplied, map[string]any{"tag": "新客"})
	tick(ctx, svc, clock, time.Date(2026, 3, 6, 9, 0, 0, 0, sh), 30*time.Minute)
	event("o1", "ben", scrm.EventOrderPaid, nil) // ben buys on day 4
	tick(ctx, svc, clock, time.Date(2026, 3, 18, 0, 0, 0, 0, sh), 30*time.Minute)

	ens, _ := svc.Enrollments(ctx, "shop", "ben")
	fmt.Println("ben:", ens[0].State, "-", ens[0].Reason)
	// Output:
	// Tue 03-03 10:00  amy      day1
	// Tue 03-03 10:00  ben      day1
	// Thu 03-05 10:00  amy      day3
	// Thu 03-05 10:00  ben      day3
	// Tue 03-10 10:00  amy      day8
	// Tue 03-17 10:00  amy      day15
	// ben: exited - exit condition (on order.paid)
}

// Task actions give staff a to-do list; completing a task records whether it
// was on time.
func ExampleService_CompleteTask() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation()))
	svc := sop.New(nil, scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clock}})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "shop", ID: "vip-care", Steps: []sop.Step{{
		ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "manager-li", Template: "回访高价值客户", Deadline: 4 * time.Hour},
	}}})
	if err != nil {
		panic(err)
	}
	for _, c := range []scrm.CustomerID{"c1", "c2"} {
		if _, err := svc.Enroll(ctx, sop.EnrollRequest{Tenant: "shop", Playbook: "vip-care", Customer: c}); err != nil {
			panic(err)
		}
	}
	if _, err := svc.RunDue(ctx, sop.RunRequest{}); err != nil {
		panic(err)
	}
	open, _ := svc.Tasks(ctx, "shop", "manager-li", sop.TaskOpen)
	fmt.Println("open tasks:", len(open))
	clock.Advance(time.Hour)
	t1, _ := svc.CompleteTask(ctx, "shop", open[0].ID)
	clock.Advance(5 * time.Hour)
	t2, _ := svc.CompleteTask(ctx, "shop", open[1].ID)
	fmt.Println(t1.Customer, "on time:", t1.OnTime)
	fmt.Println(t2.Customer, "on time:", t2.OnTime)
	// Output:
	// open tasks: 2
	// c1 on time: true
	// c2 on time: false
}

// A weekly group calendar: Monday 种草, Wednesday 会员日, Friday 裂变.
func ExampleService_PutCalendar() {
	ctx := context.Background()
	sh := scrm.DefaultLocation()
	clock := scrmtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, sh)) // a Sunday
	svc := sop.New(nil, scrm.NewMemoryProfileStore(), &sop.Options{
		Options: scrm.Options{Clock: clock},
		Channel: printingChannel(clock, scrmtest.NewRecorder()),
	})
	post := func(wd time.Weekday, at, template string, groups ...string) sop.Entry {
		return sop.Entry{Weekday: wd, At: at, Groups: groups, Channel: scrm.ChannelWeComGroup, Template: template}
	}
	_, err := svc.PutCalendar(ctx, sop.Calendar{Tenant: "shop", ID: "weekly", Entries: []sop.Entry{
		post(time.Monday, "10:00", "种草", "g-north"),
		post(time.Wednesday, "12:00", "会员日", "g-north", "g-south"),
		post(time.Friday, "20:00", "裂变", "g-south"),
	}})
	if err != nil {
		panic(err)
	}
	tick(ctx, svc, clock, time.Date(2026, 3, 10, 0, 0, 0, 0, sh), 15*time.Minute)
	// Output:
	// Mon 03-02 10:00  group g-north 种草
	// Wed 03-04 12:00  group g-north 会员日
	// Wed 03-04 12:00  group g-south 会员日
	// Fri 03-06 20:00  group g-south 裂变
	// Mon 03-09 10:00  group g-north 种草
}
