package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// BenchmarkExchange: one points-mall exchange by one of 1,000 customers,
// each with three lots (30 days, 90 days, never), on the standard program
// in the memory store: the charge (stock and per-customer checks, the spend
// from the soonest-expiring lot, the journal entry and the exchange record
// in one atomic step), the grant through a Rewarder that does nothing (the
// host's coupon service is not measured), the completion and the
// points.exchanged event (to the default publisher, which drops it). A new
// key each time; the item's stock is large enough never to run out.
func BenchmarkExchange(b *testing.B) {
	ctx := context.Background()
	clock := scrmtest.NewClock(start)
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 365}
	svc := member.New(member.NewMemoryStore(), nil, &member.Options{Options: scrm.Options{Clock: clock},
		Rewarder: scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return nil })})
	if _, err := svc.PutProgram(ctx, p); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.PutCatalogItem(ctx, member.CatalogItem{Tenant: tenant, ID: "latte", Name: "拿铁兑换券", Points: 100,
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "free-latte"}, Stock: 1 << 40}); err != nil {
		b.Fatal(err)
	}
	const customers = 1000
	ids := make([]scrm.CustomerID, customers)
	for i := range ids {
		ids[i] = scrm.CustomerID("C" + itoa(i))
		_, err := svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: ids[i], IdempotencyKey: "imp-" + itoa(i),
			Lots: []member.ImportLot{
				{Points: 1 << 40, ExpiresAt: start.Add(30 * 24 * time.Hour)},
				{Points: 1 << 40, ExpiresAt: start.Add(90 * 24 * time.Hour)},
				{Points: 1 << 40},
			}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := svc.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: ids[i%customers], Item: "latte", IdempotencyKey: "ex-" + itoa(i)})
		if err != nil {
			b.Fatal(err)
		}
		if r.State != member.ExchangeDone {
			b.Fatalf("exchange %d: %s", i, r.State)
		}
	}
}
