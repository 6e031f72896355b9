package member_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// BenchmarkEarn: one order.paid worth of points and growth for one of 1000
// customers, on the standard program (tiers with multipliers, a member day,
// expiry after 365 days), in the memory store.
func BenchmarkEarn(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, earnProgram())
	const customers = 1000
	ids := earnCustomers(customers)
	amount := dec("128.50")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := "pay-" + itoa(i)
		_, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: ids[i%customers], IdempotencyKey: key, OrderID: key, Amount: amount})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// earnProgram is the program of the Earn benchmarks: the standard one with
// a member day and points that expire 365 days after earning.
func earnProgram() member.Program {
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 365}
	memberDay(&p)
	return p
}

// earnCustomers returns n customer IDs.
func earnCustomers(n int) []scrm.CustomerID {
	ids := make([]scrm.CustomerID, n)
	for i := range ids {
		ids[i] = scrm.CustomerID(fmt.Sprintf("C%06d", i))
	}
	return ids
}

// BenchmarkEarnParallel is BenchmarkEarn from GOMAXPROCS goroutines at
// once, each op a new key and order of one of 1000 customers: ns/op is
// the wall time per Earn of them all, so it shows how updates of one
// tenant's different accounts scale across cores.
func BenchmarkEarnParallel(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, earnProgram())
	ids := earnCustomers(1000)
	amount := dec("128.50")
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			key := "pay-" + itoa(i)
			if _, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: ids[i%len(ids)], IdempotencyKey: key, OrderID: key, Amount: amount}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEarnReplay: an Earn sent again with its key (a host's retry),
// among 30,000 orders of 100 customers: the original result comes back,
// its entries read from the journal, and nothing changes.
func BenchmarkEarnReplay(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, earnProgram())
	ids := earnCustomers(100)
	amount := dec("128.50")
	const orders = 30000
	req := func(i int) member.EarnRequest {
		key := "pay-" + itoa(i)
		return member.EarnRequest{Tenant: tenant, Customer: ids[i%len(ids)], IdempotencyKey: key, OrderID: key, Amount: amount}
	}
	for i := 0; i < orders; i++ {
		if _, err := f.svc.Earn(ctx, req(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := f.svc.Earn(ctx, req(i*7919%orders))
		if err != nil || !r.Replayed || len(r.Entries) == 0 {
			b.Fatal(err, r.Replayed, len(r.Entries))
		}
	}
}

// BenchmarkEarnFirstOrder: Earn of a customer's first order, a new
// customer each time (a new account, its journal and its index entries,
// and the base tier's tier_changed event): what most Earns of a shop whose
// customers buy now and then cost. The events are counted, not kept (as
// the test fixture's recorder would, for the garbage collector to scan).
func BenchmarkEarnFirstOrder(b *testing.B) {
	ctx := context.Background()
	p := earnProgram()
	var published int
	svc := member.New(member.NewMemoryStore(), nil, &member.Options{Options: scrm.Options{Clock: scrmtest.NewClock(start),
		Publisher: scrm.PublisherFunc(func(context.Context, scrm.Event) error { published++; return nil })}})
	if _, err := svc.PutProgram(ctx, p); err != nil {
		b.Fatal(err)
	}
	amount := dec("128.50")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := "pay-" + itoa(i)
		_, err := svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: scrm.CustomerID(key), IdempotencyKey: key, OrderID: key, Amount: amount})
		if err != nil {
			b.Fatal(err)
		}
	}
	if published != b.N {
		b.Fatalf("%d tier_changed events for %d first orders", published, b.N)
	}
}

// BenchmarkRedeem100Lots: one redemption that draws from 100 lots of 100
// points each.
func BenchmarkRedeem100Lots(b *testing.B) {
	ctx := context.Background()
	p := standard()
	p.Redeem = member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, Step: 100}
	f := newFixture(b, p)
	lots := make([]member.ImportLot, 100)
	for i := range lots {
		lots[i] = member.ImportLot{Points: 100, ExpiresAt: start.AddDate(0, 0, i+1)}
	}
	const chunk = 1000
	fill := func(round int) {
		for c := 0; c < chunk; c++ {
			_, err := f.svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: scrm.CustomerID("C" + itoa(c)),
				IdempotencyKey: "imp-" + itoa(round) + "-" + itoa(c), Lots: lots})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	amount := dec("100.00")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%chunk == 0 {
			b.StopTimer()
			fill(i / chunk)
			b.StartTimer()
		}
		key := "r-" + itoa(i)
		r, err := f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: scrm.CustomerID("C" + itoa(i%chunk)),
			IdempotencyKey: key, OrderID: key, Points: 10000, OrderAmount: amount})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Entries[0].Lots) != 100 {
			b.Fatalf("spanned %d lots", len(r.Entries[0].Lots))
		}
	}
}

// BenchmarkSweep1M: a sweep of a tenant of 1,000,000 accounts with 10 lots
// each, 10% of them due: every account's lots expire on 10 different days, and
// on each day a tenth of the accounts has a lot expiring. One op is one
// Sweep, which expires 100,000 lots and publishes as many points.expired.
func BenchmarkSweep1M(b *testing.B) {
	ctx := context.Background()
	const accounts, lotsPer = 1_000_000, 10
	n := accounts
	if testing.Short() {
		n = accounts / 100
	}
	p := standard()
	f := newFixture(b, p)
	wave := func(k int) time.Time { return time.Date(2026, 3, 3+k, 0, 0, 0, 0, shanghai) }

	// Load the accounts in parallel (setup, not measured).
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lots := make([]member.ImportLot, lotsPer)
			for i := w; i < n; i += workers {
				for j := range lots {
					lots[j] = member.ImportLot{Points: 10 + int64(j), ExpiresAt: wave(i%10 + 10*j)}
				}
				id := "C" + itoa(i)
				if _, err := f.svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: scrm.CustomerID(id), IdempotencyKey: "imp-" + id, Lots: lots}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	runtime.GC()

	k := 0
	b.ReportAllocs()
	for b.Loop() {
		if k >= 10*lotsPer {
			b.Fatal("out of waves: run with -benchtime of at most 100x")
		}
		f.clock.Set(wave(k))
		res, err := f.svc.Sweep(ctx, tenant)
		if err != nil {
			b.Fatal(err)
		}
		if res.Accounts != n/10 || res.Expired != int64(n/10)*(10+int64(k/10)) {
			b.Fatalf("wave %d: swept %d accounts, %d points", k, res.Accounts, res.Expired)
		}
		k++
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
