package tagging_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

// benchTenant defines 500 rules of which 10 read order.paid: the other 490
// read attributes, other event types, tags and segments.
func benchService(b *testing.B) (*tagging.Service, *scrm.Profiles, func() time.Time) {
	b.Helper()
	ctx := context.Background()
	ps := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(ps, nil)
	now := t0
	clock := scrm.ClockFunc(func() time.Time { return now })
	svc := tagging.New(nil, ps, &tagging.Options{Options: scrm.Options{Clock: clock}})
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	_, err := svc.PutGroup(ctx, tenant, tagging.Group{ID: "消费能力", Exclusive: true})
	must(err)
	for _, id := range []string{"高", "中", "低"} {
		_, err := svc.PutTag(ctx, tenant, tagging.Tag{ID: id, Group: "消费能力"})
		must(err)
	}
	for i := 0; i < 500; i++ {
		_, err := svc.PutTag(ctx, tenant, tagging.Tag{ID: "t" + strconv.Itoa(i)})
		must(err)
	}
	put := func(r tagging.Rule) {
		_, err := svc.PutRule(ctx, tenant, r)
		must(err)
	}
	// The 10 order.paid rules: a spending ladder in an exclusive group, and
	// counts, sums and recency that this customer partly meets.
	put(tagging.Rule{ID: "high", Tag: "高", Priority: 3, Sync: true, When: rule.Event(scrm.EventOrderPaid).Within(365 * day).SumGte(scrm.Yuan("5000"))})
	put(tagging.Rule{ID: "mid", Tag: "中", Priority: 2, Sync: true, When: rule.Event(scrm.EventOrderPaid).Within(365 * day).SumGte(scrm.Yuan("500"))})
	put(tagging.Rule{ID: "low", Tag: "低", Priority: 1, Sync: true, When: rule.Event(scrm.EventOrderPaid).Within(365 * day).SumGte(scrm.Yuan("0.01"))})
	for i := 0; i < 7; i++ {
		var when rule.Condition
		switch i % 3 {
		case 0:
			when = rule.Event(scrm.EventOrderPaid).Within(30 * day).CountGte(int64(5 + i))
		case 1:
			when = rule.All(rule.Attr("city").In("上海", "杭州"), rule.Event(scrm.EventOrderPaid).Within(90*day).SumGte(scrm.Yuan(strconv.Itoa(10000*i))))
		default:
			when = rule.All(rule.Event(scrm.EventOrderPaid).CountGte(100), rule.Not(rule.InSegment("blacklist")))
		}
		put(tagging.Rule{ID: fmt.Sprintf("paid%d", i), Tag: "t" + strconv.Itoa(i), Sync: i%2 == 0, When: when})
	}
	for i := 10; i < 500; i++ {
		var when rule.Condition
		switch i % 4 {
		case 0:
			when = rule.Attr("a" + strconv.Itoa(i)).Eq("x")
		case 1:
			when = rule.Event("custom." + strconv.Itoa(i)).Within(30 * day).CountGte(2)
		case 2:
			when = rule.HasTag("t" + strconv.Itoa(i-1))
		default:
			when = rule.InSegment("s" + strconv.Itoa(i))
		}
		put(tagging.Rule{ID: "r" + strconv.Itoa(i), Tag: "t" + strconv.Itoa(i), When: when})
	}
	// The customer: a history of orders and other activity.
	for i := 0; i < 20; i++ {
		e := scrm.Event{ID: "hist" + strconv.Itoa(i), Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid,
			Time: now.Add(-time.Duration(20-i) * 3 * day), Amount: scrm.Yuan("88.00")}
		must(profiles.Handle(ctx, e))
	}
	must(profiles.Handle(ctx, scrm.Event{ID: "attrs", Tenant: tenant, Customer: "c1", Type: scrm.EventAttrsSet, Time: now,
		Props: map[string]any{"attrs": map[string]any{"city": "上海", "tier": "gold"}}}))
	return svc, profiles, func() time.Time { return now }
}

// BenchmarkTaggingHandle: one order.paid for a customer with 500 rules
// defined, 10 of which read order.paid (target: 10 µs/op). The profile
// already includes the event (Profiles runs first in the Dispatcher); each
// op is a new event, so the rules that hold refresh their tag: a profile
// write, a store write and a publish per op.
func BenchmarkTaggingHandle(b *testing.B) {
	svc, _, _ := benchService(b)
	ctx := context.Background()
	e := scrm.Event{Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("88.00")}
	if err := svc.Handle(ctx, scrm.Event{ID: "warm", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: t0}); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = "bench" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.ID = ids[i]
		e.Time = t0.Add(time.Duration(i+1) * time.Millisecond)
		if err := svc.Handle(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTaggingHandleChange is the write path of BenchmarkTaggingHandle's
// setup: each op is a reply whose keyword rule replaces the customer's tag
// in an exclusive group, so it writes the profile, records two history
// entries and the index, and publishes tag.applied and tag.removed.
func BenchmarkTaggingHandleChange(b *testing.B) {
	svc, _, _ := benchService(b)
	ctx := context.Background()
	for _, s := range []string{"意向高", "意向低"} {
		if _, err := svc.PutTag(ctx, tenant, tagging.Tag{ID: s, Group: "意向"}); err == nil {
			b.Fatal("group must exist first")
		}
	}
	if _, err := svc.PutGroup(ctx, tenant, tagging.Group{ID: "意向", Exclusive: true}); err != nil {
		b.Fatal(err)
	}
	for i, s := range []string{"意向高", "意向低"} {
		if _, err := svc.PutTag(ctx, tenant, tagging.Tag{ID: s, Group: "意向"}); err != nil {
			b.Fatal(err)
		}
		kw := []string{"想要", "再看看"}[i]
		if _, err := svc.PutRule(ctx, tenant, tagging.Rule{ID: s, Tag: s, Keywords: []string{kw}}); err != nil {
			b.Fatal(err)
		}
	}
	texts := []map[string]any{{"text": "想要，怎么买"}, {"text": "我再看看吧"}}
	e := scrm.Event{Tenant: tenant, Customer: "c1", Type: scrm.EventMessageReplied, Time: t0}
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = "reply" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.ID, e.Props = ids[i], texts[i%2]
		e.Time = t0.Add(time.Duration(i+1) * time.Millisecond)
		if err := svc.Handle(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTaggingSweep sweeps 10,000 customers with 5 time-based rules, in
// the steady state (nothing left to change), and reports the cost per
// profile.
func BenchmarkTaggingSweep(b *testing.B) {
	ctx := context.Background()
	ps := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(ps, nil)
	now := t0
	svc := tagging.New(nil, ps, &tagging.Options{Options: scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return now })}})
	for i := 0; i < 5; i++ {
		tag := "t" + strconv.Itoa(i)
		if _, err := svc.PutTag(ctx, tenant, tagging.Tag{ID: tag}); err != nil {
			b.Fatal(err)
		}
		when := rule.Event(scrm.EventOrderPaid).LastOlderThan(time.Duration(30*(i+1)) * day)
		if _, err := svc.PutRule(ctx, tenant, tagging.Rule{ID: tag, Tag: tag, When: when, Sync: true}); err != nil {
			b.Fatal(err)
		}
	}
	const n = 10000
	for i := 0; i < n; i++ {
		e := scrm.Event{ID: "o" + strconv.Itoa(i), Tenant: tenant, Customer: scrm.CustomerID(fmt.Sprintf("c%05d", i)),
			Type: scrm.EventOrderPaid, Time: now.Add(-time.Duration(i%200) * day), Amount: scrm.Yuan("10.00")}
		if err := profiles.Handle(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := svc.Sweep(ctx, tenant, tagging.SweepOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Second)
		res, err := svc.Sweep(ctx, tenant, tagging.SweepOptions{})
		if err != nil || res.Scanned != n {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/profile")
}
