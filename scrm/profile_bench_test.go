package scrm_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// yearProfile returns a profile with a year of history: an order every two
// days plus page views, replies and group events.
func yearProfile(now time.Time) *scrm.Profile {
	p := scrm.NewProfile("t1", "c1")
	for i := 0; i < 20; i++ {
		p.SetAttr(fmt.Sprint("attr", i), i)
	}
	types := []string{scrm.EventOrderPaid, scrm.EventPageViewed, scrm.EventMessageReplied, scrm.EventGroupJoined, scrm.EventOrderRefunded}
	for k, typ := range types {
		for i := 200; i > 0; i-- {
			at := now.Add(-time.Duration(i)*43*time.Hour - time.Duration(k)*time.Minute)
			p.Apply(scrm.Event{ID: fmt.Sprint(typ, i), Tenant: "t1", Customer: "c1", Type: typ, Time: at, Amount: scrm.Yuan("128.80")})
		}
	}
	return p
}

// BenchmarkProfileApply folds order.paid events, one every 6 hours, into a
// profile that starts with a year of history; the profile is reset every
// 40,000 events (27 years) outside the timer.
func BenchmarkProfileApply(b *testing.B) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	base := yearProfile(now)
	p := base.Clone()
	e := scrm.Event{ID: "o", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Amount: scrm.Yuan("99.90")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%40_000 == 0 && i > 0 {
			b.StopTimer()
			p = base.Clone()
			b.StartTimer()
		}
		e.Time = now.Add(time.Duration(i%40_000+1) * 6 * time.Hour)
		p.Apply(e)
	}
}

func BenchmarkProfilesHandle(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	store := scrm.NewMemoryProfileStore()
	_, _, err := scrm.UpdateProfile(ctx, store, "t1", "c1", "", func(p *scrm.Profile) error {
		*p = *yearProfile(now)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	profiles := scrm.NewProfiles(store, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := scrm.Event{ID: fmt.Sprint("b", i), Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: now.Add(time.Duration(i) * time.Second), Amount: scrm.Yuan("99.90")}
		if err := profiles.Handle(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProfileStoreMemory1M reports the heap a memory ProfileStore holding
// 1,000,000 profiles takes, each with 10 attributes, 5 tags and 3 event
// types of 3 events. It builds the store once per iteration (b.N is 1 unless
// forced); the figure is the metric heap-MiB, not ns/op.
func BenchmarkProfileStoreMemory1M(b *testing.B) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := 0; n < b.N; n++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := scrm.NewMemoryProfileStore()
		for i := 0; i < 1_000_000; i++ {
			p := scrm.NewProfile("t1", scrm.CustomerID(fmt.Sprintf("c%07d", i)))
			for a := 0; a < 10; a++ {
				p.SetAttr(fmt.Sprint("attr", a), a*i)
			}
			for g := 0; g < 5; g++ {
				p.SetTag(fmt.Sprint("tag", g), scrm.TagMark{At: t0, Source: "rule:r1"})
			}
			for _, typ := range []string{scrm.EventOrderPaid, scrm.EventPageViewed, scrm.EventMessageReplied} {
				for k := 0; k < 3; k++ {
					p.Apply(scrm.Event{ID: "x", Tenant: "t1", Customer: p.Customer, Type: typ, Time: t0.Add(time.Duration(k) * time.Hour), Amount: scrm.Yuan("10")})
				}
			}
			if _, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		runtime.KeepAlive(s)
	}
}
