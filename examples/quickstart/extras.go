package main

import (
	"context"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// lotterySpender charges the entry cost of a lucky draw to the member
// ledger. member has no spend call for purchases that are not orders, so
// the charge is a correction (Adjust) taking the points in spending order
// (soonest-expiring first): short points fail with ErrExhausted, which the
// lottery turns into a refused draw. The key the lottery derives makes a
// retried charge a replay.
func (a *app) lotterySpender() referral.PointsSpender {
	return referral.PointsSpenderFunc(func(ctx context.Context, c referral.PointsCharge) error {
		_, err := a.members.Adjust(ctx, member.AdjustRequest{Tenant: c.Tenant, Customer: c.Customer,
			IdempotencyKey: c.IdempotencyKey, Points: -c.Points, Reason: "抽奖入场 (lucky draw entry) " + c.Ref, Operator: "lottery:" + c.Lottery})
		return err
	})
}

// showMallAndDraw is part 9: points buy things in the points mall (积分商城)
// and a reply of the keyword enters a lucky draw (抽奖) that costs points.
func (a *app) showMallAndDraw() error {
	a.printf("\n== 9. points mall and lucky draw\n")
	ctx := a.ctx
	const xiaomei scrm.CustomerID = "C015"
	if err := a.publish(xiaomei, scrm.EventOrderPaid, a.clock.Now(), "368.00", map[string]any{"order_id": "A3001"}); err != nil {
		return err
	}
	acc, err := a.members.Account(ctx, tenant, xiaomei)
	if err != nil {
		return err
	}
	a.printf("%s pays ¥368.00: points %d, tier %s\n", xiaomei, acc.Points, acc.Tier)

	if _, err := a.members.PutCatalogItem(ctx, member.CatalogItem{Tenant: tenant, ID: "cash-10", Name: "10 元无门槛券",
		Points: 300, Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "new-10"}, Stock: 2, PerCustomer: 1}); err != nil {
		return err
	}
	r, err := a.members.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: xiaomei, Item: "cash-10", IdempotencyKey: "mall-1"})
	if err != nil {
		return err
	}
	a.printf("mall: %s exchanges %d points for %s: balance %d, reward %s %s (%s)\n",
		xiaomei, r.Points, r.ItemName, r.Balance.Points, r.Reward.Kind, r.Reward.Template, r.State)
	again, err := a.members.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: xiaomei, Item: "cash-10", IdempotencyKey: "mall-1"})
	if err != nil {
		return err
	}
	a.printf("  the same request again (a retry): replayed %v, balance %d\n", again.Replayed, again.Balance.Points)
	_, err = a.members.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: xiaomei, Item: "cash-10", IdempotencyKey: "mall-2"})
	a.printf("  a second exchange: %v\n", err)

	if _, err := a.referrals.SaveLottery(ctx, referral.Lottery{Tenant: tenant, ID: "wheel", Name: "幸运大转盘",
		Prizes: []referral.Prize{
			{ID: "beans", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "beans-88"}, Stock: 10, Weight: 30},
			{ID: "points-88", Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 88}, Stock: 100, Weight: 50},
		},
		NoPrizeWeight: 20, EntryCostPoints: 20, PerCustomerPerDay: 1, Keyword: "抽奖",
		Start: a.clock.Now(), End: a.clock.Now().Add(7 * day)}); err != nil {
		return err
	}
	if err := a.publish(xiaomei, scrm.EventMessageReplied, a.clock.Now(), "", map[string]any{"text": " 抽奖 "}); err != nil {
		return err
	}
	page, err := a.referrals.Results(ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "wheel", Customer: xiaomei})
	if err != nil {
		return err
	}
	for _, d := range page.Results {
		prize := "nothing"
		if d.Won() {
			prize = d.Prize + " (" + string(d.Reward.Kind) + ")"
		}
		audit := "ok"
		if err := d.Audit(); err != nil {
			audit = err.Error()
		}
		a.printf("draw: %s replies \"抽奖\": draw #%d costs %d points, wins %s; audit from the recorded seed: %s\n", xiaomei, d.Seq, d.Cost, prize, audit)
	}
	_, err = a.referrals.Draw(ctx, referral.DrawRequest{Tenant: tenant, Customer: xiaomei, Lottery: "wheel", IdempotencyKey: "tap-2"})
	a.printf("  a second draw the same day: %v\n", err)
	acc, err = a.members.Account(ctx, tenant, xiaomei)
	if err != nil {
		return err
	}
	a.printf("%s's points now: %d\n", xiaomei, acc.Points)
	return nil
}
