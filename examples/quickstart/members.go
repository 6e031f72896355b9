package main

import (
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// defineMembers sets up the loyalty program: tiers by growth value (成长值),
// 1 point per yuan doubled on Tuesdays (member day), points valid through
// the end of the next calendar year, 100 points = ¥1 at checkout.
func (a *app) defineMembers() error {
	_, err := a.members.PutProgram(a.ctx, member.Program{
		Tenant: tenant,
		Tiers: []member.Tier{
			{ID: "normal", Name: "普卡"},
			{ID: "silver", Name: "银卡", Threshold: 300, PointsMultiplier: scrm.Yuan("1.2")},
			{ID: "gold", Name: "金卡", Threshold: 1000, PointsMultiplier: scrm.Yuan("1.5"),
				UpgradeRewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 500, Note: "升金卡礼"}}},
		},
		Growth: member.GrowthRule{PerYuan: scrm.Yuan("1")},
		Earn: member.EarnRule{
			PointsPerYuan: scrm.Yuan("1"),
			MemberDays:    []member.MemberDay{{Weekday: time.Tuesday, Multiplier: scrm.Yuan("2")}},
		},
		Expiry: member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: 1},
		Redeem: member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: scrm.Yuan("0.5"), Step: 100},
	})
	return err
}

// showMembers is part 5: the orders of the story earned points and growth;
// a big order reaches 金卡, a checkout pays with points, a refund takes the
// tier back, and the points expire after the next year ends.
func (a *app) showMembers() error {
	a.printf("\n== 5. members: points, growth, tiers\n")
	show := func(c scrm.CustomerID, what string) error {
		acc, err := a.members.Account(a.ctx, tenant, c)
		if err != nil {
			return err
		}
		a.printf("%-28s %s points %5d  growth %5d  tier %s", what, c, acc.Points, acc.Growth, acc.TierName)
		if !acc.NextExpiry.IsZero() {
			a.printf("  (next expiry %s)", a.local(acc.NextExpiry, "2006-01-02"))
		}
		a.printf("\n")
		return nil
	}
	for _, c := range []scrm.CustomerID{"C001", "C004", "C006"} {
		if err := show(c, "after the story:"); err != nil {
			return err
		}
	}

	// 李雷 orders beans for the office on a Tuesday: ¥800.
	a.clock.Set(time.Date(2026, 11, 24, 11, 0, 0, 0, a.loc))
	if err := a.publish("C001", scrm.EventOrderPaid, a.clock.Now(), "800.00", map[string]any{"order_id": "A1001"}); err != nil {
		return err
	}
	if err := show("C001", "¥800 on member day:"); err != nil {
		return err
	}

	// Next day he pays for a ¥60 order with points: at most half of it.
	a.clock.Advance(day)
	q, err := a.members.Quote(a.ctx, member.QuoteRequest{Tenant: tenant, Customer: "C001", OrderAmount: scrm.Yuan("60.00")})
	if err != nil {
		return err
	}
	h, err := a.members.Hold(a.ctx, member.HoldRequest{Tenant: tenant, Customer: "C001", IdempotencyKey: "checkout-A1002",
		OrderID: "A1002", Points: q.Points, OrderAmount: scrm.Yuan("60.00")})
	if err != nil {
		return err
	}
	if _, err := a.members.Capture(a.ctx, tenant, h.HoldID); err != nil {
		return err
	}
	a.printf("checkout of ¥60: %d points pay ¥%s, ¥%s by WeChat Pay\n", h.Points, h.Value.StringFixed(2), scrm.Yuan("60").Sub(h.Value).StringFixed(2))
	if err := show("C001", "after paying with points:"); err != nil {
		return err
	}

	// Half the beans come back.
	a.clock.Advance(2 * day)
	if err := a.publish("C001", scrm.EventOrderRefunded, a.clock.Now(), "400.00", map[string]any{"order_id": "A1001"}); err != nil {
		return err
	}
	if err := show("C001", "after a ¥400 refund:"); err != nil {
		return err
	}

	// Reminder list for points expiring within 45 days of mid-December
	// 2027, then the new-year sweep.
	a.clock.Set(time.Date(2027, 12, 15, 10, 0, 0, 0, a.loc))
	soon, err := a.members.Expiring(a.ctx, tenant, 45*day)
	if err != nil {
		return err
	}
	a.printf("expiring within 45 days of 2027-12-15: %d customers\n", len(soon))
	a.clock.Set(time.Date(2028, 1, 1, 0, 5, 0, 0, a.loc))
	sw, err := a.members.Sweep(a.ctx, tenant)
	if err != nil {
		return err
	}
	a.printf("2028-01-01 sweep expired %d points\n", sw.Expired)
	return show("C001", "in 2028:")
}
