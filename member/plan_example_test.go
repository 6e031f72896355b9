package member_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// A paid membership from trial to break-even: a 7-day trial, the paid month,
// the savings the host reports, and at the month's end the break-even
// guarantee paying the difference as stored value, which the member tops up
// (with a bonus) and pays with.
func Example_paidMembership() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, scrm.DefaultLocation()))
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}})

	svc.PutPlan(ctx, member.Plan{
		Tenant: "cafe", ID: "monthly", Name: "月卡", Price: scrm.Yuan("18"), Period: member.PlanPeriod{Months: 1}, TrialDays: 7,
		Benefits: member.Benefits{
			Discount:  scrm.Yuan("0.8"),                                                      // 8折
			Weekly:    []member.WeeklyRate{{Weekday: time.Friday, Rate: scrm.Yuan("0.85")}},  // Fridays 85折 on top
			Birthday:  []scrm.Reward{{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("5")}}, // ¥5 on the birthday
			BreakEven: true,                                                                  // 开卡保本
		},
	})
	svc.PutTopUpRule(ctx, member.TopUpRule{Tenant: "cafe", Steps: []member.TopUpStep{
		{Min: scrm.Yuan("100"), Bonus: scrm.Yuan("10")},
		{Min: scrm.Yuan("300"), Bonus: scrm.Yuan("40")},
	}})

	// Trial, then the paid month from day 3 (the trial converts).
	svc.StartTrial(ctx, member.TrialRequest{Tenant: "cafe", Customer: "C1", Plan: "monthly", IdempotencyKey: "trial-C1"})
	clock.Advance(3 * 24 * time.Hour) // Thursday 5 March
	sub, err := svc.Subscribe(ctx, member.SubscribeRequest{Tenant: "cafe", Customer: "C1", Plan: "monthly",
		IdempotencyKey: "pay-8841", Paid: scrm.Yuan("18")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("paid member until %s\n", sub.Term.End.In(scrm.DefaultLocation()).Format("2006-01-02 15:04"))

	// A ¥45 order on Friday: the member price, and the saving reported.
	clock.Advance(24 * time.Hour)
	p, _ := svc.PriceFor(ctx, "cafe", "C1", clock.Now(), scrm.Yuan("45"))
	fmt.Printf("¥45 on Friday costs ¥%s (rate %s), saving ¥%s\n", p.Price.StringFixed(2), p.Rate, p.Saved.StringFixed(2))
	if _, err := svc.RecordSaving(ctx, member.SavingRequest{Tenant: "cafe", Customer: "C1", OrderID: "o-1", Saved: p.Saved}); err != nil {
		fmt.Println(err)
		return
	}

	// The month ends on 5 April at 10:00; RunPlans settles ten minutes
	// later: the member saved ¥14.40 of the ¥18 paid.
	clock.Set(time.Date(2026, 4, 5, 10, 10, 0, 0, scrm.DefaultLocation()))
	run, _ := svc.RunPlans(ctx, "cafe")
	fmt.Printf("settled %d term: ¥%s stored value granted\n", run.Settlements, run.Settled.StringFixed(2))

	// A ¥300 top-up gets ¥40 bonus; a ¥100 payment draws both in proportion.
	top, _ := svc.TopUp(ctx, member.TopUpRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "top-1", Amount: scrm.Yuan("300")})
	fmt.Printf("top-up: principal ¥%s, bonus ¥%s\n", top.Balance.Principal.StringFixed(2), top.Balance.Bonus.StringFixed(2))
	pay, _ := svc.Pay(ctx, member.PayRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "pos-77", OrderID: "o-2", Amount: scrm.Yuan("100")})
	fmt.Printf("paid ¥100: ¥%s principal + ¥%s bonus; left ¥%s + ¥%s\n", pay.Principal.StringFixed(2), pay.Bonus.StringFixed(2),
		pay.Balance.Principal.StringFixed(2), pay.Balance.Bonus.StringFixed(2))
	// Output:
	// paid member until 2026-04-05 10:00
	// ¥45 on Friday costs ¥30.60 (rate 0.68), saving ¥14.40
	// settled 1 term: ¥3.60 stored value granted
	// top-up: principal ¥300.00, bonus ¥43.60
	// paid ¥100: ¥87.31 principal + ¥12.69 bonus; left ¥212.69 + ¥30.91
}
