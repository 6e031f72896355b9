// Command quickstart shows scrmkit's kernel end to end on the in-memory
// stores, with a simulated clock: it resolves customers from mixed
// identities (one of them turns out to be the same person and is merged),
// feeds their events through a Dispatcher into profiles, and evaluates three
// operator rules, written as the JSON an operator UI would save, against
// every profile, with an Explain trace for one.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

const tenant scrm.TenantID = "demo-coffee"

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	shanghai := scrm.DefaultLocation()
	clock := scrmtest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, shanghai))

	// Profiles go first in the dispatcher, so later handlers read profiles
	// that already include the event.
	profiles := scrm.NewProfiles(scrm.NewMemoryProfileStore(), nil)
	var merges []string
	dispatcher := scrm.NewDispatcher(profiles, scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		if e.Type == scrm.EventCustomerMerged {
			merges = append(merges, fmt.Sprintf("%s merged into %s", e.Prop("from"), e.Prop("into")))
		}
		return nil
	}))
	ids := 0
	dir := scrm.NewDirectory(scrm.NewMemoryDirectoryStore(), &scrm.Options{
		Clock:     clock,
		Publisher: dispatcher,
		NewID:     func() string { ids++; return fmt.Sprintf("C%03d", ids) },
	})

	// 1. Customers arrive through different channels.
	resolve := func(idents ...scrm.Identity) scrm.CustomerID {
		id, err := dir.Resolve(ctx, tenant, idents...)
		if err != nil {
			log.Fatal(err)
		}
		return id
	}
	lilei := resolve(scrm.Identity{Kind: scrm.IdentityPhone, Value: "+86 138-0013-8000"}) // registered in the mini-program
	clock.Advance(time.Hour)
	wecom := resolve(scrm.Identity{Kind: scrm.IdentityWeComExternal, Value: "wmEXT_7f3a"}) // added the store manager on WeCom
	clock.Advance(time.Hour)
	meimei := resolve(scrm.Identity{Kind: scrm.IdentityUnionID, Value: "oUNION_hmm"}, scrm.Identity{Kind: scrm.IdentityMemberNo, Value: "M10086"})
	clock.Advance(time.Hour)
	wangfang := resolve(scrm.Identity{Kind: scrm.IdentityOpenID, Value: "oOPEN_wf"}) // followed the official account
	clock.Advance(time.Hour)
	fmt.Fprintf(w, "resolved: 李雷 %s, WeCom contact %s, 韩梅梅 %s, 王芳 %s\n", lilei, wecom, meimei, wangfang)

	// Events for each, over the past months (times relative to the clock).
	now := clock.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const day = 24 * time.Hour
	n := 0
	publish := func(c scrm.CustomerID, typ string, at time.Time, amount string, props map[string]any) {
		n++
		e := scrm.Event{ID: fmt.Sprintf("ev-%03d", n), Tenant: tenant, Customer: c, Type: typ, Time: at, Props: props}
		if amount != "" {
			e.Amount = scrm.Yuan(amount)
		}
		if err := dispatcher.Publish(ctx, e); err != nil {
			log.Fatal(err)
		}
	}
	attrs := func(m map[string]any) map[string]any { return map[string]any{"attrs": m} }
	publish(lilei, scrm.EventAttrsSet, ago(200*day), "", attrs(map[string]any{"city": "上海", "name": "李雷", "birthday": "1992-11-05"}))
	publish(lilei, scrm.EventOrderPaid, ago(75*day), "168.00", nil)
	publish(lilei, scrm.EventOrderPaid, ago(40*day), "88.00", nil)
	publish(wecom, scrm.EventCustomerAdded, ago(3*day), "", nil)
	publish(wecom, scrm.EventGroupJoined, ago(2*day), "", map[string]any{"group": "静安店福利群"})
	publish(wecom, scrm.EventOrderPaid, ago(2*day), "129.00", nil)
	publish(meimei, scrm.EventAttrsSet, ago(20*day), "", attrs(map[string]any{"city": "杭州", "name": "韩梅梅", "birthday": "1995-03-18"}))
	publish(meimei, scrm.EventCustomerAdded, ago(5*day), "", nil)
	publish(meimei, scrm.EventPageViewed, ago(1*day), "", map[string]any{"product": "挂耳咖啡"})
	publish(wangfang, scrm.EventAttrsSet, ago(90*day), "", attrs(map[string]any{"city": "南京", "name": "王芳"}))
	publish(wangfang, scrm.EventOrderPaid, ago(45*day), "59.90", nil)

	// 2. The WeCom contact binds their phone: it is 李雷. The directory
	//    merges the two customers (the older survives) and publishes
	//    customer.merged, which folds the profiles together.
	same := resolve(scrm.Identity{Kind: scrm.IdentityWeComExternal, Value: "wmEXT_7f3a"}, scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	fmt.Fprintf(w, "WeCom contact binds phone 138****8000 → %s\n", same)
	for _, m := range merges {
		fmt.Fprintln(w, "  event:", m)
	}
	absorbed, err := dir.Get(ctx, tenant, wecom)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  Get(%s) now returns %s with %d identities\n", wecom, absorbed.ID, len(absorbed.Identities))

	// 3. Three rules, as an operator UI saves them.
	rules := []struct{ name, json string }{
		{"高价值复购 (repeat buyer, high value)", `{"all": [
			{"event": "order.paid", "within": "90d", "count": {"gte": 2}},
			{"event": "order.paid", "within": "90d", "sum": {"gte": "300.00"}}]}`},
		{"沉睡预警 (no order for 30 days)", `{"event": "order.paid", "last": {"olderThan": "30d"}}`},
		{"沪杭新客待转化 (new lead in 上海/杭州, no order yet)", `{"all": [
			{"attr": "city", "op": "in", "value": ["上海", "杭州"]},
			{"event": "customer.added", "within": "7d"},
			{"not": {"event": "order.paid"}},
			{"any": [{"tag": "到店未成交"}, {"attr": "birthday", "op": "birthdayWithin", "value": "30d"}, {"event": "page.viewed", "within": "7d"}]}]}`},
	}
	programs := make([]*rule.Program, len(rules))
	for i, r := range rules {
		var c rule.Condition
		if err := c.UnmarshalJSON([]byte(r.json)); err != nil {
			return fmt.Errorf("rule %q: %w", r.name, err)
		}
		if programs[i], err = rule.Compile(c, &rule.CompileOptions{Location: shanghai}); err != nil {
			return fmt.Errorf("rule %q: %w", r.name, err)
		}
	}

	// 4. Every profile, and the rules it matches now.
	fmt.Fprintf(w, "\nprofiles at %s:\n", now.Format("2006-01-02 15:04 MST"))
	for _, id := range []scrm.CustomerID{lilei, meimei, wangfang} {
		p, err := profiles.Get(ctx, tenant, id)
		if err != nil {
			return err
		}
		name, _ := p.Attr("name")
		city, _ := p.Attr("city")
		fmt.Fprintf(w, "- %s %v (%v): orders %d, spent ¥%s, in the last 90 days %d / ¥%s",
			p.Customer, name, city,
			p.Count(scrm.EventOrderPaid, time.Time{}), p.Sum(scrm.EventOrderPaid, time.Time{}).StringFixed(2),
			p.Count(scrm.EventOrderPaid, now.Add(-90*day)), p.Sum(scrm.EventOrderPaid, now.Add(-90*day)).StringFixed(2))
		if last, ok := p.Last(scrm.EventOrderPaid); ok {
			fmt.Fprintf(w, ", last order %s", last.In(shanghai).Format("01-02"))
		}
		fmt.Fprintln(w)
		var matched []string
		for i, prog := range programs {
			if prog.Eval(p, now) {
				matched = append(matched, rules[i].name)
			}
		}
		if len(matched) == 0 {
			matched = []string{"(none)"}
		}
		fmt.Fprintf(w, "    matches: %s\n", strings.Join(matched, "; "))
	}

	// 5. Why does 韩梅梅 match the third rule? Explain shows each node.
	p, err := profiles.Get(ctx, tenant, meimei)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nexplain %q for %s:\n", rules[2].name, meimei)
	fmt.Fprint(w, programs[2].Explain(p, now).String())
	return nil
}
