package flows_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/sop"
	"github.com/scrmkit/scrmkit/tagging"
)

const hqTenant scrm.TenantID = "hq"
const hqDay = 24 * time.Hour

// hqHost is the flows' host (world) with Team and Groups on the Dispatcher
// and sequential IDs, for tenant hqTenant.
type hqHost struct {
	*world
	loc *time.Location
}

func hqNewHost(t *testing.T, start time.Time) *hqHost {
	w := newWorldWith(t, start, worldOptions{tenant: hqTenant, team: true, seqIDs: true})
	return &hqHost{world: w, loc: scrm.DefaultLocation()}
}

// hqRoundTrip encodes e as JSON and decodes it again, as a queue would.
func hqRoundTrip(t *testing.T, e scrm.Event, useNumber bool) scrm.Event {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if useNumber {
		d.UseNumber()
	}
	var out scrm.Event
	if err := d.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// deliver publishes e with the clock at max(clock, e.Time).
func (h *hqHost) deliver(e scrm.Event) error {
	if e.Time.After(h.clock.Now()) {
		h.clock.Set(e.Time)
	}
	return h.bus.Publish(h.ctx, e)
}

// setup defines tags, a segment, a member program, coupons, a referral
// program and two playbooks.
func (h *hqHost) setup() {
	ctx := h.ctx
	_, err := h.tags.PutGroup(ctx, hqTenant, tagging.Group{ID: "spend", Name: "spend", Exclusive: true})
	h.must(err)
	for _, tg := range []tagging.Tag{
		{ID: "high", Group: "spend", Kind: tagging.KindRule},
		{ID: "low", Group: "spend", Kind: tagging.KindRule},
		{ID: "repeat", Kind: tagging.KindRule},
		{ID: "grouped", Kind: tagging.KindRule},
		{ID: "refuse", Kind: tagging.KindKeyword},
	} {
		_, err := h.tags.PutTag(ctx, hqTenant, tg)
		h.must(err)
	}
	spent := func(min string) rule.Condition {
		return rule.Event(scrm.EventOrderPaid).Within(30 * hqDay).SumGte(scrm.Yuan(min))
	}
	for _, r := range []tagging.Rule{
		{ID: "r-high", Tag: "high", When: spent("200"), Priority: 2, Sync: true},
		{ID: "r-low", Tag: "low", When: spent("0.01"), Priority: 1, Sync: true},
		{ID: "r-repeat", Tag: "repeat", When: rule.Event(scrm.EventOrderPaid).CountGte(2)},
		{ID: "r-group", Tag: "grouped", When: rule.Event(scrm.EventGroupJoined).Happened()},
		{ID: "r-refuse", Tag: "refuse", Keywords: []string{"退订"}},
	} {
		_, err := h.tags.PutRule(ctx, hqTenant, r)
		h.must(err)
	}
	_, err = h.segs.Define(ctx, segment.Segment{Tenant: hqTenant, ID: "vip", Name: "vip",
		When: rule.Event(scrm.EventOrderPaid).SumGte(scrm.Yuan("300"))})
	h.must(err)
	for _, tp := range []coupon.Template{
		{ID: "gold-gift", Name: "gold", Kind: coupon.KindCash, Amount: scrm.Yuan("20"), Validity: coupon.Validity{Days: 60}},
		{ID: "thanks", Name: "thanks", Kind: coupon.KindCash, Amount: scrm.Yuan("5"), Validity: coupon.Validity{Days: 60}},
	} {
		tp.Tenant = hqTenant
		_, err := h.coupons.PutTemplate(ctx, tp)
		h.must(err)
	}
	_, err = h.members.PutProgram(ctx, member.Program{Tenant: hqTenant,
		Tiers: []member.Tier{
			{ID: "normal", Name: "普卡"},
			{ID: "silver", Name: "银卡", Threshold: 200, PointsMultiplier: scrm.Yuan("1.2")},
			{ID: "gold", Name: "金卡", Threshold: 600, PointsMultiplier: scrm.Yuan("1.5"),
				UpgradeRewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "gold-gift"}}},
		},
		Growth: member.GrowthRule{PerYuan: scrm.Yuan("1")},
		Earn: member.EarnRule{PointsPerYuan: scrm.Yuan("1"),
			MemberDays: []member.MemberDay{{Weekday: time.Wednesday, Multiplier: scrm.Yuan("2")}},
			Categories: map[string]decimal.Decimal{"cake": scrm.Yuan("2")},
			Events:     []member.EventRule{{Type: scrm.EventGroupJoined, Points: 10, Limit: 1}}},
	})
	h.must(err)
	h.must(h.refs.SaveProgram(ctx, referral.Program{Tenant: hqTenant, ID: "friends", Name: "friends",
		Qualify:        referral.Qualify{MinAmount: scrm.Yuan("30"), Within: 30 * hqDay},
		InviterRewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 100}},
		Percent:        scrm.Yuan("0.1")}))
	msg := func(tpl string) sop.Action {
		return sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: tpl}
	}
	for _, pb := range []sop.Playbook{
		{ID: "welcome", Name: "welcome", Trigger: sop.Trigger{Event: scrm.EventCustomerAdded},
			Steps: []sop.Step{{ID: "hello", After: 5 * time.Minute, Action: msg("hello")}}},
		{ID: "thanks", Name: "thanks", Trigger: sop.Trigger{Event: scrm.EventOrderPaid},
			Steps: []sop.Step{{ID: "ty", After: time.Hour, Action: msg("ty")}}},
		{ID: "vip", Name: "vip", Trigger: sop.Trigger{Segment: "vip"},
			Steps: []sop.Step{{ID: "v", After: time.Hour, Action: msg("vip")}}},
		{ID: "gold", Name: "gold", Trigger: sop.Trigger{Event: scrm.EventTierChanged},
			Steps: []sop.Step{{ID: "g", After: time.Hour, Action: msg("gold")}}},
	} {
		pb.Tenant = hqTenant
		_, err := h.touches.PutPlaybook(ctx, pb)
		h.must(err)
	}
}

// account returns the customer's member account.
func (h *hqHost) account(c scrm.CustomerID) member.Account {
	h.t.Helper()
	a, err := h.members.Account(h.ctx, hqTenant, c)
	h.must(err)
	return a
}

// runDue runs the scheduler until nothing is due.
func (h *hqHost) runDue() {
	for {
		r, err := h.touches.RunDue(h.ctx, sop.RunRequest{Worker: "hq"})
		h.must(err)
		if r.Claimed == 0 {
			return
		}
	}
}

var hqStart = time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation())

func hqPrepare(t *testing.T) *hqHost {
	h := hqNewHost(t, hqStart)
	h.setup()
	h.must(h.team.PutStaff(h.ctx, scrm.Staff{Tenant: hqTenant, ID: "s1", Name: "A", Store: "S1", Active: true}))
	h.must(h.team.PutStaff(h.ctx, scrm.Staff{Tenant: hqTenant, ID: "s2", Name: "B", Store: "S1", Active: true}))
	code, err := h.refs.Code(h.ctx, hqTenant, "C1")
	h.must(err)
	_, err = h.refs.Bind(h.ctx, referral.BindRequest{Tenant: hqTenant, Program: "friends", Invitee: "C2", Code: code, At: hqStart})
	h.must(err)
	return h
}
