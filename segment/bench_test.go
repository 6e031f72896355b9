package segment_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
)

// benchCondition is the 5-clause segment of the refresh benchmarks: about
// 4% of the fixture's customers match.
func benchCondition() rule.Condition {
	return rule.All(
		rule.Attr("city").In("上海", "杭州", "北京"),
		rule.Event(scrm.EventOrderPaid).Within(180*24*time.Hour).CountGte(2),
		rule.Event(scrm.EventOrderPaid).Within(365*24*time.Hour).SumGte(scrm.Yuan("300")),
		rule.Not(rule.HasTag("拒绝营销")),
		rule.Attr("age").Between(20, 45),
	)
}

// benchRefresh measures Refresh over the fixture: "initial" refreshes a new
// segment each iteration (every matching customer enters: a profile write,
// a Store write and an event each); "steady" refreshes a segment whose
// membership is current (every customer is listed and evaluated, nothing is
// written).
func benchRefresh(b *testing.B, fx *storeFixture) {
	ctx := context.Background()
	clock := scrm.ClockFunc(func() time.Time { return benchNow })
	var published int
	svc := segment.New(segment.NewMemoryStore(), fx.store, &segment.Options{Options: scrm.Options{
		Clock:     clock,
		Publisher: scrm.PublisherFunc(func(context.Context, scrm.Event) error { published++; return nil }),
	}})
	perProfile := func(b *testing.B, d time.Duration) {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N)/float64(fx.n), "ns/profile")
	}
	runs := 0
	b.Run("initial", func(b *testing.B) {
		b.ReportAllocs()
		var total time.Duration
		var entered int
		for i := 0; i < b.N; i++ {
			runs++
			id := fmt.Sprintf("initial-%d", runs)
			if _, err := svc.Define(ctx, segment.Segment{Tenant: benchTenant, ID: id, When: benchCondition()}); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			d, err := svc.Refresh(ctx, benchTenant, id)
			total += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			entered = len(d.Entered)
		}
		perProfile(b, total)
		b.ReportMetric(float64(entered), "entered")
	})
	if _, err := svc.Define(ctx, segment.Segment{Tenant: benchTenant, ID: "steady", When: benchCondition()}); err != nil {
		b.Fatal(err)
	}
	b.Run("steady", func(b *testing.B) {
		if _, err := svc.Refresh(ctx, benchTenant, "steady"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			d, err := svc.Refresh(ctx, benchTenant, "steady")
			if err != nil {
				b.Fatal(err)
			}
			if len(d.Entered)+len(d.Exited) != 0 || d.Evaluated != fx.n {
				b.Fatalf("steady refresh changed %d, evaluated %d", len(d.Entered)+len(d.Exited), d.Evaluated)
			}
		}
		perProfile(b, time.Since(start))
	})
}

// BenchmarkSegmentRefresh1M refreshes a 5-clause segment over 1,000,000
// in-memory profiles (target: at most 2 s per refresh), on the kernel's
// memory ProfileStore, which Refresh reads through List (a copy of every
// profile), and on a store with the ProfileScanner capability (no copies).
func BenchmarkSegmentRefresh1M(b *testing.B) {
	b.Run("memory-store", func(b *testing.B) { benchRefresh(b, fixture(b, "memory", 1_000_000)) })
	b.Run("scanner", func(b *testing.B) { benchRefresh(b, fixture(b, "scanner", 1_000_000)) })
}

// BenchmarkSegmentRefresh100K is BenchmarkSegmentRefresh1M at a tenth of the
// size, quick enough to run while developing.
func BenchmarkSegmentRefresh100K(b *testing.B) {
	b.Run("memory-store", func(b *testing.B) { benchRefresh(b, fixture(b, "memory", 100_000)) })
	b.Run("scanner", func(b *testing.B) { benchRefresh(b, fixture(b, "scanner", 100_000)) })
}

// BenchmarkSegmentProfilesMemory1M reports the heap that 1,000,000 profiles
// with 10 attributes, 5 tags and 3 event types (2 to 7 events each) take in
// the kernel's memory scrm.ProfileStore (target: at most 2 GiB), measured
// once when the fixture is built: runtime.MemStats.HeapAlloc after GC,
// before and after.
func BenchmarkSegmentProfilesMemory1M(b *testing.B) {
	fx := fixture(b, "memory", 1_000_000)
	for i := 0; i < b.N; i++ {
		_ = fx.store
	}
	b.ReportMetric(float64(fx.heapBytes), "heap-bytes")
	b.ReportMetric(float64(fx.heapBytes)/float64(fx.n), "bytes/profile")
}

// BenchmarkProfileStoreList measures List pages of 1000 profiles of the
// 100,000-profile fixture, the unit of Refresh's scan on the kernel's memory
// store, which copies every profile it returns.
func BenchmarkProfileStoreList(b *testing.B) {
	fx := fixture(b, "memory", 100_000)
	ctx := context.Background()
	b.ReportAllocs()
	cursor := ""
	for i := 0; i < b.N; i++ {
		page, err := fx.store.List(ctx, scrm.ListProfilesParams{Tenant: benchTenant, Cursor: cursor, Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		cursor = page.Next
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/profile")
}

// BenchmarkScoreRFM scores 1,000,000 profiles (the fixture's, 2 to 6 orders
// each over 400 days) by quintiles over a 365-day window (target: at most
// 2 s).
func BenchmarkScoreRFM(b *testing.B) {
	fx := fixture(b, "scanner", 1_000_000)
	profiles := fx.store.(*scanStore).all(benchTenant)
	cfg := segment.RFMConfig{Quantiles: true}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		scores, err := segment.ScoreRFM(profiles, cfg, benchNow)
		if err != nil {
			b.Fatal(err)
		}
		if len(scores) != len(profiles) {
			b.Fatalf("%d scores for %d profiles", len(scores), len(profiles))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(profiles)), "ns/profile")
}

// BenchmarkSegmentHandle delivers one order.paid to a Service with 100
// segments defined, 5 of which read order.paid, for a customer whose
// memberships do not change: the cost of keeping segments current per
// event.
func BenchmarkSegmentHandle(b *testing.B) {
	ctx := context.Background()
	profiles := scrm.NewMemoryProfileStore()
	svc := segment.New(nil, profiles, &segment.Options{Options: scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return benchNow })}})
	p := benchProfile(1)
	if _, err := profiles.Save(ctx, scrm.SaveProfileParams{Profile: p}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		when := rule.All(rule.Attr("city").Eq(benchCities[i%len(benchCities)]), rule.HasTag(benchTags[i%len(benchTags)]))
		if i%20 == 0 {
			when = benchCondition()
		}
		if _, err := svc.Define(ctx, segment.Segment{Tenant: benchTenant, ID: fmt.Sprint("s", i), When: when}); err != nil {
			b.Fatal(err)
		}
	}
	e := scrm.Event{ID: "o1", Tenant: benchTenant, Customer: p.Customer, Type: scrm.EventOrderPaid, Time: benchNow, Amount: scrm.Yuan("10")}
	if err := svc.Handle(ctx, e); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := svc.Handle(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplit assigns one customer to a holdout and two arms.
func BenchmarkSplit(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if segment.Split("C0000042", "double11-coupon", 10, 45, 45) < 0 {
			b.Fatal("invalid weights")
		}
	}
}
