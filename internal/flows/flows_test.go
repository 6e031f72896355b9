// Package flows_test runs whole hosts: every service wired into one
// Dispatcher, events delivered twice, out of order, or after a failed
// publish, and checks what each package and the metrics end up with. The
// queue_*_test.go files feed a host as a message queue would (events
// decoded from JSON, redelivered, reordered); zones_test.go serves tenants
// whose zone setting changes while the host runs.
package flows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/sop"
	"github.com/scrmkit/scrmkit/tagging"
)

const tenant scrm.TenantID = "shop"
const day = 24 * time.Hour

// world is a host wiring every service into one Dispatcher, like
// examples/quickstart does.
type world struct {
	t        *testing.T
	ctx      context.Context
	clock    *scrmtest.Clock
	bus      *scrm.Dispatcher
	profiles *scrm.Profiles
	store    scrm.ProfileStore
	router   *scrm.RewardRouter
	members  *member.Service
	coupons  *coupon.Service
	refs     *referral.Service
	tags     *tagging.Service
	segs     *segment.Service
	touches  *sop.Service
	channel  *scrmtest.Recorder
	col      *metrics.Collector
	team     *scrm.Team   // nil unless worldOptions.team
	groups   *scrm.Groups // nil unless worldOptions.team
	// grantFail and pubFail inject failures into the router and the publisher.
	grantFail func(g scrm.Grant) error // called for every grant the router passes
	grants    []scrm.Grant
	pubFail   func(e scrm.Event) error // called for every event a service publishes
	mu        sync.Mutex
}

// worldOptions are what the hosts of these tests differ in.
type worldOptions struct {
	tenant scrm.TenantID // the metrics Collector's tenant; default tenant
	team   bool          // scrm.Team and scrm.Groups on the Dispatcher too, right after Profiles
	seqIDs bool          // new IDs "X00001", "X00002", ... instead of random ones
}

func newWorld(t *testing.T, now time.Time) *world { return newWorldWith(t, now, worldOptions{}) }

func newWorldWith(t *testing.T, now time.Time, o worldOptions) *world {
	w := &world{t: t, ctx: context.Background(), clock: scrmtest.NewClock(now), channel: scrmtest.NewRecorder()}
	w.store = scrm.NewMemoryProfileStore()
	pub := scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
		w.mu.Lock()
		f := w.pubFail
		w.mu.Unlock()
		if f != nil {
			if err := f(e); err != nil {
				return err
			}
		}
		return w.bus.Publish(ctx, e)
	})
	kernel := scrm.Options{Clock: w.clock, Publisher: pub, Location: scrm.DefaultLocation()}
	if o.seqIDs {
		var mu sync.Mutex
		n := 0
		kernel.NewID = func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("X%05d", n) }
	}
	w.profiles = scrm.NewProfiles(w.store, &kernel)
	w.router = scrm.NewRewardRouter()
	w.members = member.New(member.NewMemoryStore(), w.store, &member.Options{Options: kernel, Rewarder: w.router})
	w.coupons = coupon.New(coupon.NewMemoryStore(), w.store, &coupon.Options{Options: kernel})
	w.refs = referral.New(referral.NewMemoryStore(), w.store, &referral.Options{Options: kernel, Rewarder: w.router,
		CodeSecret: func(scrm.TenantID) []byte { return []byte("0123456789abcdef0123456789abcdef") }})
	w.tags = tagging.New(tagging.NewMemoryStore(), w.store, &tagging.Options{Options: kernel})
	w.segs = segment.New(segment.NewMemoryStore(), w.store, &segment.Options{Options: kernel})
	w.touches = sop.New(sop.NewMemoryStore(), w.store, &sop.Options{Options: kernel, Channel: w.channel, Rewarder: w.router})
	rec := func(to scrm.Rewarder) scrm.Rewarder {
		return scrm.RewarderFunc(func(ctx context.Context, g scrm.Grant) error {
			w.mu.Lock()
			w.grants = append(w.grants, g)
			f := w.grantFail
			w.mu.Unlock()
			if f != nil {
				if err := f(g); err != nil {
					return err
				}
			}
			return to.Grant(ctx, g)
		})
	}
	w.router.Route(scrm.RewardPoints, rec(w.members))
	w.router.Route(scrm.RewardGrowth, rec(w.members))
	w.router.Route(scrm.RewardStoredValue, rec(w.members))
	w.router.Route(scrm.RewardCoupon, rec(w.coupons))
	if o.tenant == "" {
		o.tenant = tenant
	}
	w.col = metrics.NewCollector(o.tenant, &metrics.Options{Options: kernel})
	handlers := []scrm.Handler{w.profiles}
	if o.team {
		w.team = scrm.NewTeam(scrm.NewMemoryStaffStore(), &kernel)
		w.groups = scrm.NewGroups(scrm.NewMemoryGroupStore(), &kernel)
		handlers = append(handlers, w.team, w.groups)
	}
	w.bus = scrm.NewDispatcher(append(handlers, w.tags, w.segs, w.members, w.refs, w.touches, w.col)...)
	return w
}

func (w *world) publish(e scrm.Event) error {
	if e.Tenant == "" {
		e.Tenant = tenant
	}
	return w.bus.Publish(w.ctx, e)
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) account(c scrm.CustomerID) member.Account {
	w.t.Helper()
	a, err := w.members.Account(w.ctx, tenant, c)
	if err != nil {
		w.t.Fatalf("account %s: %v", c, err)
	}
	return a
}

func (w *world) wallet(c scrm.CustomerID) []coupon.Coupon {
	w.t.Helper()
	cs, err := w.coupons.Wallet(w.ctx, tenant, c)
	w.must(err)
	return cs
}

func paid(id string, c scrm.CustomerID, at time.Time, amount, order string) scrm.Event {
	return scrm.Event{ID: id, Tenant: tenant, Customer: c, Type: scrm.EventOrderPaid, Time: at,
		Amount: scrm.Yuan(amount), Props: map[string]any{"order_id": order}}
}

func refunded(id string, c scrm.CustomerID, at time.Time, amount, order string) scrm.Event {
	return scrm.Event{ID: id, Tenant: tenant, Customer: c, Type: scrm.EventOrderRefunded, Time: at,
		Amount: scrm.Yuan(amount), Props: map[string]any{"order_id": order}}
}

func (w *world) setup() {
	_, err := w.coupons.PutTemplate(w.ctx, coupon.Template{Tenant: tenant, ID: "gold-gift", Name: "金卡礼", Kind: coupon.KindCash,
		Amount: scrm.Yuan("20"), Validity: coupon.Validity{Days: 30}})
	w.must(err)
	_, err = w.coupons.PutTemplate(w.ctx, coupon.Template{Tenant: tenant, ID: "new-10", Name: "新人券", Kind: coupon.KindCash,
		Amount: scrm.Yuan("10"), Validity: coupon.Validity{Days: 30}})
	w.must(err)
	_, err = w.members.PutProgram(w.ctx, member.Program{Tenant: tenant,
		Tiers: []member.Tier{
			{ID: "normal", Name: "普卡"},
			{ID: "gold", Name: "金卡", Threshold: 500, UpgradeRewards: []scrm.Reward{
				{Kind: scrm.RewardCoupon, Template: "gold-gift"},
				{Kind: scrm.RewardPoints, Points: 100},
				{Kind: scrm.RewardCoupon, Template: "gold-gift", Count: 2},
			}},
		},
		Growth: member.GrowthRule{PerYuan: scrm.Yuan("1")},
		Earn:   member.EarnRule{PointsPerYuan: scrm.Yuan("1"), MemberDays: []member.MemberDay{{Weekday: time.Tuesday, Multiplier: scrm.Yuan("2")}}},
	})
	w.must(err)
}

func (w *world) referralSetup(p referral.Program) string {
	p.Tenant, p.ID = tenant, "friends"
	w.must(w.refs.SaveProgram(w.ctx, p))
	code, err := w.refs.Code(w.ctx, tenant, "C1")
	w.must(err)
	return code
}

// TestRefundBeforePaidReversalIsPublished: an order.refunded delivered
// before its order.paid (at-least-once delivery, no ordering) makes
// referral insert the order's percent and commission entries as reversed,
// but no referral.reversed event is published for them, so scrm/metrics'
// referral report (built from referral.reversed events, "its definitions
// are those of referral.Report, so the two agree") misses the reversal,
// unlike when the same two events arrive in order.
func TestRefundBeforePaidReversalIsPublished(t *testing.T) {
	for _, refundFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("refundFirst=%v", refundFirst), func(t *testing.T) {
			now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
			w := newWorld(t, now)
			w.setup()
			code := w.referralSetup(referral.Program{
				Qualify:     referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * day},
				Percent:     scrm.Yuan("0.10"),
				Commission:  []decimal.Decimal{scrm.Yuan("0.05")},
				SettleAfter: 7 * day,
			})
			_, err := w.refs.Bind(w.ctx, referral.BindRequest{Tenant: tenant, Program: "friends", Invitee: "C2", Code: code})
			w.must(err)
			w.clock.Advance(day)
			pay := paid("p1", "C2", w.clock.Now(), "100.00", "o1")
			ref := refunded("r1", "C2", w.clock.Now().Add(time.Hour), "100.00", "o1")
			w.clock.Advance(2 * time.Hour)
			evs := []scrm.Event{pay, ref}
			if refundFirst {
				evs = []scrm.Event{ref, pay}
			}
			for _, e := range evs {
				w.must(w.publish(e))
			}
			rep, err := w.refs.Report(w.ctx, tenant, "friends")
			w.must(err)
			m, err := w.col.Referrals(metrics.ReferralOptions{Program: "friends"})
			w.must(err)
			t.Logf("referral.Report: Reversed %s; metrics: Reversed %d, ReversedAmount %s",
				rep.Reversed, m.Total.Reversed, m.Total.ReversedAmount)
			if !rep.Reversed.Equal(scrm.Yuan("15")) {
				t.Fatalf("referral.Report.Reversed = %s, want 15.00", rep.Reversed)
			}
			if m.Total.Reversed != 2 || !m.Total.ReversedAmount.Equal(rep.Reversed) {
				t.Errorf("metrics.Referrals: Reversed %d, ReversedAmount %s; want 2 and %s, as referral.Report",
					m.Total.Reversed, m.Total.ReversedAmount, rep.Reversed)
			}
		})
	}
}

// TestCouponLongOrderIDEvents: coupon derives the IDs of the events
// it publishes by concatenation ("coupon.redeemed:<coupon>:<order>"),
// without bounding them to scrm.MaxIDLength as member, tagging, segment
// and referral do. An order ID that coupon itself accepts (≤ 128 bytes)
// then yields an event the Dispatcher refuses (Event.Validate: ID longer
// than 128 bytes): Confirm commits and returns an error on every call,
// and coupon.redeemed never reaches the other handlers.
func TestCouponLongOrderIDEvents(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, now)
	w.setup()
	w.must(w.coupons.Grant(w.ctx, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "g1",
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "gold-gift"}}))
	cs := w.wallet("C1")
	if len(cs) != 1 {
		t.Fatalf("wallet %d", len(cs))
	}
	orderID := "wx-" + strings.Repeat("9", 97) // 100 bytes: a valid ID
	cart := coupon.Cart{Tenant: tenant, Customer: "C1", OrderID: orderID,
		Items: []coupon.Item{{SKU: "latte", Category: "coffee", Price: scrm.Yuan("60"), Quantity: 1}}}
	if _, err := w.coupons.Lock(w.ctx, coupon.LockRequest{Cart: cart, Coupons: []string{cs[0].ID}, IdempotencyKey: "lock-1"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		o, err := w.coupons.Confirm(w.ctx, tenant, orderID)
		if err != nil {
			t.Errorf("Confirm #%d of order %q (%d bytes, state %s): %v", i+1, orderID[:10]+"…", len(orderID), o.State, err)
		}
	}
	rep, err := w.col.Coupons(metrics.CouponOptions{})
	w.must(err)
	if rep.Total.Redeemed != 1 {
		t.Errorf("metrics: Redeemed %d, want 1 (coupon.redeemed never delivered)", rep.Total.Redeemed)
	}
}

// failOnce returns a pubFail that fails the first publish of events of
// type typ with ErrUnavailable.
func failOnce(typ string) func(scrm.Event) error {
	failed := false
	return func(e scrm.Event) error {
		if e.Type == typ && !failed {
			failed = true
			return scrm.Errorf(scrm.ErrUnavailable, "queue", "broker down")
		}
		return nil
	}
}

// TestReversedEventRepublished: when publishing referral.reversed
// fails, referral.Handle returns ErrUnavailable for the order.refunded
// ("the caller's write stands and the event can be published again"), but
// delivering the refund again publishes nothing: ReverseOrder returns only
// the entries it moves now, and they were moved by the first delivery. The
// event is lost for good. member, by contrast, publishes its
// member.tier_changed again when the order.paid whose publish failed is
// delivered again (shown first, as the control).
func TestReversedEventRepublished(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, now)
	w.setup()
	code := w.referralSetup(referral.Program{
		Qualify:     referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * day},
		Percent:     scrm.Yuan("0.10"),
		SettleAfter: 7 * day,
	})
	_, err := w.refs.Bind(w.ctx, referral.BindRequest{Tenant: tenant, Program: "friends", Invitee: "C2", Code: code})
	w.must(err)
	w.clock.Advance(day)

	// Control: member republishes a tier change whose publish failed.
	w.pubFail = failOnce(scrm.EventTierChanged)
	pay := paid("p1", "C2", w.clock.Now(), "600.00", "o1")
	if err := w.publish(pay); err == nil {
		t.Fatal("want the failed member.tier_changed publish reported")
	}
	w.must(w.publish(pay)) // redelivery
	p, err := w.profiles.Get(w.ctx, tenant, "C2")
	w.must(err)
	if p.Count(scrm.EventTierChanged, time.Time{}) != 1 { // "" → gold, published on the redelivery
		t.Fatalf("control: tier_changed events in profile = %d, want 1", p.Count(scrm.EventTierChanged, time.Time{}))
	}

	w.pubFail = failOnce(referral.EventReversed)
	w.clock.Advance(time.Hour)
	ref := refunded("r1", "C2", w.clock.Now(), "600.00", "o1")
	err = w.publish(ref)
	if !errors.Is(err, scrm.ErrUnavailable) {
		t.Fatalf("first delivery of the refund: %v, want ErrUnavailable (publish failed)", err)
	}
	if err := w.publish(ref); err != nil { // redelivery, as the error asks
		t.Fatal(err)
	}
	rep, err := w.refs.Report(w.ctx, tenant, "friends")
	w.must(err)
	m, err := w.col.Referrals(metrics.ReferralOptions{Program: "friends"})
	w.must(err)
	var n int64
	if p, err = w.profiles.Get(w.ctx, tenant, "C1"); err == nil {
		n = p.Count(referral.EventReversed, time.Time{})
	} else if !errors.Is(err, scrm.ErrNotFound) {
		t.Fatal(err)
	}
	t.Logf("referral.Report.Reversed %s; referral.reversed events delivered: %d; metrics Reversed %d (%s)",
		rep.Reversed, n, m.Total.Reversed, m.Total.ReversedAmount)
	if n != 1 || m.Total.Reversed != 1 {
		t.Errorf("after redelivering the refund, referral.reversed delivered %d times (metrics %d), want 1: the event is never published again", n, m.Total.Reversed)
	}
}

// TestSegmentEnteredRepublished: segment.Handle returns
// ErrUnavailable when publishing segment.entered fails, but delivering the
// causing event again publishes nothing (profile and Store already agree),
// so a playbook triggered by entering the segment never enrolls the
// customer. tagging, by contrast, publishes tag.applied again on
// redelivery, and the tag-triggered playbook enrolls (the control).
func TestSegmentEnteredRepublished(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, now)
	w.setup()
	spent := rule.Event(scrm.EventOrderPaid).Within(90 * day).SumGte(scrm.Yuan("100"))
	_, err := w.segs.Define(w.ctx, segment.Segment{Tenant: tenant, ID: "spenders", When: spent})
	w.must(err)
	_, err = w.tags.PutTag(w.ctx, tenant, tagging.Tag{ID: "buyer", Kind: tagging.KindRule})
	w.must(err)
	_, err = w.tags.PutRule(w.ctx, tenant, tagging.Rule{ID: "r-buyer", Tag: "buyer", When: spent})
	w.must(err)
	step := []sop.Step{{ID: "s1", After: time.Hour, Action: sop.Action{Kind: sop.Reward, Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 5}}}}
	_, err = w.touches.PutPlaybook(w.ctx, sop.Playbook{Tenant: tenant, ID: "by-tag", Trigger: sop.Trigger{Tag: "buyer"}, Steps: step})
	w.must(err)
	_, err = w.touches.PutPlaybook(w.ctx, sop.Playbook{Tenant: tenant, ID: "by-segment", Trigger: sop.Trigger{Segment: "spenders"}, Steps: step})
	w.must(err)

	failedTag, failedSeg := failOnce(scrm.EventTagApplied), failOnce(scrm.EventSegmentEntered)
	w.pubFail = func(e scrm.Event) error {
		if err := failedTag(e); err != nil {
			return err
		}
		return failedSeg(e)
	}
	pay := paid("p1", "C1", now, "150.00", "o1")
	if err := w.publish(pay); !errors.Is(err, scrm.ErrUnavailable) {
		t.Fatalf("first delivery: %v, want ErrUnavailable", err)
	}
	w.must(w.publish(pay)) // redelivery, as the error asks
	ens, err := w.touches.Enrollments(w.ctx, tenant, "C1")
	w.must(err)
	got := map[string]bool{}
	for _, en := range ens {
		got[en.Playbook] = true
	}
	if !got["by-tag"] {
		t.Fatalf("control: no enrollment in the tag-triggered playbook: %+v", ens)
	}
	p, err := w.profiles.Get(w.ctx, tenant, "C1")
	w.must(err)
	t.Logf("in segment: %v; segment.entered events in profile: %d; enrollments %v",
		p.InSegment("spenders"), p.Count(scrm.EventSegmentEntered, time.Time{}), got)
	if !got["by-segment"] {
		t.Errorf("customer entered segment %q (profile %v) but segment.entered was never delivered after redelivery: no enrollment in the segment-triggered playbook",
			"spenders", p.InSegment("spenders"))
	}
}

// TestCouponRestoredRepublished: coupon.Refund returns
// ErrUnavailable when publishing coupon.restored fails (the refund is
// stored), but the retry with the same key is answered as a replay and
// publishes nothing, although coupon's events are documented as
// republished by replayed requests ("a replayed request publishes events
// with the same IDs"). scrm/metrics then counts the coupon as redeemed for
// good. Confirm, by contrast, publishes coupon.redeemed again when retried.
func TestCouponRestoredRepublished(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, now)
	w.setup()
	w.must(w.coupons.Grant(w.ctx, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "g1",
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "gold-gift"}}))
	cs := w.wallet("C1")
	cart := coupon.Cart{Tenant: tenant, Customer: "C1", OrderID: "o1",
		Items: []coupon.Item{{SKU: "latte", Category: "coffee", Price: scrm.Yuan("60"), Quantity: 1}}}
	_, err := w.coupons.Lock(w.ctx, coupon.LockRequest{Cart: cart, Coupons: []string{cs[0].ID}, IdempotencyKey: "lock-1"})
	w.must(err)
	// Control: a Confirm whose publish failed publishes again when retried.
	w.pubFail = failOnce(coupon.EventRedeemed)
	if _, err := w.coupons.Confirm(w.ctx, tenant, "o1"); err == nil {
		t.Fatal("want the failed coupon.redeemed publish reported")
	}
	_, err = w.coupons.Confirm(w.ctx, tenant, "o1")
	w.must(err)
	rep, err := w.col.Coupons(metrics.CouponOptions{})
	w.must(err)
	if rep.Total.Redeemed != 1 {
		t.Fatalf("control: metrics Redeemed %d, want 1", rep.Total.Redeemed)
	}

	w.pubFail = failOnce(coupon.EventRestored)
	req := coupon.RefundRequest{Tenant: tenant, OrderID: "o1", IdempotencyKey: "refund-1"}
	if _, err := w.coupons.Refund(w.ctx, req); !errors.Is(err, scrm.ErrUnavailable) {
		t.Fatalf("first refund: %v, want ErrUnavailable (publish failed)", err)
	}
	rf, err := w.coupons.Refund(w.ctx, req) // the retry the error asks for
	w.must(err)
	rep, err = w.col.Coupons(metrics.CouponOptions{})
	w.must(err)
	t.Logf("refund restored %v; wallet state %s; metrics Redeemed %d, DiscountCost %s",
		rf.Restored, w.wallet("C1")[0].State, rep.Total.Redeemed, rep.Total.DiscountCost)
	if rep.Total.Redeemed != 0 {
		t.Errorf("after the retried refund, metrics Redeemed = %d (DiscountCost %s), want 0: coupon.restored was never published again",
			rep.Total.Redeemed, rep.Total.DiscountCost)
	}
}

// TestUpgradeRewardFailsMidway (passing; kept): the second of a
// tier's three upgrade rewards fails in the router (member → coupon,
// member → member, member → coupon). The order.paid reports the failure;
// delivering it again grants the failed reward once and nothing twice.
func TestUpgradeRewardFailsMidway(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC) // Tuesday 20:00 in Shanghai: member day ×2
	w := newWorld(t, now)
	w.setup()
	failed := false
	w.grantFail = func(g scrm.Grant) error {
		if g.Source == "member:upgrade:gold" && g.Reward.Kind == scrm.RewardPoints && !failed {
			failed = true
			return scrm.Errorf(scrm.ErrUnavailable, "test", "ledger down")
		}
		return nil
	}
	pay := paid("p1", "C1", now, "600.00", "o1")
	if err := w.publish(pay); !errors.Is(err, scrm.ErrUnavailable) {
		t.Fatalf("first delivery: %v, want ErrUnavailable", err)
	}
	if a := w.account("C1"); a.Points != 1200 || a.Tier != "gold" || len(w.wallet("C1")) != 3 {
		t.Fatalf("after the failure: points %d tier %s coupons %d, want 1200, gold, 3", a.Points, a.Tier, len(w.wallet("C1")))
	}
	for i := 0; i < 2; i++ {
		w.must(w.publish(pay))
	}
	if a := w.account("C1"); a.Points != 1300 || a.Growth != 600 || len(w.wallet("C1")) != 3 {
		t.Errorf("after redeliveries: points %d growth %d coupons %d, want 1300, 600, 3", a.Points, a.Growth, len(w.wallet("C1")))
	}
	// A full refund takes back the order's points, growth and tier; the
	// upgrade gifts stay (nothing claims them back).
	w.clock.Advance(time.Hour)
	w.must(w.publish(refunded("r1", "C1", w.clock.Now(), "600.00", "o1")))
	if a := w.account("C1"); a.Points != 100 || a.Growth != 0 || a.Tier != "normal" {
		t.Errorf("after the refund: points %d growth %d tier %s, want 100, 0, normal", a.Points, a.Growth, a.Tier)
	}
}

// TestConcurrentDeliveries (passing; kept; run with -race): the same
// qualifying order.paid delivered by four goroutines while three other
// orders of the invitee arrive, through the full wiring (profiles, tags,
// segments, member, referral, sop, metrics): every reward is paid once.
func TestConcurrentDeliveries(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, now)
	w.setup()
	code := w.referralSetup(referral.Program{
		Qualify:          referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * day},
		InviteeOnQualify: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "new-10"}},
		InviterRewards:   []scrm.Reward{{Kind: scrm.RewardPoints, Points: 200}, {Kind: scrm.RewardGrowth, Points: 600}},
	})
	_, err := w.refs.Bind(w.ctx, referral.BindRequest{Tenant: tenant, Program: "friends", Invitee: "C2", Code: code})
	w.must(err)
	w.clock.Advance(day) // Wednesday in Shanghai: no member day
	var wg sync.WaitGroup
	for i := 0; i < 7; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			e := paid("p1", "C2", w.clock.Now(), "600.00", "o1")
			if i%2 == 1 {
				e = paid(fmt.Sprintf("q%d", i), "C2", w.clock.Now().Add(time.Duration(i)*time.Second), "300.00", fmt.Sprintf("o-q%d", i))
			}
			if err := w.publish(e); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	a1, a2 := w.account("C1"), w.account("C2")
	// C2: 600 + 3×300 = 1500 points and growth, gold (+100 points, 3 coupons), 1 coupon from referral.
	if a2.Points != 1600 || a2.Growth != 1500 || a2.Tier != "gold" || len(w.wallet("C2")) != 4 {
		t.Errorf("C2: points %d growth %d tier %s coupons %d, want 1600, 1500, gold, 4", a2.Points, a2.Growth, a2.Tier, len(w.wallet("C2")))
	}
	// C1: 200 points and 600 growth from referral, gold (+100 points, 3 coupons).
	if a1.Points != 300 || a1.Growth != 600 || a1.Tier != "gold" || len(w.wallet("C1")) != 3 {
		t.Errorf("C1: points %d growth %d tier %s coupons %d, want 300, 600, gold, 3", a1.Points, a1.Growth, a1.Tier, len(w.wallet("C1")))
	}
}
