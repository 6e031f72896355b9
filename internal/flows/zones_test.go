package flows_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/sop"
	"github.com/scrmkit/scrmkit/tagging"
)

// mtZones is a SaaS host's zone setting per tenant, which merchants may
// change at run time (Options.TenantLocation reads it).
type mtZones struct {
	mu sync.Mutex
	m  map[scrm.TenantID]*time.Location
}

func mtNewZones(t *testing.T, kv ...string) *mtZones {
	t.Helper()
	z := &mtZones{m: map[scrm.TenantID]*time.Location{}}
	for i := 0; i+1 < len(kv); i += 2 {
		z.set(t, scrm.TenantID(kv[i]), kv[i+1])
	}
	return z
}

func (z *mtZones) set(t *testing.T, tenant scrm.TenantID, name string) {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	z.mu.Lock()
	z.m[tenant] = loc
	z.mu.Unlock()
}

func (z *mtZones) of(tenant scrm.TenantID) *time.Location {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.m[tenant]
}

func mtKernel(clock *scrmtest.Clock, zones *mtZones) scrm.Options {
	var mu sync.Mutex
	n := 0
	return scrm.Options{Clock: clock, TenantLocation: zones.of,
		NewID: func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("MT%05d", n) }}
}

func mtMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mtSopHost is one sop.Service (and Profiles) serving several tenants.
func mtSopHost(t *testing.T, clock *scrmtest.Clock, zones *mtZones) (*sop.Service, *scrmtest.Recorder) {
	t.Helper()
	kernel := mtKernel(clock, zones)
	store := scrm.NewMemoryProfileStore()
	rec := scrmtest.NewRecorder()
	rec.WithClock(clock)
	return sop.New(sop.NewMemoryStore(), store, &sop.Options{Options: kernel, Channel: rec}), rec
}

func mtSopSetup(t *testing.T, ctx context.Context, s *sop.Service, tenant scrm.TenantID) {
	t.Helper()
	_, err := s.SetPolicy(ctx, tenant, sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "08:00"}})
	mtMust(t, err)
	_, err = s.PutPlaybook(ctx, sop.Playbook{Tenant: tenant, ID: "welcome", Name: "welcome",
		Steps: []sop.Step{{ID: "hello", After: 5 * time.Minute,
			Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "hello"}}}})
	mtMust(t, err)
}

// A merchant on a SaaS host moves its zone setting from Asia/Shanghai to
// Europe/London: sop's quiet hours follow at once (the tenant's cache is
// rebuilt when LocationOf changes), so a welcome due at 02:20 London waits
// for 08:00 London, as with a Service built after the change.
func TestMTSopQuietHoursFollowZoneChange(t *testing.T) {
	ctx := context.Background()
	// 2025-01-15 02:00 UTC = 02:00 London = 10:00 Shanghai.
	clock := scrmtest.NewClock(time.Date(2025, 1, 15, 2, 0, 0, 0, time.UTC))
	zones := mtNewZones(t, "ldn", "Asia/Shanghai", "sh", "Asia/Shanghai")
	s, rec := mtSopHost(t, clock, zones)
	mtSopSetup(t, ctx, s, "ldn")

	// The tenant runs a while under Shanghai (the cache is loaded).
	_, err := s.Enroll(ctx, sop.EnrollRequest{Tenant: "ldn", Playbook: "welcome", Customer: "c0"})
	mtMust(t, err)
	clock.Advance(10 * time.Minute)
	_, err = s.RunDue(ctx, sop.RunRequest{Worker: "w"})
	mtMust(t, err)
	if n := len(rec.For("c0")); n != 1 {
		t.Fatalf("c0 got %d messages at 10:10 Shanghai, want 1", n)
	}

	// The merchant sets its zone to London: it is now 02:10 there.
	zones.set(t, "ldn", "Europe/London")
	_, err = s.Enroll(ctx, sop.EnrollRequest{Tenant: "ldn", Playbook: "welcome", Customer: "c1"})
	mtMust(t, err)
	clock.Advance(10 * time.Minute) // 02:20 London, 10:20 Shanghai
	res, err := s.RunDue(ctx, sop.RunRequest{Worker: "w"})
	mtMust(t, err)
	if n := len(rec.For("c1")); n != 0 {
		t.Errorf("after the tenant moved to Europe/London, c1 got %d message(s) at %s London (quiet hours 22:00-08:00); RunDue: %+v",
			n, clock.Now().In(zones.of("ldn")).Format("15:04"), res)
	}

	// Control: a Service built after the change does defer.
	clock2 := scrmtest.NewClock(time.Date(2025, 1, 15, 2, 0, 0, 0, time.UTC))
	s2, rec2 := mtSopHost(t, clock2, zones)
	mtSopSetup(t, ctx, s2, "ldn")
	_, err = s2.Enroll(ctx, sop.EnrollRequest{Tenant: "ldn", Playbook: "welcome", Customer: "c1"})
	mtMust(t, err)
	clock2.Advance(10 * time.Minute)
	_, err = s2.RunDue(ctx, sop.RunRequest{Worker: "w"})
	mtMust(t, err)
	if n := len(rec2.For("c1")); n != 0 {
		t.Fatalf("control: a fresh Service sent %d message(s) in London quiet hours", n)
	}
}

// A birthday coupon (Audience birthdayWithin 0d) of a tenant that moved
// from Asia/Shanghai to Europe/London: at 2025-03-14 20:00 London (03-15
// 04:00 Shanghai) a customer born on 03-15 has no birthday yet, and the
// claim is refused (the compiled terms are rebuilt when the zone changes).
func TestMTCouponAudienceFollowsZoneChange(t *testing.T) {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC))
	zones := mtNewZones(t, "ldn", "Asia/Shanghai")
	kernel := mtKernel(clock, zones)
	pstore := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(pstore, &kernel)
	mtMust(t, profiles.Handle(ctx, scrm.Event{ID: "e1", Tenant: "ldn", Customer: "c1", Type: scrm.EventAttrsSet,
		Time: clock.Now(), Props: map[string]any{"attrs": map[string]any{"birthday": "1990-03-15"}}}))
	cstore := coupon.NewMemoryStore()
	s := coupon.New(cstore, pstore, &coupon.Options{Options: kernel})
	bday := rule.Attr("birthday").BirthdayWithin(0)
	_, err := s.PutTemplate(ctx, coupon.Template{Tenant: "ldn", ID: "bday", Name: "birthday", Kind: coupon.KindCash,
		Amount: scrm.Yuan("10"), Validity: coupon.Validity{Days: 7}, Audience: &bday})
	mtMust(t, err)

	zones.set(t, "ldn", "Europe/London")
	clock.Set(time.Date(2025, 3, 14, 20, 0, 0, 0, time.UTC)) // 20:00 London, 03-15 04:00 Shanghai

	// Control: a Service built after the change refuses.
	fresh := coupon.New(cstore, pstore, &coupon.Options{Options: kernel})
	if _, err := fresh.Claim(ctx, coupon.ClaimRequest{Tenant: "ldn", Customer: "c1", Template: "bday", IdempotencyKey: "k0"}); !errors.Is(err, scrm.ErrForbidden) {
		t.Fatalf("control: fresh Service Claim err = %v, want ErrForbidden", err)
	}
	_, err = s.Claim(ctx, coupon.ClaimRequest{Tenant: "ldn", Customer: "c1", Template: "bday", IdempotencyKey: "k1"})
	if !errors.Is(err, scrm.ErrForbidden) {
		t.Errorf("birthday coupon claimed on 03-14 20:00 London by a customer born 03-15: err = %v, want ErrForbidden (terms still compiled in Asia/Shanghai)", err)
	}
}

// An event rule (PerDay 1, 10 points) of a tenant whose zone moves from
// Asia/Shanghai to America/Los_Angeles after a first event: the day counted
// (Shanghai's 01-15) is ahead of LA's today (01-14), and its count stands
// for today, so two more events that hour earn nothing (10 points in all,
// not 30).
func TestMTMemberEventPerDayAfterZoneMovesWest(t *testing.T) {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2025, 1, 15, 2, 0, 0, 0, time.UTC)) // 10:00 Shanghai, 01-14 18:00 LA
	zones := mtNewZones(t, "la", "Asia/Shanghai")
	kernel := mtKernel(clock, zones)
	s := member.New(member.NewMemoryStore(), nil, &member.Options{Options: kernel})
	_, err := s.PutProgram(ctx, member.Program{Tenant: "la", Tiers: []member.Tier{{ID: "normal", Name: "normal"}},
		Earn: member.EarnRule{PointsPerYuan: scrm.Yuan("1"),
			Events: []member.EventRule{{Type: "review.posted", Points: 10, PerDay: 1}}}})
	mtMust(t, err)
	post := func(id string) {
		t.Helper()
		mtMust(t, s.Handle(ctx, scrm.Event{ID: id, Tenant: "la", Customer: "c1", Type: "review.posted", Time: clock.Now()}))
	}
	post("r1")
	zones.set(t, "la", "America/Los_Angeles")
	clock.Advance(time.Minute)
	post("r2")
	clock.Advance(time.Minute)
	post("r3")
	a, err := s.Account(ctx, "la", "c1")
	mtMust(t, err)
	if a.Points != 10 {
		t.Errorf("3 reviews within 3 minutes on one LA day (PerDay 1) earned %d points, want 10", a.Points)
	}
}

// mtBirthdayHost is Profiles, tagging and segment on one Dispatcher, for a
// tenant "ldn" first on Asia/Shanghai; c0 and c1 were born on 15 March.
func mtBirthdayHost(t *testing.T) (context.Context, *scrmtest.Clock, *mtZones, *scrm.Dispatcher, *tagging.Service, *segment.Service) {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC))
	zones := mtNewZones(t, "ldn", "Asia/Shanghai")
	kernel := mtKernel(clock, zones)
	pstore := scrm.NewMemoryProfileStore()
	tags := tagging.New(tagging.NewMemoryStore(), pstore, &tagging.Options{Options: kernel})
	segs := segment.New(segment.NewMemoryStore(), pstore, &segment.Options{Options: kernel})
	bus := scrm.NewDispatcher(scrm.NewProfiles(pstore, &kernel), tags, segs)
	bday := rule.Attr("birthday").BirthdayWithin(0)
	_, err := tags.PutTag(ctx, "ldn", tagging.Tag{ID: "birthday-today", Kind: tagging.KindRule})
	mtMust(t, err)
	_, err = tags.PutRule(ctx, "ldn", tagging.Rule{ID: "r-bday", Tag: "birthday-today", When: bday, Sync: true})
	mtMust(t, err)
	_, err = segs.Define(ctx, segment.Segment{Tenant: "ldn", ID: "bday", Name: "birthday today", When: bday})
	mtMust(t, err)
	// c0's event makes both services compile their rules in Shanghai.
	mtMust(t, bus.Publish(ctx, scrm.Event{ID: "e0", Tenant: "ldn", Customer: "c0", Type: scrm.EventAttrsSet,
		Time: clock.Now(), Props: map[string]any{"attrs": map[string]any{"birthday": "1990-03-15"}}}))
	return ctx, clock, zones, bus, tags, segs
}

// Rule tags and segment conditions follow a zone change: at 20:00 London
// on 14 March (already 15 March in Shanghai) a customer born on 15 March
// has no birthday today once the tenant moved to London.
func TestMTTagsAndSegmentsFollowZoneChange(t *testing.T) {
	ctx, clock, zones, bus, tags, segs := mtBirthdayHost(t)
	zones.set(t, "ldn", "Europe/London")
	clock.Set(time.Date(2025, 3, 14, 20, 0, 0, 0, time.UTC))
	mtMust(t, bus.Publish(ctx, scrm.Event{ID: "e1", Tenant: "ldn", Customer: "c1", Type: scrm.EventAttrsSet,
		Time: clock.Now(), Props: map[string]any{"attrs": map[string]any{"birthday": "1990-03-15"}}}))
	n, err := tags.Count(ctx, "ldn", "birthday-today")
	mtMust(t, err)
	if n != 0 {
		t.Errorf("%d customers tagged birthday-today at 20:00 London on 14 March, want 0", n)
	}
	in, err := segs.Contains(ctx, "ldn", "bday", "c1")
	mtMust(t, err)
	if in {
		t.Error("c1 entered the segment \"birthday today\" at 20:00 London on 14 March")
	}
}
