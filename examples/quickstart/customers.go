package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// customersAndRules is part 1: OneID, profiles and operator rules.
func (a *app) customersAndRules() error {
	a.printf("== 1. customers, profiles and rules\n")
	lilei, err := a.resolve(scrm.Identity{Kind: scrm.IdentityPhone, Value: "+86 138-0013-8000"}) // registered in the mini-program
	if err != nil {
		return err
	}
	a.clock.Advance(time.Hour)
	wecom, err := a.resolve(scrm.Identity{Kind: scrm.IdentityWeComExternal, Value: "wmEXT_7f3a"}) // added the store manager on WeCom
	if err != nil {
		return err
	}
	a.clock.Advance(time.Hour)
	meimei, err := a.resolve(scrm.Identity{Kind: scrm.IdentityUnionID, Value: "oUNION_hmm"}, scrm.Identity{Kind: scrm.IdentityMemberNo, Value: "M10086"})
	if err != nil {
		return err
	}
	a.clock.Advance(time.Hour)
	wangfang, err := a.resolve(scrm.Identity{Kind: scrm.IdentityOpenID, Value: "oOPEN_wf"}) // followed the official account
	if err != nil {
		return err
	}
	a.clock.Advance(time.Hour)
	a.printf("resolved: 李雷 %s, WeCom contact %s, 韩梅梅 %s, 王芳 %s\n", lilei, wecom, meimei, wangfang)

	// Their history over the past months (times relative to the clock).
	now := a.clock.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	attrs := func(m map[string]any) map[string]any { return map[string]any{"attrs": m} }
	for _, e := range []struct {
		c      scrm.CustomerID
		typ    string
		at     time.Time
		amount string
		props  map[string]any
	}{
		{lilei, scrm.EventAttrsSet, ago(200 * day), "", attrs(map[string]any{"city": "上海", "name": "李雷", "birthday": "1992-11-05"})},
		{lilei, scrm.EventOrderPaid, ago(75 * day), "168.00", nil},
		{lilei, scrm.EventOrderPaid, ago(40 * day), "88.00", nil},
		{wecom, scrm.EventCustomerAdded, ago(3 * day), "", nil},
		{wecom, scrm.EventGroupJoined, ago(2 * day), "", map[string]any{"group": "静安店福利群"}},
		{wecom, scrm.EventOrderPaid, ago(2 * day), "129.00", nil},
		{meimei, scrm.EventAttrsSet, ago(20 * day), "", attrs(map[string]any{"city": "杭州", "name": "韩梅梅", "birthday": "1995-03-18"})},
		{meimei, scrm.EventCustomerAdded, ago(5 * day), "", nil},
		{meimei, scrm.EventPageViewed, ago(1 * day), "", map[string]any{"product": "挂耳咖啡"}},
		{meimei, scrm.EventMessageReplied, ago(20 * time.Hour), "", map[string]any{"text": "活动不需要，别发了"}},
		{wangfang, scrm.EventAttrsSet, ago(90 * day), "", attrs(map[string]any{"city": "南京", "name": "王芳"})},
		{wangfang, scrm.EventOrderPaid, ago(45 * day), "59.90", nil},
	} {
		if err := a.publish(e.c, e.typ, e.at, e.amount, e.props); err != nil {
			return err
		}
	}

	// The WeCom contact binds their phone: it is 李雷. The directory merges
	// the two customers (the older survives) and publishes customer.merged,
	// which folds the profiles, tags included, together.
	same, err := a.resolve(scrm.Identity{Kind: scrm.IdentityWeComExternal, Value: "wmEXT_7f3a"}, scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	if err != nil {
		return err
	}
	a.printf("WeCom contact binds phone 138****8000 → %s\n", same)
	for _, m := range a.merges {
		a.printf("  event: %s\n", m)
	}
	absorbed, err := a.dir.Get(a.ctx, tenant, wecom)
	if err != nil {
		return err
	}
	a.printf("  Get(%s) now returns %s with %d identities\n", wecom, absorbed.ID, len(absorbed.Identities))

	// Three rules, as an operator UI saves them.
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
		c, err := rule.ParseCondition([]byte(r.json))
		if err != nil {
			return fmt.Errorf("rule %q: %w", r.name, err)
		}
		if programs[i], err = rule.Compile(c, &rule.CompileOptions{Location: a.loc}); err != nil {
			return fmt.Errorf("rule %q: %w", r.name, err)
		}
	}

	a.printf("\nprofiles at %s:\n", a.local(now, "2006-01-02 15:04 MST"))
	for _, id := range []scrm.CustomerID{lilei, meimei, wangfang} {
		p, err := a.profiles.Get(a.ctx, tenant, id)
		if err != nil {
			return err
		}
		name, _ := p.Attr("name")
		city, _ := p.Attr("city")
		a.printf("- %s %v (%v): orders %d, spent ¥%s, in the last 90 days %d / ¥%s",
			p.Customer, name, city,
			p.Count(scrm.EventOrderPaid, time.Time{}), p.Sum(scrm.EventOrderPaid, time.Time{}).StringFixed(2),
			p.Count(scrm.EventOrderPaid, now.Add(-90*day)), p.Sum(scrm.EventOrderPaid, now.Add(-90*day)).StringFixed(2))
		if last, ok := p.Last(scrm.EventOrderPaid); ok {
			a.printf(", last order %s", a.local(last, "01-02"))
		}
		a.printf("\n")
		var matched []string
		for i, prog := range programs {
			if prog.Eval(p, now) {
				matched = append(matched, rules[i].name)
			}
		}
		if len(matched) == 0 {
			matched = []string{"(none)"}
		}
		a.printf("    matches: %s\n", strings.Join(matched, "; "))
	}

	// Why does 韩梅梅 match the third rule? Explain shows each node.
	p, err := a.profiles.Get(a.ctx, tenant, meimei)
	if err != nil {
		return err
	}
	a.printf("\nexplain %q for %s:\n", rules[2].name, meimei)
	a.printf("%s", programs[2].Explain(p, now).String())
	return nil
}
