package bakery

import (
	"time"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/sop"
	"github.com/scrmkit/scrmkit/tagging"
)

const day = 24 * time.Hour

// The IDs the operator gave the chain's playbooks, coupons, tags, segment
// and referral program.
const (
	pbWelcome  = "welcome" // 加好友欢迎: greeting + 新人券, group invite the next morning
	pbNudge    = "nudge"   // 新客未下单: a reminder on day 4 while the 新客 tag holds
	pbWakeUp   = "wake-up" // 沉睡唤醒: a weekend coupon for dormant customers
	calendar   = "nightly" // group posts: 21:30 晚间清货 every day, Wednesday 会员日
	program    = "friends" // 老带新
	segDormant = "dormant" // no order for 21 days

	cpNew    = "new-8"     // 新人券 满30减8
	cpFriend = "friend-10" // 好友券 满35减10
	cpThanks = "thanks-15" // 老带新感谢券 满60减15
	cpWakeUp = "wakeup-10" // 周末回归券 满40减10
	cpGold   = "gold-cake" // 升金卡礼 蛋糕8折

	tagNew     = "新客"
	tagRepeat  = "复购"
	tagRegular = "常客"
	tagGroup   = "社群成员"
	tagHigh    = "高消费"
	tagMid     = "中消费"
	tagLow     = "低消费"
	tagRefuse  = "拒绝营销"

	tplHello     = "欢迎语"
	tplGroup     = "社群邀请"
	tplNudge     = "新人券到期提醒"
	tplWakeUp    = "周末回归券到账"
	tplClear     = "晚间清货"
	tplMemberDay = "周三会员日"

	tierNormal  = "normal"
	tierSilver  = "silver"
	tierGold    = "gold"
	tierDiamond = "diamond"
)

// dormantAfter is when a customer who bought counts as dormant (沉睡).
const dormantAfter = 21 * day

// setup defines everything the operator configures before the first
// customer arrives.
func (w *world) setup() error {
	for _, f := range []func() error{w.defineTags, w.defineSegments, w.defineMembers, w.defineCoupons,
		w.defineReferrals, w.defineTouches} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// defineTags: an exclusive spending group kept in sync by rules, new-lead,
// repeat-buyer, regular and group-member tags, and a keyword tag for people
// who ask not to be messaged (the delivery policy suppresses them).
func (w *world) defineTags() error {
	ctx := w.ctx
	if _, err := w.tags.PutGroup(ctx, Tenant, tagging.Group{ID: "消费力", Name: "30 天消费力", Exclusive: true}); err != nil {
		return err
	}
	for _, t := range []tagging.Tag{
		{ID: tagHigh, Group: "消费力", Kind: tagging.KindRule, Description: "¥200+ in 30 days"},
		{ID: tagMid, Group: "消费力", Kind: tagging.KindRule, Description: "¥80+ in 30 days"},
		{ID: tagLow, Group: "消费力", Kind: tagging.KindRule, Description: "bought in 30 days"},
		{ID: tagNew, Kind: tagging.KindRule, Description: "added in the last 7 days, no order yet"},
		{ID: tagRepeat, Kind: tagging.KindRule, Description: "2+ orders"},
		{ID: tagRegular, Kind: tagging.KindRule, Description: "4+ orders in 30 days"},
		{ID: tagGroup, Kind: tagging.KindRule, Description: "joined a store group"},
		{ID: tagRefuse, Kind: tagging.KindKeyword, Description: "asked not to be messaged"},
	} {
		if _, err := w.tags.PutTag(ctx, Tenant, t); err != nil {
			return err
		}
	}
	spent := func(min string) rule.Condition {
		return rule.Event(scrm.EventOrderPaid).Within(30 * day).SumGte(scrm.Yuan(min))
	}
	newLead := rule.All(rule.Event(scrm.EventCustomerAdded).Within(7*day).Happened(),
		rule.Not(rule.Event(scrm.EventOrderPaid).Happened()))
	for _, r := range []tagging.Rule{
		{ID: "spend-high", Tag: tagHigh, When: spent("200"), Priority: 3, Sync: true},
		{ID: "spend-mid", Tag: tagMid, When: spent("80"), Priority: 2, Sync: true},
		{ID: "spend-low", Tag: tagLow, When: spent("0.01"), Priority: 1, Sync: true},
		{ID: "new-lead", Tag: tagNew, When: newLead, Sync: true},
		{ID: "repeat", Tag: tagRepeat, When: rule.Event(scrm.EventOrderPaid).CountGte(2)},
		{ID: "regular", Tag: tagRegular, When: rule.Event(scrm.EventOrderPaid).Within(30 * day).CountGte(4), Sync: true},
		{ID: "group", Tag: tagGroup, When: rule.Event(scrm.EventGroupJoined).Happened()},
		{ID: "refuse", Tag: tagRefuse, Keywords: []string{"别发了", "退订", "不需要"}},
	} {
		if _, err := w.tags.PutRule(ctx, Tenant, r); err != nil {
			return err
		}
	}
	return nil
}

// defineSegments: 沉睡 (dormant), customers who bought but not in the last
// 21 days. It depends on time passing, so the host refreshes it nightly; an
// order takes a customer out at once (segment.Service.Handle).
func (w *world) defineSegments() error {
	when := rule.All(rule.Event(scrm.EventOrderPaid).Happened(),
		rule.Event(scrm.EventOrderPaid).LastOlderThan(dormantAfter))
	_, err := w.segments.Define(w.ctx, segment.Segment{Tenant: Tenant, ID: segDormant, Name: "沉睡 (no order for 21 days)", When: when})
	return err
}

// defineMembers: tiers by growth value (1 per yuan), 1 point per yuan
// multiplied by the tier, doubled on Wednesdays (周三会员日), points valid
// through the end of next year; reaching 金卡 gives a cake coupon.
func (w *world) defineMembers() error {
	_, err := w.members.PutProgram(w.ctx, member.Program{
		Tenant: Tenant,
		Tiers: []member.Tier{
			{ID: tierNormal, Name: "普通会员"},
			{ID: tierSilver, Name: "银卡", Threshold: 200, PointsMultiplier: scrm.Yuan("1.2")},
			{ID: tierGold, Name: "金卡", Threshold: 600, PointsMultiplier: scrm.Yuan("1.5"),
				UpgradeRewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: cpGold, Note: "升金卡礼"}}},
			{ID: tierDiamond, Name: "黑金卡", Threshold: 1500, PointsMultiplier: scrm.Yuan("2")},
		},
		Growth: member.GrowthRule{PerYuan: scrm.Yuan("1")},
		Earn: member.EarnRule{
			PointsPerYuan: scrm.Yuan("1"),
			MemberDays:    []member.MemberDay{{Weekday: time.Wednesday, Multiplier: scrm.Yuan("2")}},
		},
		Expiry: member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: 1},
	})
	return err
}

// defineCoupons: the five templates the playbooks, the referral program
// and the gold tier hand out.
func (w *world) defineCoupons() error {
	for _, t := range []coupon.Template{
		{ID: cpNew, Name: "新人券 满30减8", Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("30"), Amount: scrm.Yuan("8"),
			PerCustomer: 1, Validity: coupon.Validity{Days: 7}},
		{ID: cpFriend, Name: "好友券 满35减10", Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("35"), Amount: scrm.Yuan("10"),
			PerCustomer: 1, Validity: coupon.Validity{Days: 14}},
		{ID: cpThanks, Name: "老带新感谢券 满60减15", Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("60"), Amount: scrm.Yuan("15"),
			Validity: coupon.Validity{Days: 30}},
		{ID: cpWakeUp, Name: "周末回归券 满40减10", Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("40"), Amount: scrm.Yuan("10"),
			Validity: coupon.Validity{Days: 2}},
		{ID: cpGold, Name: "升金卡礼 蛋糕8折", Kind: coupon.KindPercent, Rate: scrm.Yuan("0.8"), Cap: scrm.Yuan("40"),
			Scope: coupon.Scope{Categories: []string{catCake}}, Validity: coupon.Validity{Days: 30}},
	} {
		t.Tenant = Tenant
		if _, err := w.coupons.PutTemplate(w.ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// defineReferrals: 老带新. The friend gets a 好友券 on binding and 50
// points on a first order of ¥30+ within 14 days; the inviter gets a
// 感谢券 and 100 points for each friend who qualifies, at most 10.
func (w *world) defineReferrals() error {
	return w.referrals.SaveProgram(w.ctx, referral.Program{
		Tenant: Tenant, ID: program, Name: "老带新 (bring a friend)",
		Qualify:          referral.Qualify{MinAmount: scrm.Yuan("30"), Within: 14 * day, FirstOnly: true},
		InviteeOnBind:    []scrm.Reward{{Kind: scrm.RewardCoupon, Template: cpFriend, Note: "好友券"}},
		InviteeOnQualify: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 50, Note: "新客首单礼"}},
		InviterRewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: cpThanks, Note: "老带新感谢券"},
			{Kind: scrm.RewardPoints, Points: 100, Note: "老带新积分"}},
		MaxPerInviter: 10,
	})
}

// defineTouches: the delivery policy, three playbooks and the weekly
// calendar of group posts.
func (w *world) defineTouches() error {
	ctx := w.ctx
	// No touches between 22:00 and 08:00; at most 3 one-to-one messages a
	// week; none for people who said no.
	if _, err := w.touches.SetPolicy(ctx, Tenant, sop.Policy{
		QuietHours:   &sop.Window{Start: "22:00", End: "08:00"},
		Caps:         []sop.Cap{{Channel: scrm.ChannelWeCom, Max: 3, Per: sop.Week}},
		SuppressTags: []string{tagRefuse},
	}); err != nil {
		return err
	}
	msg := func(template string) sop.Action {
		return sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: template}
	}
	gift := func(template string) sop.Action {
		return sop.Action{Kind: sop.Reward, Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: template}}
	}
	weekend := []time.Weekday{time.Saturday, time.Sunday}
	notDormant := rule.Not(rule.InSegment(segDormant))
	bought := rule.Event(scrm.EventOrderPaid).Happened()
	for _, pb := range []sop.Playbook{
		{ID: pbWelcome, Name: "加好友欢迎 (welcome)", Trigger: sop.Trigger{Event: scrm.EventCustomerAdded},
			Steps: []sop.Step{
				{ID: "hello", After: 5 * time.Minute, Action: msg(tplHello)},
				{ID: "coupon", After: 5 * time.Minute, Action: gift(cpNew)},
				{ID: "group", Day: 1, At: "10:00", Action: msg(tplGroup)},
			}},
		{ID: pbNudge, Name: "新客未下单提醒 (first-order nudge)", Trigger: sop.Trigger{Tag: tagNew},
			Steps: []sop.Step{{ID: "remind", Day: 4, At: "18:00", Action: msg(tplNudge)}},
			Exit:  &bought},
		{ID: pbWakeUp, Name: "沉睡唤醒 (weekend wake-up)", Trigger: sop.Trigger{Segment: segDormant},
			Steps: []sop.Step{
				{ID: "coupon", At: "10:00", Weekdays: weekend, Action: gift(cpWakeUp)},
				{ID: "message", At: "10:00", Weekdays: weekend, Action: msg(tplWakeUp)},
			},
			Exit:    &notDormant,
			Reentry: sop.Reentry{Mode: sop.AfterExit, Cooldown: 14 * day}},
	} {
		pb.Tenant = Tenant
		if _, err := w.touches.PutPlaybook(ctx, pb); err != nil {
			return err
		}
	}
	var groups []string
	for _, s := range chainShops() {
		groups = append(groups, s.Group)
	}
	cal := sop.Calendar{Tenant: Tenant, ID: calendar}
	for d := time.Sunday; d <= time.Saturday; d++ {
		cal.Entries = append(cal.Entries, sop.Entry{Weekday: d, At: "21:30", Groups: groups,
			Channel: scrm.ChannelWeComGroup, Template: tplClear, Vars: map[string]string{"discount": "8折"}})
	}
	cal.Entries = append(cal.Entries, sop.Entry{Weekday: time.Wednesday, At: "10:00", Groups: groups,
		Channel: scrm.ChannelWeComGroup, Template: tplMemberDay})
	_, err := w.touches.PutCalendar(ctx, cal)
	return err
}

// tierName returns the display name of a tier ID.
func tierName(id string) string {
	switch id {
	case tierNormal:
		return "普通会员"
	case tierSilver:
		return "银卡"
	case tierGold:
		return "金卡"
	case tierDiamond:
		return "黑金卡"
	}
	return "(none)"
}
