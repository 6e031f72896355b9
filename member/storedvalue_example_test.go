package member_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// Stored value: a top-up with bonus value and points, payments drawing on
// principal and bonus in proportion, a refund, and closing the card.
func ExampleService_TopUp() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, scrm.DefaultLocation()))
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}}) // pays proportionally by default
	if _, err := svc.PutProgram(ctx, member.Program{Tenant: "cafe"}); err != nil {    // for the bonus points
		fmt.Println(err)
		return
	}
	if _, err := svc.PutTopUpRule(ctx, member.TopUpRule{Tenant: "cafe", Steps: []member.TopUpStep{
		{Min: scrm.Yuan("300"), Bonus: scrm.Yuan("30"), BonusPoints: 100},
		{Min: scrm.Yuan("1000"), Bonus: scrm.Yuan("100")},
	}}); err != nil {
		fmt.Println(err)
		return
	}
	show := func(what string, b member.ValueBalance) {
		fmt.Printf("%-18s principal ¥%7s  bonus ¥%6s  total ¥%7s\n", what, b.Principal.StringFixed(2), b.Bonus.StringFixed(2), b.Total().StringFixed(2))
	}

	top, err := svc.TopUp(ctx, member.TopUpRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "wx-4200", Amount: scrm.Yuan("300")})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := svc.Account(ctx, "cafe", "C1")
	fmt.Printf("top-up ¥300: +¥%s bonus, +%d points (balance %d)\n", top.Bonus.StringFixed(2), top.BonusPoints, a.Points)
	show("after top-up:", top.Balance)

	p, _ := svc.Pay(ctx, member.PayRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "pos-1", OrderID: "o1", Amount: scrm.Yuan("88")})
	fmt.Printf("pay ¥88: ¥%s principal + ¥%s bonus\n", p.Principal.StringFixed(2), p.Bonus.StringFixed(2))
	show("after o1:", p.Balance)

	_, err = svc.Pay(ctx, member.PayRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "pos-2", OrderID: "o2", Amount: scrm.Yuan("500")})
	fmt.Println("pay ¥500:", err)

	rf, _ := svc.RefundPayment(ctx, member.RefundPaymentRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "rf-1", OrderID: "o1", Amount: scrm.Yuan("44")})
	fmt.Printf("refund ¥44 of o1: ¥%s principal + ¥%s bonus back\n", rf.Principal.StringFixed(2), rf.Bonus.StringFixed(2))

	w, _ := svc.Withdraw(ctx, member.WithdrawRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "close-1", Note: "moving away"})
	fmt.Printf("withdraw: ¥%s paid out, ¥%s kept, ¥%s bonus forfeited\n", w.Paid.StringFixed(2), w.Kept.StringFixed(2), w.Forfeited.StringFixed(2))
	show("closed:", w.Balance)
	// Output:
	// top-up ¥300: +¥30.00 bonus, +100 points (balance 100)
	// after top-up:      principal ¥ 300.00  bonus ¥ 30.00  total ¥ 330.00
	// pay ¥88: ¥80.00 principal + ¥8.00 bonus
	// after o1:          principal ¥ 220.00  bonus ¥ 22.00  total ¥ 242.00
	// pay ¥500: member.Pay: Amount: balance 242.00 is short of 500.00
	// refund ¥44 of o1: ¥40.00 principal + ¥4.00 bonus back
	// withdraw: ¥260.00 paid out, ¥0.00 kept, ¥26.00 bonus forfeited
	// closed:            principal ¥   0.00  bonus ¥  0.00  total ¥   0.00
}
