package metrics_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

func assertMoney(t *testing.T, want string, got decimal.Decimal, msgAndArgs ...any) {
	t.Helper()
	assert.True(t, scrm.Yuan(want).Equal(got), append([]any{"want %s, got %s", want, got}, msgAndArgs...)...)
}

func moneys(ds []decimal.Decimal) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.StringFixed(2)
	}
	return out
}

func TestCohorts(t *testing.T) {
	c := bakeryCollector()
	tests := []struct {
		name   string
		opts   metrics.CohortOptions
		labels []string
		sizes  []int
		active [][]int
		rev    [][]string
	}{
		{
			name:   "first purchase",
			opts:   metrics.CohortOptions{},
			labels: []string{"2024-01", "2024-02"}, sizes: []int{1, 2},
			// alice pays in Jan, Feb, Mar; bob and carol first pay in
			// Feb and never in Mar.
			active: [][]int{{1, 1, 1}, {2, 0}},
			// Feb: bob 120 + carol 66.50 + 20 − 20 refunded.
			rev: [][]string{{"88.00", "50.00", "30.00"}, {"186.50", "0.00"}},
		},
		{
			name:   "first join",
			opts:   metrics.CohortOptions{By: metrics.FirstJoin},
			labels: []string{"2024-01", "2024-02"}, sizes: []int{2, 2},
			// Jan: alice, bob; Feb: carol, dave.
			active: [][]int{{1, 2, 1}, {1, 0}},
			rev:    [][]string{{"88.00", "170.00", "30.00"}, {"66.50", "0.00"}},
		},
		{
			name:   "joined, active by group join",
			opts:   metrics.CohortOptions{By: metrics.FirstJoin, Activity: []string{scrm.EventGroupJoined}},
			labels: []string{"2024-01", "2024-02"}, sizes: []int{2, 2},
			active: [][]int{{1, 0, 0}, {2, 0}},
			rev:    [][]string{{"88.00", "170.00", "30.00"}, {"66.50", "0.00"}},
		},
		{
			name:   "as of mid February",
			opts:   metrics.CohortOptions{AsOf: at(2, 15, 0)},
			labels: []string{"2024-01", "2024-02"}, sizes: []int{1, 1},
			active: [][]int{{1, 1}, {1}},
			rev:    [][]string{{"88.00", "50.00"}, {"66.50"}},
		},
		{
			name:   "February cohort only, two months",
			opts:   metrics.CohortOptions{From: at(2, 1, 0), To: at(3, 1, 0), Months: 1},
			labels: []string{"2024-02"}, sizes: []int{2},
			active: [][]int{{2}},
			rev:    [][]string{{"186.50"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := c.Cohorts(tt.opts)
			require.NoError(t, err)
			require.Len(t, tab.Rows, len(tt.labels))
			for i, r := range tab.Rows {
				assert.Equal(t, tt.labels[i], r.Label)
				assert.Equal(t, tt.sizes[i], r.Size)
				assert.Equal(t, tt.active[i], r.Active)
				assert.Equal(t, tt.rev[i], moneys(r.Revenue))
				assert.Equal(t, scrm.DefaultLocation(), r.Cohort.Location())
				assert.Equal(t, 1, r.Cohort.Day())
			}
		})
	}
}

func TestCohortRatesAndLTV(t *testing.T) {
	tab, err := bakeryCollector().Cohorts(metrics.CohortOptions{By: metrics.FirstJoin, Months: 3})
	require.NoError(t, err)
	assert.Equal(t, 0.5, tab.Rows[0].Retention(0))
	assert.Equal(t, 1.0, tab.Rows[0].Retention(1))
	assert.Equal(t, 0.0, tab.Rows[1].Retention(2), "not observed")
	// M0: (1 + 1) / (2 + 2); M1: (2 + 0) / (2 + 2); M2: 1 / 2 (Feb has no M2).
	assert.Equal(t, []float64{0.5, 0.5, 0.5}, tab.Average())
	ltv := tab.LTV()
	// Jan cohort of two: 88, 88+170, 88+170+30, per customer.
	assert.Equal(t, []string{"44.00", "129.00", "144.00"}, moneys(ltv.Rows[0].PerCustomer))
	assert.Equal(t, []string{"88.00", "258.00", "288.00"}, moneys(ltv.Rows[0].Revenue))
	assert.Equal(t, []string{"33.25", "33.25"}, moneys(ltv.Rows[1].PerCustomer))
}

func TestCohortsMonthsInTenantZone(t *testing.T) {
	// 2024-01-31 20:00 UTC is 2024-02-01 04:00 in Shanghai.
	e := scrm.Event{ID: "o1", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
		Time: time.Date(2024, 1, 31, 20, 0, 0, 0, time.UTC), Amount: scrm.Yuan("1.00")}
	for _, tc := range []struct {
		loc  *time.Location
		want string
	}{{nil, "2024-02"}, {time.UTC, "2024-01"}} {
		c := metrics.NewCollector("t1", &metrics.Options{Options: scrm.Options{Location: tc.loc}})
		require.NoError(t, c.Add(e))
		tab, err := c.Cohorts(metrics.CohortOptions{})
		require.NoError(t, err)
		require.Len(t, tab.Rows, 1)
		assert.Equal(t, tc.want, tab.Rows[0].Label)
	}
}

func TestCohortsAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	c := metrics.NewCollector("t1", &metrics.Options{Options: scrm.Options{Location: ny}})
	add := func(id string, tm time.Time) {
		require.NoError(t, c.Add(scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: tm}))
	}
	// DST starts 2024-03-10 and ends 2024-11-03 in New York; the first
	// instants of April and December are local midnights.
	add("a", time.Date(2024, 3, 31, 23, 59, 0, 0, ny))
	add("b", time.Date(2024, 4, 1, 0, 0, 0, 0, ny))
	add("c", time.Date(2024, 11, 30, 23, 30, 0, 0, ny))
	add("d", time.Date(2024, 12, 1, 0, 30, 0, 0, ny))
	tab, err := c.Cohorts(metrics.CohortOptions{Months: 12})
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	assert.Equal(t, "2024-03", tab.Rows[0].Label)
	assert.Equal(t, []int{1, 1, 0, 0, 0, 0, 0, 0, 1, 1}, tab.Rows[0].Active)
	assert.Equal(t, time.Date(2024, 3, 1, 0, 0, 0, 0, ny), tab.Rows[0].Cohort)
}

func TestFunnel(t *testing.T) {
	c := bakeryCollector()
	f, err := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	require.NoError(t, err)
	got := []int{}
	for _, s := range f.Steps {
		got = append(got, s.Customers)
	}
	// Added 4; joined a group within 7 days: alice, dave; first order within
	// 30 days of that: alice; second: alice.
	assert.Equal(t, []int{4, 2, 1, 1}, got)
	assert.Equal(t, 2, f.Steps[1].DropOff)
	assert.Equal(t, 0.5, f.Steps[1].DropOffRate)
	assert.Equal(t, 0.25, f.Steps[3].Overall)
	assert.Equal(t, 1.0, f.Steps[3].Conversion)

	// Entering in February: carol and dave; only dave joins in time.
	f, err = c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel(), From: at(2, 1, 0), To: at(3, 1, 0)})
	require.NoError(t, err)
	assert.Equal(t, 2, f.Steps[0].Customers)
	assert.Equal(t, 1, f.Steps[1].Customers)
	assert.Equal(t, 0, f.Steps[2].Customers)
	assert.Equal(t, 0.0, f.Steps[3].Conversion)

	// Without the group step: added → order within 30 days → second.
	f, err = c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{
		{Event: scrm.EventCustomerAdded},
		{Event: scrm.EventOrderPaid, Within: 30 * 24 * time.Hour},
		{Event: scrm.EventOrderPaid},
	}})
	require.NoError(t, err)
	// alice (3 days), carol (1 day) pay in time, bob after 36 days does
	// not; both alice and carol order again.
	assert.Equal(t, 4, f.Steps[0].Customers)
	assert.Equal(t, 2, f.Steps[1].Customers)
	assert.Equal(t, 2, f.Steps[2].Customers)
	assert.Equal(t, "customer.added", f.Steps[0].Name)
}

func TestFunnelFindsAnyChain(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	t0 := at(5, 1, 0)
	var s stream
	// a at 0; b at 1h and 5h; c at 9h. With c within 5h of b, only the
	// later b leads on: a first-match walk would miss it.
	s.add("x", "a", t0, "", nil)
	s.add("x", "b", t0.Add(time.Hour), "", nil)
	s.add("x", "b", t0.Add(5*time.Hour), "", nil)
	s.add("x", "c", t0.Add(9*time.Hour), "", nil)
	// y: a late entry converts quickly; the first a is too early.
	s.add("y", "a", t0, "", nil)
	s.add("y", "a", t0.Add(48*time.Hour), "", nil)
	s.add("y", "b", t0.Add(49*time.Hour), "", nil)
	// z: b and c at one instant, in that order; then only b again.
	s.add("z", "a", t0, "", nil)
	s.add("z", "b", t0.Add(time.Hour), "", nil)
	s.add("z", "c", t0.Add(time.Hour), "", nil)
	require.NoError(t, c.AddEvents(s.events...))
	f, err := c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{
		{Event: "a"}, {Event: "b", Within: 2 * time.Hour}, {Event: "c", Within: 5 * time.Hour},
	}})
	require.NoError(t, err)
	// x: a→b(1h), but c(9h) is 8h after it, and b(5h) is beyond 2h of a.
	// y: a(48h)→b(49h), no c. z: a→b→c.
	assert.Equal(t, 3, f.Steps[0].Customers)
	assert.Equal(t, 3, f.Steps[1].Customers)
	assert.Equal(t, 1, f.Steps[2].Customers)

	f, err = c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{
		{Event: "a"}, {Event: "b", Within: 6 * time.Hour}, {Event: "c", Within: 5 * time.Hour},
	}})
	require.NoError(t, err)
	// x now reaches c through the later b (4h before c); the first b,
	// which a first-match walk would take, is 8h before it.
	assert.Equal(t, []int{3, 3, 2}, []int{f.Steps[0].Customers, f.Steps[1].Customers, f.Steps[2].Customers})

	// The same type twice needs two events.
	f, err = c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{{Event: "a"}, {Event: "a"}, {Event: "a"}}})
	require.NoError(t, err)
	assert.Equal(t, []int{3, 1, 0}, []int{f.Steps[0].Customers, f.Steps[1].Customers, f.Steps[2].Customers})

	// An event type never seen: nobody gets past it.
	f, err = c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{{Event: "a"}, {Event: "nope"}, {Event: "b"}}})
	require.NoError(t, err)
	assert.Equal(t, []int{3, 0, 0}, []int{f.Steps[0].Customers, f.Steps[1].Customers, f.Steps[2].Customers})
}

func TestRepurchase(t *testing.T) {
	c := bakeryCollector()
	r, err := c.Repurchase(metrics.RepurchaseOptions{})
	require.NoError(t, err)
	// alice 3 orders, bob 1, carol 2 (a refund does not undo an order).
	assert.Equal(t, metrics.RepurchaseRow{Buyers: 3, Repeat: 2, Orders: 6, Rate: 2.0 / 3}, r.Total)
	assert.Empty(t, r.Rows)

	r, err = c.Repurchase(metrics.RepurchaseOptions{From: at(2, 1, 0), To: at(3, 1, 0), By: metrics.ByCampaign})
	require.NoError(t, err)
	// February: alice 1, bob 1, carol 2.
	assert.Equal(t, metrics.RepurchaseRow{Buyers: 3, Repeat: 1, Orders: 4, Rate: 1.0 / 3}, r.Total)
	assert.Equal(t, []metrics.RepurchaseRow{
		{Key: "", Buyers: 1, Repeat: 0, Orders: 1, Rate: 0},
		{Key: "spring", Buyers: 2, Repeat: 1, Orders: 3, Rate: 0.5},
	}, r.Rows)
}

func TestPredictLTV(t *testing.T) {
	c := bakeryCollector()
	p, err := c.PredictLTV(metrics.PredictOptions{From: at(2, 1, 0), To: at(3, 1, 0)})
	require.NoError(t, err)
	assert.Equal(t, 3, p.Customers)
	assert.Equal(t, 4, p.Orders)
	assertMoney(t, "256.50", p.Revenue)
	assertMoney(t, "64.13", p.AOV, "64.125 rounds half up")
	assert.Equal(t, 4.0/3, p.Frequency)
	// The previous 29 days, [01-03, 02-01), had alice, who came back.
	assert.Equal(t, 1, p.PrevCustomers)
	assert.Equal(t, 1, p.Retained)
	assert.Equal(t, 0.0, p.Churn)
	assert.True(t, p.Estimated)
	assert.Equal(t, float64(metrics.DefaultMaxLifespan), p.Lifespan)
	assertMoney(t, "855.00", p.LTV) // 256.50 × 10 ÷ 3

	p, err = c.PredictLTV(metrics.PredictOptions{From: at(2, 1, 0), To: at(3, 1, 0), Lifespan: 2})
	require.NoError(t, err)
	assert.False(t, p.Estimated)
	assertMoney(t, "171.00", p.LTV)

	// March: alice alone buys (30.00); of February's three buyers only
	// she came back: churn 2/3, lifespan 1.5 windows.
	p, err = c.PredictLTV(metrics.PredictOptions{From: at(3, 1, 0), To: at(4, 1, 0)})
	require.NoError(t, err)
	assert.Equal(t, 3, p.PrevCustomers)
	assert.Equal(t, 1, p.Retained)
	assert.Equal(t, 1.5, p.Lifespan)
	assertMoney(t, "45.00", p.LTV)

	// Nothing before January: no estimate.
	p, err = c.PredictLTV(metrics.PredictOptions{From: at(1, 1, 0), To: at(2, 1, 0)})
	require.NoError(t, err)
	assert.Equal(t, 0, p.PrevCustomers)
	assert.Equal(t, 0.0, p.Lifespan)
	assert.True(t, p.LTV.IsZero())
}

func TestAcquisition(t *testing.T) {
	c := bakeryCollector()
	r, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByCampaign})
	require.NoError(t, err)
	// spring brought alice (Jan) and carol (Feb), who both paid within 30
	// days: 88.00 and 66.50. bob (Jan) and dave (Feb) came without one.
	require.Len(t, r.Totals, 2)
	assert.Equal(t, "", r.Totals[0].Key)
	assert.Equal(t, 2, r.Totals[0].Added)
	assert.Equal(t, 0, r.Totals[0].Converted)
	assert.Equal(t, 1, r.Totals[0].Open, "dave's 30 days had not ended by 03-15")
	spring := r.Totals[1]
	assert.Equal(t, "spring", spring.Key)
	assert.Equal(t, 2, spring.Added)
	assert.Equal(t, 2, spring.Converted)
	assert.Equal(t, 1.0, spring.ConversionRate)
	assertMoney(t, "154.50", spring.FirstOrderRevenue)
	assertMoney(t, "77.25", spring.AvgFirstOrder)
	require.Len(t, r.Rows, 4)
	assert.Equal(t, "2024-01", r.Rows[0].Label)
	assert.Equal(t, "", r.Rows[0].Key)

	// Weekly by staff: alice (w1) week 1, bob (w2) week 3, carol (w3)
	// week 5, dave (w3) week 9.
	r, err = c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStaff, Period: metrics.Week, ConvertWithin: 40 * 24 * time.Hour})
	require.NoError(t, err)
	var got []string
	for _, row := range r.Rows {
		got = append(got, row.Label+" "+row.Key+" "+itoa(row.Added)+"/"+itoa(row.Converted))
	}
	// Within 40 days bob's order (36 days) converts too.
	assert.Equal(t, []string{"2024-W01 w1 1/1", "2024-W03 w2 1/1", "2024-W05 w3 1/1", "2024-W09 w3 1/0"}, got)
	assert.Equal(t, time.Monday, r.Rows[0].Period.Weekday())
	assert.Equal(t, 3, r.Total.Converted)
	assertMoney(t, "274.50", r.Total.FirstOrderRevenue)

	// Customers added in February only, by channel code.
	r, err = c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByChannelCode, From: at(2, 1, 0), To: at(3, 1, 0)})
	require.NoError(t, err)
	require.Len(t, r.Totals, 1)
	assert.Equal(t, "qr2", r.Totals[0].Key)
	assert.Equal(t, 2, r.Total.Added)
}

func TestGroupJoin(t *testing.T) {
	c := bakeryCollector()
	r, err := c.GroupJoin(metrics.GroupJoinOptions{By: metrics.ByStaff})
	require.NoError(t, err)
	// alice joined 2 days after being added, dave 1 day; carol after 10.
	assert.Equal(t, metrics.GroupJoinRow{Added: 4, Joined: 2, Rate: 0.5}, r.Total)
	assert.Equal(t, []metrics.GroupJoinRow{
		{Key: "w1", Added: 1, Joined: 1, Rate: 1},
		{Key: "w2", Added: 1, Joined: 0, Rate: 0},
		{Key: "w3", Added: 2, Joined: 1, Rate: 0.5},
	}, r.Rows)
	// carol joined 10 days 9 hours after being added.
	r, err = c.GroupJoin(metrics.GroupJoinOptions{Within: 10*24*time.Hour + 9*time.Hour})
	require.NoError(t, err)
	assert.Equal(t, 3, r.Total.Joined)
	assert.Empty(t, r.Rows)
}

func TestStores(t *testing.T) {
	r, err := bakeryCollector().Stores(metrics.StoreOptions{})
	require.NoError(t, err)
	require.Len(t, r.Rows, 2)
	s1, s2 := r.Rows[0], r.Rows[1]
	assert.Equal(t, "s1", s1.Store)
	assert.Equal(t, []int{2, 1, 1}, []int{s1.Added, s1.Converted, s1.GroupJoined})
	assertMoney(t, "88.00", s1.FirstOrderRevenue)
	// Orders at s1: alice 88 + 50, bob 120.
	assert.Equal(t, []int{2, 3, 1}, []int{s1.Buyers, s1.Orders, s1.Repeat})
	assertMoney(t, "258.00", s1.Revenue)
	assertMoney(t, "86.00", s1.AOV)
	assert.Equal(t, 0.5, s1.RepurchaseRate)
	// Orders at s2: alice 30, carol 66.50 + 20.
	assert.Equal(t, "s2", s2.Store)
	assert.Equal(t, []int{2, 1, 1}, []int{s2.Added, s2.Converted, s2.GroupJoined})
	assert.Equal(t, []int{2, 3, 1}, []int{s2.Buyers, s2.Orders, s2.Repeat})
	assertMoney(t, "116.50", s2.Revenue)
	assertMoney(t, "38.83", s2.AOV)
	tot := r.Total
	assert.Equal(t, []int{4, 2, 2, 3, 6, 2}, []int{tot.Added, tot.Converted, tot.GroupJoined, tot.Buyers, tot.Orders, tot.Repeat})
	assertMoney(t, "374.50", tot.Revenue)
	assertMoney(t, "62.42", tot.AOV)
	assert.Equal(t, 0.5, tot.GroupJoinRate)
}

func TestCAC(t *testing.T) {
	c := bakeryCollector()
	r, err := c.CAC(metrics.CACOptions{By: metrics.ByChannelCode, Costs: []metrics.Cost{
		{Key: "qr1", Period: at(1, 15, 0), Sales: scrm.Yuan("100"), Marketing: scrm.Yuan("200")},
		{Key: "qr2", Period: at(2, 1, 0), Marketing: scrm.Yuan("150.50")},
		{Key: "qr1", Period: at(2, 29, 23), Marketing: scrm.Yuan("20")},
		{Key: "qr1", Period: at(2, 3, 0), Marketing: scrm.Yuan("30")},
		{Key: "qr3", Period: at(3, 3, 0), Marketing: scrm.Yuan("99")},
	}})
	require.NoError(t, err)
	type row struct {
		label, key, cost string
		conv             int
		cac              string
	}
	var got []row
	for _, x := range r.Rows {
		got = append(got, row{x.Label, x.Key, x.Cost.StringFixed(2), x.Converted, x.CAC.StringFixed(2)})
	}
	// First orders: alice (qr1) in Jan, bob (qr1) and carol (qr2) in Feb.
	assert.Equal(t, []row{
		{"2024-01", "qr1", "300.00", 1, "300.00"},
		{"2024-02", "qr1", "50.00", 1, "50.00"},
		{"2024-02", "qr2", "150.50", 1, "150.50"},
		{"2024-03", "qr3", "99.00", 0, "0.00"},
	}, got)
	require.Len(t, r.Totals, 3)
	assertMoney(t, "175.00", r.Totals[0].CAC)
	assertMoney(t, "599.50", r.Total.Cost)
	assertMoney(t, "199.83", r.Total.CAC) // 599.50 ÷ 3 = 199.8333…
	assertMoney(t, "100", r.Total.Sales)
}

func TestCoupons(t *testing.T) {
	c := bakeryCollector()
	r, err := c.Coupons(metrics.CouponOptions{})
	require.NoError(t, err)
	require.Len(t, r.Rows, 2)
	n := r.Rows[0]
	assert.Equal(t, "new10", n.Template)
	// k1 redeemed; k2 expired; k3 redeemed then restored by the refund.
	assert.Equal(t, []int{3, 1, 1}, []int{n.Issued, n.Redeemed, n.Expired})
	assert.Equal(t, 1.0/3, n.RedemptionRate)
	assertMoney(t, "10.00", n.DiscountCost)
	assert.Equal(t, 0.25, r.Total.RedemptionRate)

	r, err = c.Coupons(metrics.CouponOptions{From: at(2, 1, 0)})
	require.NoError(t, err)
	// Issued in February: k3 (new10, restored) and k4 (vip20).
	assert.Equal(t, []int{2, 0}, []int{r.Total.Issued, r.Total.Redeemed})
	assert.True(t, r.Total.DiscountCost.IsZero())
}

func TestReferrals(t *testing.T) {
	c := bakeryCollector()
	r, err := c.Referrals(metrics.ReferralOptions{Program: "p1"})
	require.NoError(t, err)
	require.Len(t, r.Rows, 1)
	p := r.Rows[0]
	assert.Equal(t, "p1", p.Program)
	// alice invited carol (qualified) and dave (under review); staff w1
	// bound bob (qualified).
	assert.Equal(t, []int{1, 3, 1, 0, 2, 1, 1}, []int{p.Inviters, p.Bound, p.Review, p.Rejected, p.Qualified, p.StaffBound, p.StaffQualified})
	assertMoney(t, "186.50", p.QualifiedAmount)
	assert.Equal(t, 2.0/3, p.ConversionRate)
	assert.Equal(t, 2.0, p.InvitesPerInviter)
	assert.Equal(t, 0.5, p.QualificationRate)
	assert.Equal(t, 1.0, p.KFactor)

	// dave is rejected on review; a reward is reversed.
	require.NoError(t, c.AddEvents(
		scrm.Event{ID: "rv1", Tenant: "t1", Customer: "dave", Type: metrics.EventReferralReviewed, Time: at(3, 1, 0),
			Props: map[string]any{"program": "p1", "status": "rejected"}},
		scrm.Event{ID: "rr1", Tenant: "t1", Customer: "alice", Type: metrics.EventReferralReversed, Time: at(3, 2, 0),
			Amount: scrm.Yuan("3.30"), Props: map[string]any{"program": "p1", "entry": "x"}},
	))
	r, err = c.Referrals(metrics.ReferralOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 0, 1, 2, 1, 1}, []int{r.Total.Inviters, r.Total.Bound, r.Total.Review, r.Total.Rejected,
		r.Total.Qualified, r.Total.Reversed, r.Total.StaffBound})
	assert.Equal(t, 1.0, r.Total.KFactor) // 1 customer invite, 1 qualified, 1 inviter
	assertMoney(t, "3.30", r.Total.ReversedAmount)

	r, err = c.Referrals(metrics.ReferralOptions{Program: "none"})
	require.NoError(t, err)
	assert.Empty(t, r.Rows)
	assert.Equal(t, 0, r.Total.Bound)
}

func TestTouches(t *testing.T) {
	r, err := metrics.Touches([]metrics.TouchStats{
		{Playbook: "p", Step: "s1", Sent: 8, Replied: 2, Converted: 1},
		{Playbook: "p", Step: "s2", Sent: 0},
	})
	require.NoError(t, err)
	assert.Equal(t, 0.25, r.Rows[0].ReplyRate)
	assert.Equal(t, 0.125, r.Rows[0].ConversionRate)
	assert.Equal(t, 0.0, r.Rows[1].ReplyRate)
	assert.Equal(t, int64(8), r.Total.Sent)
	for _, tc := range []struct {
		in    metrics.TouchStats
		field string
	}{
		{metrics.TouchStats{Sent: -1}, "stats[1].Sent"},
		{metrics.TouchStats{Sent: 1, Replied: 2}, "stats[1].Replied"},
		{metrics.TouchStats{Sent: 1, Converted: -1}, "stats[1].Converted"},
	} {
		_, err := metrics.Touches([]metrics.TouchStats{{Sent: 1}, tc.in})
		assertInvalid(t, err, tc.field)
	}
}

func assertInvalid(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	var se *scrm.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, field, se.Field)
}

func itoa(i int) string { return decimal.NewFromInt(int64(i)).String() }

// Thousands of channel codes over two years of weeks exceed the dense
// grid: the report is the same, cell by cell.
func TestAcquisitionManyKeys(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	const n = 11000
	for i := 0; i < n; i++ {
		added := at(1, 1, 0).Add(time.Duration(i) * 100 * time.Minute) // over about 2 years
		require.NoError(t, c.Add(scrm.Event{ID: "a" + itoa(i), Tenant: "t1", Customer: scrm.CustomerID("c" + itoa(i)),
			Type: scrm.EventCustomerAdded, Time: added, Props: map[string]any{"channel_code": "q" + itoa(i)}}))
		if i%2 == 0 {
			require.NoError(t, c.Add(scrm.Event{ID: "o" + itoa(i), Tenant: "t1", Customer: scrm.CustomerID("c" + itoa(i)),
				Type: scrm.EventOrderPaid, Time: added.Add(time.Hour), Amount: scrm.Yuan("1.00")}))
		}
	}
	r, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByChannelCode, Period: metrics.Week})
	require.NoError(t, err)
	assert.Len(t, r.Rows, n)
	assert.Len(t, r.Totals, n)
	assert.Equal(t, n, r.Total.Added)
	assert.Equal(t, n/2, r.Total.Converted)
	for i := 1; i < len(r.Rows); i++ {
		assert.False(t, r.Rows[i].Period.Before(r.Rows[i-1].Period), "rows in period order")
		assert.Equal(t, 1, r.Rows[i].Added)
	}
}
