package sop_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

// benchService returns a Service with a four-step playbook "p" (T+0, day 1
// at 10:00, day 3 at 10:00 in a window, T+21d) sending to a no-op channel.
func benchService(b *testing.B, clock scrm.Clock) *sop.Service {
	b.Helper()
	noop := scrm.ChannelFunc(func(_ context.Context, m scrm.Message) (scrm.Receipt, error) {
		return scrm.Receipt{MessageID: m.ID}, nil
	})
	svc := sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{
		Options: scrm.Options{Clock: clock}, Channel: noop,
	})
	_, err := svc.PutPlaybook(context.Background(), sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{
		{ID: "welcome", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "w"}},
		{ID: "d1", Day: 1, At: "10:00", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "d1"}},
		{ID: "d3", Day: 3, At: "10:00", Window: &sop.Window{Start: "09:00", End: "21:00"},
			Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "d3"}},
		{ID: "t21", After: 21 * 24 * time.Hour, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "t21"}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

func BenchmarkEnroll(b *testing.B) {
	ctx := context.Background()
	svc := benchService(b, scrmtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation())))
	ids := make([]scrm.CustomerID, b.N)
	for i := range ids {
		ids[i] = scrm.CustomerID("c" + strconv.Itoa(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: ids[i]}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnrollMillion enrolls 1,000,000 customers in the four-step
// playbook and reports the wall time of the whole run (s/1M) and the heap
// it leaves per pending job (B/task), customer IDs included.
func BenchmarkEnrollMillion(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		clock := scrmtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation()))
		svc := benchService(b, clock)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		start := time.Now()
		for i := range n {
			if _, err := svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: scrm.CustomerID("c" + strconv.Itoa(i))}); err != nil {
				b.Fatal(err)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(elapsed.Seconds(), "s/1M")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(4*n), "B/task")
		runtime.KeepAlive(svc)
		b.StartTimer()
	}
}

// BenchmarkRunDue delivers b.N due one-message jobs to a no-op channel in
// batches of 1000 and reports the throughput.
func BenchmarkRunDue(b *testing.B) {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation()))
	noop := scrm.ChannelFunc(func(_ context.Context, m scrm.Message) (scrm.Receipt, error) {
		return scrm.Receipt{MessageID: m.ID}, nil
	})
	svc := sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clock}, Channel: noop})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{
		{ID: "s", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "hello"}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: scrm.CustomerID(fmt.Sprintf("c%d", i))}); err != nil {
			b.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	sent := 0
	for sent < b.N {
		r, err := svc.RunDue(ctx, sop.RunRequest{Limit: 1000, Worker: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if r.Claimed == 0 {
			b.Fatalf("only %d of %d sent", sent, b.N)
		}
		sent += r.Sent
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
}
