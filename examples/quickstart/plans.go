package main

import (
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// showPlans is part 10: a week of daily check-ins with a missed day made
// up (签到, 补签); a paid membership plan from its free trial to a paid
// month, member prices, savings and the break-even guarantee settled as
// stored value at the end of the month (付费会员, 开卡保本); and a top-up
// with its bonus paying an order (储值).
func (a *app) showPlans() error {
	a.printf("\n== 10. check-in, paid membership, stored value\n")
	ctx := a.ctx
	const xiaomei scrm.CustomerID = "C015"
	date := func(t time.Time) string { return a.local(t, "Mon 01-02") }

	if _, err := a.members.PutCheckInRule(ctx, member.CheckInRule{Tenant: tenant,
		Ladder: []member.CheckInStep{
			{Day: 1, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 5}}},
			{Day: 7, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 50}, {Kind: scrm.RewardCoupon, Template: "new-10"}}},
		},
		Cycle: 7, MakeUpPerMonth: 2, MakeUpCost: 10}); err != nil {
		return err
	}
	// Check-ins at 09:00 on seven days; the fourth day is missed and made
	// up on the fifth.
	a.clock.Set(time.Date(2028, 1, 21, 9, 0, 0, 0, a.loc))
	missed := time.Date(2028, 1, 24, 9, 0, 0, 0, a.loc)
	for d := 0; d < 7; d++ {
		now := a.clock.Now()
		if !now.Equal(missed) {
			r, err := a.members.CheckIn(ctx, member.CheckInRequest{Tenant: tenant, Customer: xiaomei})
			if err != nil {
				return err
			}
			a.printf("check-in %s: streak %d, rewards %s\n", date(r.Date), r.Streak, rewardList(r.Rewards))
		}
		if now.Equal(missed.Add(day)) {
			r, err := a.members.MakeUp(ctx, member.MakeUpRequest{Tenant: tenant, Customer: xiaomei, IdempotencyKey: "makeup-0124", Date: missed})
			if err != nil {
				return err
			}
			a.printf("make-up %s (补签): cost %d points, streak %d, no ladder reward\n", date(r.Date), r.Cost, r.Streak)
		}
		if d == 6 {
			r, err := a.members.CheckIn(ctx, member.CheckInRequest{Tenant: tenant, Customer: xiaomei})
			if err != nil {
				return err
			}
			a.printf("check-in again the same day: replayed %v\n", r.Replayed)
		}
		a.clock.Advance(day)
	}
	cal, err := a.members.CheckInCalendar(ctx, tenant, xiaomei, time.Time{})
	if err != nil {
		return err
	}
	a.printf("calendar of %s: streak %d, %d days checked in, %d make-up left\n", a.local(cal.Month, "2006-01"), cal.Streak, cal.Total, cal.MakeUpsLeft)

	if _, err := a.members.PutPlan(ctx, member.Plan{Tenant: tenant, ID: "monthly", Name: "月卡",
		Price: scrm.Yuan("18"), Period: member.PlanPeriod{Months: 1}, TrialDays: 7,
		Benefits: member.Benefits{
			Discount:  scrm.Yuan("0.8"),                                                     // 8折 on everything
			Weekly:    []member.WeeklyRate{{Weekday: time.Friday, Rate: scrm.Yuan("0.85")}}, // and 85折 more on Fridays
			BreakEven: true,                                                                 // 开卡保本
		}}); err != nil {
		return err
	}
	if _, err := a.members.StartTrial(ctx, member.TrialRequest{Tenant: tenant, Customer: xiaomei, Plan: "monthly", IdempotencyKey: "trial-C015"}); err != nil {
		return err
	}
	a.printf("%s  %s starts the 7-day free trial of 月卡 (¥18/month, 8折, Fridays 85折 more, break-even guarantee)\n", date(a.clock.Now()), xiaomei)
	a.clock.Advance(2 * day)
	sub, err := a.members.Subscribe(ctx, member.SubscribeRequest{Tenant: tenant, Customer: xiaomei, Plan: "monthly",
		IdempotencyKey: "pay-plan-C015", Paid: scrm.Yuan("18")})
	if err != nil {
		return err
	}
	a.printf("%s  she pays ¥18: paid member until %s\n", date(a.clock.Now()), a.local(sub.Term.End, "2006-01-02 15:04"))
	for _, o := range []struct {
		days   int
		id     string
		amount string
	}{{5, "A3101", "30.00"}, {5, "A3102", "12.00"}} { // a Friday, then a Wednesday
		a.clock.Advance(time.Duration(o.days) * day)
		p, err := a.members.PriceFor(ctx, tenant, xiaomei, a.clock.Now(), scrm.Yuan(o.amount))
		if err != nil {
			return err
		}
		if _, err := a.members.RecordSaving(ctx, member.SavingRequest{Tenant: tenant, Customer: xiaomei, OrderID: o.id, Saved: p.Saved}); err != nil {
			return err
		}
		a.printf("%s  order %s of ¥%s costs her ¥%s (rate %s), saving ¥%s\n", date(a.clock.Now()), o.id, o.amount,
			p.Price.StringFixed(2), p.Rate, p.Saved.StringFixed(2))
	}
	a.clock.Set(sub.Term.End.Add(15 * time.Minute))
	run, err := a.members.RunPlans(ctx, tenant)
	if err != nil {
		return err
	}
	a.printf("%s  the month ends: saved less than the ¥18 paid, so %d term settled with ¥%s stored value (开卡保本)\n",
		date(a.clock.Now()), run.Settlements, run.Settled.StringFixed(2))

	if _, err := a.members.PutTopUpRule(ctx, member.TopUpRule{Tenant: tenant, Steps: []member.TopUpStep{
		{Min: scrm.Yuan("100"), Bonus: scrm.Yuan("10")},
		{Min: scrm.Yuan("300"), Bonus: scrm.Yuan("40"), BonusPoints: 100},
	}}); err != nil {
		return err
	}
	top, err := a.members.TopUp(ctx, member.TopUpRequest{Tenant: tenant, Customer: xiaomei, IdempotencyKey: "top-C015-1", Amount: scrm.Yuan("300")})
	if err != nil {
		return err
	}
	a.printf("top-up ¥300 (充300送40+100积分): principal ¥%s, bonus ¥%s\n", top.Balance.Principal.StringFixed(2), top.Balance.Bonus.StringFixed(2))
	pay, err := a.members.Pay(ctx, member.PayRequest{Tenant: tenant, Customer: xiaomei, IdempotencyKey: "pos-A3201", OrderID: "A3201", Amount: scrm.Yuan("100")})
	if err != nil {
		return err
	}
	a.printf("pays ¥100 from stored value: ¥%s principal + ¥%s bonus (in proportion); left ¥%s + ¥%s\n",
		pay.Principal.StringFixed(2), pay.Bonus.StringFixed(2), pay.Balance.Principal.StringFixed(2), pay.Balance.Bonus.StringFixed(2))
	_, err = a.members.Pay(ctx, member.PayRequest{Tenant: tenant, Customer: xiaomei, IdempotencyKey: "pos-A3202", OrderID: "A3202", Amount: scrm.Yuan("500")})
	a.printf("pays ¥500: %v\n", err)
	acc, err := a.members.Account(ctx, tenant, xiaomei)
	if err != nil {
		return err
	}
	a.printf("%s's points now: %d\n", xiaomei, acc.Points)
	return nil
}

// rewardList describes rewards briefly: "5 points", "50 points + coupon new-10".
func rewardList(rs []scrm.Reward) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " + "
		}
		switch r.Kind {
		case scrm.RewardPoints:
			s += strconv.FormatInt(r.Points, 10) + " points"
		case scrm.RewardCoupon:
			s += "coupon " + r.Template
		default:
			s += string(r.Kind)
		}
	}
	if s == "" {
		return "none"
	}
	return s
}
