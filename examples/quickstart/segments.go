package main

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
)

// showSegments is part 3: a dynamic segment refreshed over every profile
// (with the diff it publishes), a customer entering it through an event, and
// an RFM table of the demo customers.
func (a *app) showSegments() error {
	a.printf("\n== 3. segments and RFM\n")
	when, err := rule.ParseCondition([]byte(`{"all": [
		{"event": "order.paid", "within": "90d", "sum": {"gte": "300.00"}},
		{"not": {"tag": "拒绝营销"}}]}`))
	if err != nil {
		return err
	}
	if _, err := a.segments.Define(a.ctx, segment.Segment{Tenant: tenant, ID: "high-value", Name: "高价值 (¥300+ in 90 days)", When: when}); err != nil {
		return err
	}
	d, err := a.segments.Refresh(a.ctx, tenant, "high-value")
	if err != nil {
		return err
	}
	a.printf("refresh high-value: evaluated %d, entered %v, exited %v, size %d\n", d.Evaluated, d.Entered, d.Exited, d.Size)

	// 王芳 buys again: the segment service re-evaluates only the segments
	// that read order.paid, for her alone, and she enters.
	if err := a.publish("C004", scrm.EventOrderPaid, a.clock.Now(), "268.00", nil); err != nil {
		return err
	}
	in, err := a.segments.Contains(a.ctx, tenant, "high-value", "C004")
	if err != nil {
		return err
	}
	size, err := a.segments.Size(a.ctx, tenant, "high-value")
	if err != nil {
		return err
	}
	a.printf("C004 pays ¥268.00: in high-value %v, size %d\n", in, size)

	scores, err := a.segments.RFM(a.ctx, tenant, segment.RFMConfig{
		Recency:   [4]time.Duration{7 * day, 30 * day, 90 * day, 180 * day},
		Frequency: [4]int64{2, 3, 5, 8},
		Monetary:  [4]decimal.Decimal{scrm.Yuan("100"), scrm.Yuan("300"), scrm.Yuan("800"), scrm.Yuan("2000")},
	})
	if err != nil {
		return err
	}
	a.printf("RFM (last 365 days; thresholds R 7/30/90/180 days, F 2/3/5/8 orders, M ¥100/300/800/2000):\n")
	a.printf("  customer  last order  orders  amount    R F M  class\n")
	for _, sc := range scores {
		if !sc.Scored {
			a.printf("  %-8s  (no order in the window)\n", sc.Customer)
			continue
		}
		a.printf("  %-8s  %3d days    %6d  %8s  %d %d %d  %s %s\n", sc.Customer, int(sc.Recency/day), sc.Frequency,
			sc.Monetary.StringFixed(2), sc.R, sc.F, sc.M, sc.Class, sc.Class.English())
	}
	return nil
}
