package metrics_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// orderEvent is an event of customer c1 of tenant t1 at tm (amount "" for
// none).
func orderEvent(id, typ string, tm time.Time, amount string, props map[string]any) scrm.Event {
	e := scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: typ, Time: tm, Props: props}
	if amount != "" {
		e.Amount = scrm.Yuan(amount)
	}
	return e
}

// A store customer bought ¥100.00 in January, added the staff's WeCom in
// March (customer.added, their FirstJoin cohort is 2024-03) and had the
// January order refunded in March. CohortRow.Revenue does not count orders
// before the cohort month, and CohortTable.LTV is the net revenue (paid
// minus refunded) per customer from the cohort month: since joining the
// customer has spent nothing and got nothing back from anything counted,
// so the March cohort's revenue and LTV are 0.00, not −100.00.
func TestCohortRevenueIgnoresRefundOfUncountedOrder(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	loc := scrm.DefaultLocation()
	require.NoError(t, c.AddEvents(
		orderEvent("o1", scrm.EventOrderPaid, time.Date(2024, 1, 10, 12, 0, 0, 0, loc), "100.00", map[string]any{"order_id": "A1"}),
		orderEvent("a1", scrm.EventCustomerAdded, time.Date(2024, 3, 2, 12, 0, 0, 0, loc), "", nil),
		orderEvent("r1", scrm.EventOrderRefunded, time.Date(2024, 3, 5, 12, 0, 0, 0, loc), "100.00", map[string]any{"order_id": "A1"}),
	))
	tb, err := c.Cohorts(metrics.CohortOptions{By: metrics.FirstJoin, Months: 1})
	require.NoError(t, err)
	require.Len(t, tb.Rows, 1)
	require.Equal(t, "2024-03", tb.Rows[0].Label)
	assert.Equal(t, "0.00", tb.Rows[0].Revenue[0].StringFixed(2), "the refund of an order the cohort never counted")
	assert.Equal(t, "0.00", tb.LTV().Rows[0].PerCustomer[0].StringFixed(2), "LTV of a customer who spent nothing since joining")
}

// A refund naming an order_id takes back at most what that order added to
// the cohort row, across all its refunds and payments (an order paid in
// two parts, an order.paid added twice), in the refund's month; a refund
// naming an order the Collector never saw, or another customer's, takes
// back nothing; a refund without an order_id is subtracted in full. The
// order_id matches in every form JSON decoding leaves it.
func TestCohortRefundsTakeBackOnlyWhatTheirOrderCounted(t *testing.T) {
	loc := scrm.DefaultLocation()
	day := func(m time.Month, d int) time.Time { return time.Date(2024, m, d, 12, 0, 0, 0, loc) }
	oid := func(v any) map[string]any { return map[string]any{"order_id": v} }
	paid := func(id string, tm time.Time, amount string, order any) scrm.Event {
		return orderEvent(id, scrm.EventOrderPaid, tm, amount, oid(order))
	}
	refund := func(id string, tm time.Time, amount string, props map[string]any) scrm.Event {
		return orderEvent(id, scrm.EventOrderRefunded, tm, amount, props)
	}
	tests := []struct {
		name   string
		events []scrm.Event
		rev    []string // the January (first-purchase) cohort's Revenue
	}{
		{"partial refunds capped at the order",
			[]scrm.Event{paid("p1", day(1, 5), "100.00", "A1"), refund("r1", day(1, 9), "30.00", oid("A1")),
				refund("r2", day(2, 9), "90.00", oid("A1"))},
			[]string{"70.00", "-70.00"}},
		{"an order paid in two parts",
			[]scrm.Event{paid("p1", day(1, 5), "60.00", "A1"), paid("p2", day(1, 6), "40.00", "A1"),
				refund("r1", day(2, 9), "150.00", oid("A1"))},
			[]string{"100.00", "-100.00"}},
		{"an order.paid added twice counts once",
			[]scrm.Event{paid("p1", day(1, 5), "100.00", "A1"), paid("p1", day(1, 5), "100.00", "A1"),
				refund("r1", day(2, 9), "150.00", oid("A1"))},
			[]string{"100.00", "-100.00"}},
		{"only the named order",
			[]scrm.Event{paid("p1", day(1, 5), "100.00", "A1"), paid("p2", day(1, 6), "50.00", "A2"),
				refund("r1", day(2, 9), "80.00", oid("A2"))},
			[]string{"150.00", "-50.00"}},
		{"an unknown order",
			[]scrm.Event{paid("p1", day(1, 5), "100.00", "A1"), refund("r1", day(2, 9), "80.00", oid("Z9")),
				{ID: "p2", Tenant: "t1", Customer: "c2", Type: scrm.EventOrderPaid, Time: day(3, 1), Amount: scrm.Yuan("80.00"), Props: oid("B1")},
				refund("r2", day(2, 10), "80.00", oid("B1"))},
			[]string{"100.00", "0.00"}},
		{"no order_id: subtracted in full",
			[]scrm.Event{paid("p1", day(1, 5), "100.00", "A1"), refund("r1", day(2, 9), "130.00", nil)},
			[]string{"100.00", "-130.00"}},
		{"order_id in JSON forms",
			[]scrm.Event{paid("p1", day(1, 5), "100.00", json.Number("20240105001")),
				refund("r1", day(2, 9), "40.00", oid(float64(20240105001))),
				refund("r2", day(2, 10), "40.00", oid(int64(20240105001))),
				refund("r3", day(2, 11), "40.00", oid("20240105001"))},
			[]string{"100.00", "-100.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := metrics.NewCollector("t1", nil)
			require.NoError(t, c.AddEvents(tt.events...))
			tb, err := c.Cohorts(metrics.CohortOptions{Months: 2, AsOf: day(2, 28)})
			require.NoError(t, err)
			require.NotEmpty(t, tb.Rows)
			assert.Equal(t, "2024-01", tb.Rows[0].Label)
			assert.Equal(t, tt.rev, moneys(tb.Rows[0].Revenue))
		})
	}
}

// A refund of an order paid after the last column the row reports (past
// Months) takes nothing back from the columns it does report.
func TestCohortRefundOfOrderPastLastColumn(t *testing.T) {
	loc := scrm.DefaultLocation()
	c := metrics.NewCollector("t1", nil)
	require.NoError(t, c.AddEvents(
		orderEvent("a1", scrm.EventCustomerAdded, time.Date(2024, 1, 2, 12, 0, 0, 0, loc), "", nil),
		orderEvent("p1", scrm.EventOrderPaid, time.Date(2024, 3, 5, 12, 0, 0, 0, loc), "100.00", map[string]any{"order_id": "A1"}),
		// refunded, oddly, with a time before the payment
		orderEvent("r1", scrm.EventOrderRefunded, time.Date(2024, 2, 5, 12, 0, 0, 0, loc), "100.00", map[string]any{"order_id": "A1"}),
	))
	tb, err := c.Cohorts(metrics.CohortOptions{By: metrics.FirstJoin, Months: 2})
	require.NoError(t, err)
	require.Len(t, tb.Rows, 1)
	assert.Equal(t, []string{"0.00", "0.00"}, moneys(tb.Rows[0].Revenue))
}

// An order event whose order_id is neither a string nor an integral number
// is refused with ErrInvalid naming Props.order_id, and nothing is
// recorded.
func TestAddCountsOrderWithUnreadableOrderID(t *testing.T) {
	// An order_id that is a fraction or a number beyond 2^53 (a snowflake
	// ID decoded as float64) names no order, but the order's revenue still
	// counts: dropping the event lost it from every report.
	for _, id := range []any{1.5, float64(1 << 60)} {
		c := metrics.NewCollector("t1", nil)
		require.NoError(t, c.Add(orderEvent("e1", scrm.EventOrderPaid, at(1, 5, 12), "10.00", map[string]any{"order_id": id})))
		require.NoError(t, c.Add(orderEvent("e2", scrm.EventOrderRefunded, at(1, 6, 12), "4.00", map[string]any{"order_id": id})))
		assert.Equal(t, 1, c.Customers())
		r, err := c.Stores(metrics.StoreOptions{})
		require.NoError(t, err)
		assertMoney(t, "10.00", r.Total.Revenue)
	}
	c := metrics.NewCollector("t1", nil)
	require.NoError(t, c.Add(orderEvent("e1", scrm.EventGroupJoined, at(1, 5, 12), "", map[string]any{"order_id": 1.5})),
		"other events' order_id is not read")
}

// A coupon restored by the refund of its order undoes the redemption
// whatever JSON form the order_id arrived in: 12345.0 (the float64 left by
// JSON decoding) and "12345" are one order, as everywhere in the kernel.
func TestCouponRestoredMatchesNumericOrderID(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	props := func(order any) map[string]any {
		return map[string]any{"coupon": "k1", "template": "new10", "order_id": order}
	}
	require.NoError(t, c.AddEvents(
		orderEvent("e1", metrics.EventCouponIssued, t0, "", map[string]any{"coupon": "k1", "template": "new10"}),
		orderEvent("e2", metrics.EventCouponRedeemed, t0.Add(time.Hour), "10.00", props("12345")),
		orderEvent("e3", metrics.EventCouponRestored, t0.Add(2*time.Hour), "10.00", props(float64(12345))),
	))
	r, err := c.Coupons(metrics.CouponOptions{})
	require.NoError(t, err)
	require.Len(t, r.Rows, 1)
	assert.Equal(t, 1, r.Rows[0].Issued)
	assert.Equal(t, 0, r.Rows[0].Redeemed, "the redemption was undone by the refund")
	assert.True(t, r.Rows[0].DiscountCost.IsZero(), "cost %s", r.Rows[0].DiscountCost)
}
