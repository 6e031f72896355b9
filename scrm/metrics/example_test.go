package metrics_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// A retention table by first-purchase month, and the observed LTV of the
// same cohorts.
func ExampleCollector_Cohorts() {
	c := bakeryCollector()
	t, err := c.Cohorts(metrics.CohortOptions{Months: 3})
	if err != nil {
		panic(err)
	}
	t.Table().WriteText(os.Stdout)
	fmt.Println()
	t.LTV().Table().WriteText(os.Stdout)
	// Output:
	// Retention by first-purchase month
	// Cohort   Customers      M0      M1      M2
	// ------------------------------------------
	// 2024-01          1  100.0%  100.0%  100.0%
	// 2024-02          2  100.0%    0.0%
	//
	// Observed LTV per customer (yuan, cumulative) by first-purchase month
	// Cohort   Customers     M0      M1      M2
	// -----------------------------------------
	// 2024-01          1  88.00  138.00  168.00
	// 2024-02          2  93.25   93.25
}

// The journey funnel: added → joined a group within 7 days → first order
// within 30 days → second order within 90 days.
func ExampleCollector_Funnel() {
	c := bakeryCollector()
	f, err := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	if err != nil {
		panic(err)
	}
	f.Table().WriteText(os.Stdout)
	// Output:
	// Funnel
	// Step          Event           Within  Customers  Conversion  Overall  Drop-off  Drop-off rate
	// ---------------------------------------------------------------------------------------------
	// added         customer.added                  4      100.0%   100.0%
	// joined group  group.joined        7d          2       50.0%    50.0%         2          50.0%
	// first order   order.paid         30d          1       50.0%    25.0%         1          50.0%
	// second order  order.paid         90d          1      100.0%    25.0%         0           0.0%
}

// New customers per store and month, and how many paid within 30 days.
func ExampleCollector_Acquisition() {
	c := bakeryCollector()
	r, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore})
	if err != nil {
		panic(err)
	}
	r.Table().WriteText(os.Stdout)
	// Output:
	// Acquisition by Store (conversion within 30d)
	// Month    Store  Added  Converted  Conversion  Open  First-order revenue  Avg first order
	// ----------------------------------------------------------------------------------------
	// 2024-01  s1         2          1       50.0%     0                88.00            88.00
	// 2024-02  s2         2          1       50.0%     1                66.50            66.50
	// All      s1         2          1       50.0%     0                88.00            88.00
	// All      s2         2          1       50.0%     1                66.50            66.50
	// All      Total      4          2       50.0%     1               154.50            77.25
}

// Coupon redemption and referral K-factor from the events coupon and
// referral publish.
func ExampleCollector_Coupons() {
	c := bakeryCollector()
	cr, err := c.Coupons(metrics.CouponOptions{})
	if err != nil {
		panic(err)
	}
	cr.Table().WriteText(os.Stdout)
	rr, err := c.Referrals(metrics.ReferralOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println()
	rr.Table().WriteText(os.Stdout)
	// Output:
	// Coupon redemption
	// Template  Issued  Redeemed  Expired  Redemption rate  Discount cost  Avg discount
	// ---------------------------------------------------------------------------------
	// new10          3         1        1            33.3%          10.00         10.00
	// vip20          1         0        0             0.0%           0.00          0.00
	// Total          4         1        1            25.0%          10.00         10.00
	//
	// Referral
	// Program  Inviters  Bound  Staff bound  Qualified  Conversion  Invites/inviter  K-factor  Qualified amount
	// ---------------------------------------------------------------------------------------------------------
	// p1              1      3            1          2       66.7%             2.00      1.00            186.50
	// Total           1      3            1          2       66.7%             2.00      1.00            186.50
}

// Touch rates from SOP step statistics the host copied from sop.Stats.
func ExampleTouches() {
	r, err := metrics.Touches([]metrics.TouchStats{
		{Playbook: "welcome", Step: "day0", Sent: 200, Replied: 50, Converted: 12},
		{Playbook: "welcome", Step: "day3", Sent: 180, Replied: 27, Converted: 18},
	})
	if err != nil {
		panic(err)
	}
	r.Table().WriteText(os.Stdout)
	// Output:
	// Touches
	// Playbook  Step  Variant  Sent  Replied  Reply rate  Converted  Conversion
	// -------------------------------------------------------------------------
	// welcome   day0            200       50       25.0%         12        6.0%
	// welcome   day3            180       27       15.0%         18       10.0%
	// Total                     380       77       20.3%         30        7.9%
}

// A report page with a funnel chart, a retention heatmap and their tables,
// as the quickstart writes report.html.
func ExampleWriteHTML() {
	c := bakeryCollector()
	f, _ := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	t, _ := c.Cohorts(metrics.CohortOptions{})
	ft, tt := f.Table(), t.Table()
	var page strings.Builder
	err := metrics.WriteHTML(&page, metrics.Page{
		Title: "面包店 private-domain report",
		Sections: []metrics.Section{
			{Heading: "Funnel", Chart: f, Table: &ft},
			{Heading: "Retention", Chart: t, Table: &tt},
		},
	})
	if err != nil {
		panic(err)
	}
	html := page.String()
	fmt.Println(strings.HasPrefix(html, "<!DOCTYPE html>"), strings.Count(html, "<svg "), strings.Count(html, "<table>"))
	// Output: true 2 2
}

// A Collector on a Dispatcher sees events as they happen.
func ExampleCollector_Handle() {
	c := metrics.NewCollector("t1", nil)
	d := scrm.NewDispatcher(c)
	ctx := contextBackground()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, scrm.DefaultLocation())
	for i, typ := range []string{scrm.EventCustomerAdded, scrm.EventOrderPaid, scrm.EventOrderPaid} {
		e := scrm.Event{ID: fmt.Sprintf("e%d", i), Tenant: "t1", Customer: "c1", Type: typ, Time: t0.Add(time.Duration(i) * 24 * time.Hour)}
		if typ == scrm.EventOrderPaid {
			e.Amount = scrm.Yuan("25.00")
		}
		if err := d.Publish(ctx, e); err != nil {
			panic(err)
		}
	}
	r, _ := c.Repurchase(metrics.RepurchaseOptions{})
	fmt.Println(r.Total.Buyers, r.Total.Repeat, r.Total.Rate)
	// Output: 1 1 1
}
