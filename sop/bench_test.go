package sop_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
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

// renderBench returns a Service with a WeCom template of three variables
// (one formatted with yuan) and two variants (a tag, a segment), and a
// profile that matches the second variant, so both conditions are checked.
func renderBench(b *testing.B) (*sop.Service, scrm.ProfileStore, *scrm.Profile) {
	b.Helper()
	ctx := context.Background()
	profiles := scrm.NewMemoryProfileStore()
	svc := sop.New(sop.NewMemoryStore(), profiles, &sop.Options{
		Options: scrm.Options{Clock: scrmtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation()))},
	})
	_, err := svc.PutTemplate(ctx, sop.Template{
		Tenant: "t1", ID: "coupon-remind", Channel: scrm.ChannelWeCom,
		Body: "{{.Name}}，您的{{yuan .CouponAmount}}元券明天到期",
		Variants: []sop.TemplateVariant{
			{When: rule.HasTag("VIP"), Body: "尊敬的{{.Name}}会员，您的{{yuan .CouponAmount}}元专享券明天到期，{{.Staff}}为您保留"},
			{When: rule.InSegment("高价值"), Body: "{{.Name}}，{{yuan .CouponAmount}}元券明天到期，{{.Staff}}提醒您别错过"},
		},
		Required: []string{"Name", "CouponAmount"},
	})
	if err != nil {
		b.Fatal(err)
	}
	p := scrm.NewProfile("t1", "c1")
	p.SetAttr("Name", "王芳")
	p.SetAttr("city", "上海")
	p.SetTag("新客", scrm.TagMark{At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	p.SetSegment("高价值", true)
	if _, _, err := scrm.UpdateProfile(ctx, profiles, "t1", "c1", "", func(sp *scrm.Profile) error {
		sp.SetAttr("Name", "王芳")
		sp.SetAttr("city", "上海")
		sp.SetTag("新客", scrm.TagMark{At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
		sp.SetSegment("高价值", true)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return svc, profiles, p
}

// BenchmarkRender renders a three-variable template with a variant choice
// for a given profile: the work RunDue adds to a message naming a content
// template, once the profile is loaded.
func BenchmarkRender(b *testing.B) {
	ctx := context.Background()
	svc, _, p := renderBench(b)
	req := sop.RenderRequest{Tenant: "t1", Template: "coupon-remind", Profile: p, Staff: "店长小李",
		Vars: map[string]string{"CouponAmount": "20"}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := svc.Render(ctx, req)
		if err != nil || r.Variant != 2 {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkRenderStoredProfile is BenchmarkRender reading the customer's
// profile from the memory ProfileStore on every call.
func BenchmarkRenderStoredProfile(b *testing.B) {
	ctx := context.Background()
	svc, _, _ := renderBench(b)
	req := sop.RenderRequest{Tenant: "t1", Template: "coupon-remind", Customer: "c1", Staff: "店长小李",
		Vars: map[string]string{"CouponAmount": "20"}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := svc.Render(ctx, req)
		if err != nil || r.Variant != 2 {
			b.Fatal(r, err)
		}
	}
}
