package main

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// defineCoupons sets up three coupon templates: 新客立减 (cash), 满200减30
// (threshold) and 咖啡豆 88 折 (percent, beans only), each valid 7 days from
// claim, the threshold one limited to 1,000 in stock.
func (a *app) defineCoupons() error {
	for _, t := range []coupon.Template{
		{ID: "new-10", Name: "新客立减 10 元", Kind: coupon.KindCash, Amount: scrm.Yuan("10.00")},
		{ID: "200-30", Name: "满 200 减 30", Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("200.00"), Amount: scrm.Yuan("30.00"), Stock: 1000, PerCustomer: 1},
		{ID: "beans-88", Name: "咖啡豆 88 折", Kind: coupon.KindPercent, Rate: scrm.Yuan("0.88"), Scope: coupon.Scope{Categories: []string{"beans"}}},
	} {
		t.Tenant, t.Validity = tenant, coupon.Validity{Days: 7}
		if _, err := a.coupons.PutTemplate(a.ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// showCoupons is part 6: a customer claims coupons (within the limits), a
// quote tells why one does not apply, the checkout picks the best
// combination, locks it with the order and confirms it when payment
// succeeds; the paid order earns points like any other, and a partial
// refund carries its share of the discount.
func (a *app) showCoupons() error {
	a.printf("\n== 6. coupons at checkout\n")
	a.clock.Set(time.Date(2028, 1, 5, 10, 0, 0, 0, a.loc))
	const who scrm.CustomerID = "C004"
	var claimed []string
	for _, t := range []string{"new-10", "200-30", "beans-88"} {
		c, err := a.coupons.Claim(a.ctx, coupon.ClaimRequest{Tenant: tenant, Customer: who, Template: t, IdempotencyKey: "claim-" + t})
		if err != nil {
			return err
		}
		claimed = append(claimed, c.ID)
	}
	if _, err := a.coupons.Claim(a.ctx, coupon.ClaimRequest{Tenant: tenant, Customer: who, Template: "200-30", IdempotencyKey: "claim-again"}); err != nil {
		a.printf("second 满200减30: %v\n", err)
	}

	// A small order first: the threshold coupon does not apply, and the
	// quote says why and by how much.
	small := coupon.Cart{Tenant: tenant, Customer: who, OrderID: "A2000",
		Items: []coupon.Item{{SKU: "latte", Category: "drinks", Price: scrm.Yuan("32.00"), Quantity: 2}}}
	q, err := a.coupons.Quote(a.ctx, small, claimed[:2])
	if err != nil {
		return err
	}
	for _, r := range q.Rejected {
		a.printf("quote for 2 lattes (¥64.00): %s rejected: %s, short by ¥%s\n", r.Template, r.Reason, r.Shortfall.StringFixed(2))
	}
	a.printf("quote for 2 lattes: discount ¥%s, payable ¥%s\n", q.Discount.StringFixed(2), q.Payable.StringFixed(2))

	cart := coupon.Cart{Tenant: tenant, Customer: who, OrderID: "A2001", Shipping: scrm.Yuan("8.00"),
		Items: []coupon.Item{
			{SKU: "yirgacheffe-250g", Category: "beans", Price: scrm.Yuan("98.00"), Quantity: 2},
			{SKU: "dripper", Category: "ware", Price: scrm.Yuan("45.00"), Quantity: 1},
		}}
	best, err := a.coupons.Best(a.ctx, cart)
	if err != nil {
		return err
	}
	total := scrm.Yuan("0")
	for _, it := range cart.Items {
		total = total.Add(it.Price.Mul(decimal.NewFromInt(int64(it.Quantity))))
	}
	a.printf("cart ¥%s + ¥%s shipping; best combination %v takes ¥%s off, payable ¥%s\n",
		total.StringFixed(2), cart.Shipping.StringFixed(2), best.Coupons(), best.Discount.StringFixed(2), best.Payable.StringFixed(2))
	for _, r := range best.Rejected {
		a.printf("  not used %s: %s\n", r.Coupon, r.Reason)
	}
	o, err := a.coupons.Lock(a.ctx, coupon.LockRequest{Cart: cart, Coupons: best.Coupons(), IdempotencyKey: "pay-A2001"})
	if err != nil {
		return err
	}
	// A second order trying to use the same coupons while they are locked.
	other := cart
	other.OrderID = "A2002"
	if _, err := a.coupons.Lock(a.ctx, coupon.LockRequest{Cart: other, Coupons: best.Coupons(), IdempotencyKey: "pay-A2002"}); err != nil {
		a.printf("another order with the same coupons: %v\n", err)
	}
	if o, err = a.coupons.Confirm(a.ctx, tenant, o.ID); err != nil {
		return err
	}
	a.printf("order A2001 %s:\n", o.State)
	for _, l := range o.Quote.Lines {
		a.printf("  %s ×%d: %s - %s = %s\n", l.SKU, l.Quantity, l.Amount().StringFixed(2), l.Discount.StringFixed(2), l.Payable().StringFixed(2))
	}
	if err := a.publish(who, scrm.EventOrderPaid, a.clock.Now(), o.Quote.Payable.StringFixed(2), map[string]any{"order_id": "A2001"}); err != nil {
		return err
	}
	acc, err := a.members.Account(a.ctx, tenant, who)
	if err != nil {
		return err
	}
	a.printf("%s earns points on the ¥%s paid: balance %d\n", who, o.Quote.Payable.StringFixed(2), acc.Points)

	// One bag of beans comes back: the refund carries its exact share of
	// the coupons' discount.
	a.clock.Advance(day)
	rf, err := a.coupons.Refund(a.ctx, coupon.RefundRequest{Tenant: tenant, OrderID: o.ID, IdempotencyKey: "refund-A2001-1",
		Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
	if err != nil {
		return err
	}
	a.printf("refund one bag: pay back ¥%s (coupon share ¥%s), whole order refunded: %v\n", rf.Amount.StringFixed(2), rf.Discount.StringFixed(2), rf.Full)
	return nil
}
