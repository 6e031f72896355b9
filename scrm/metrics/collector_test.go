package metrics_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

func TestAddRefusesBadEvents(t *testing.T) {
	good := scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: at(1, 1, 0), Amount: scrm.Yuan("1.00")}
	tests := []struct {
		field string
		edit  func(e *scrm.Event)
	}{
		{"Tenant", func(e *scrm.Event) { e.Tenant = "t2" }},
		{"ID", func(e *scrm.Event) { e.ID = "" }},
		{"Customer", func(e *scrm.Event) { e.Customer = "" }},
		{"Type", func(e *scrm.Event) { e.Type = "" }},
		{"Time", func(e *scrm.Event) { e.Time = time.Time{} }},
		{"Time", func(e *scrm.Event) { e.Time = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC) }},
		{"Time", func(e *scrm.Event) { e.Time = time.Date(2201, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"Amount", func(e *scrm.Event) { e.Amount = scrm.Yuan("1.001") }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := metrics.NewCollector("t1", nil)
			e := good
			tt.edit(&e)
			assertInvalid(t, c.Add(e), tt.field)
			assert.Equal(t, 0, c.Customers(), "nothing recorded")
			_, _, ok := c.Span()
			assert.False(t, ok)
		})
	}
	c := metrics.NewCollector("t1", nil)
	bad := good
	bad.Time = time.Time{}
	err := c.AddEvents(good, bad)
	assertInvalid(t, err, "events[1].Time")
	assert.Equal(t, 1, c.Customers(), "the events before the bad one stay")
}

func TestAddIsIdempotentAndOrderFree(t *testing.T) {
	events := bakery()
	want := reportsOf(t, bakeryCollector())

	// Every event twice, shuffled.
	twice := append(append([]scrm.Event{}, events...), events...)
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(len(twice), func(i, j int) { twice[i], twice[j] = twice[j], twice[i] })
	c := metrics.NewCollector("t1", nil)
	require.NoError(t, c.AddEvents(twice...))
	assert.Equal(t, want, reportsOf(t, c))

	// Half, a report (compaction), then the rest and repeats.
	c = metrics.NewCollector("t1", nil)
	require.NoError(t, c.AddEvents(events[:10]...))
	_ = reportsOf(t, c)
	require.NoError(t, c.AddEvents(events[5:]...))
	require.NoError(t, c.AddEvents(events[:3]...))
	assert.Equal(t, want, reportsOf(t, c))
}

// reportsOf renders every report to text, for comparing two Collectors.
func reportsOf(t *testing.T, c *metrics.Collector) []string {
	t.Helper()
	var out []string
	add := func(tb metrics.Table, err error) {
		require.NoError(t, err)
		out = append(out, tb.String())
	}
	co, err := c.Cohorts(metrics.CohortOptions{})
	add(co.Table(), err)
	add(co.LTV().Table(), nil)
	cj, err := c.Cohorts(metrics.CohortOptions{By: metrics.FirstJoin})
	add(cj.Table(), err)
	f, err := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	add(f.Table(), err)
	r, err := c.Repurchase(metrics.RepurchaseOptions{By: metrics.ByStore})
	add(r.Table(), err)
	a, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore})
	add(a.Table(), err)
	g, err := c.GroupJoin(metrics.GroupJoinOptions{By: metrics.ByStore})
	add(g.Table(), err)
	s, err := c.Stores(metrics.StoreOptions{})
	add(s.Table(), err)
	cp, err := c.Coupons(metrics.CouponOptions{})
	add(cp.Table(), err)
	rf, err := c.Referrals(metrics.ReferralOptions{})
	add(rf.Table(), err)
	return out
}

func TestEmptyCollector(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	co, err := c.Cohorts(metrics.CohortOptions{})
	require.NoError(t, err)
	assert.Empty(t, co.Rows)
	f, err := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	require.NoError(t, err)
	assert.Equal(t, 0, f.Steps[0].Customers)
	a, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore})
	require.NoError(t, err)
	assert.Empty(t, a.Rows)
	cac, err := c.CAC(metrics.CACOptions{By: metrics.ByStore, Costs: []metrics.Cost{{Key: "s1", Period: at(1, 1, 0), Sales: scrm.Yuan("5")}}})
	require.NoError(t, err)
	require.Len(t, cac.Rows, 1)
	assertMoney(t, "5", cac.Rows[0].Cost)
	p, err := c.PredictLTV(metrics.PredictOptions{From: at(1, 1, 0), To: at(2, 1, 0)})
	require.NoError(t, err)
	assert.True(t, p.AOV.IsZero())
}

func TestReportOptionsAreValidated(t *testing.T) {
	c := bakeryCollector()
	from, to := at(2, 1, 0), at(1, 1, 0)
	errOf := func(_ any, err error) error { return err }
	tests := []struct {
		field string
		err   error
	}{
		{"By", errOf(c.Cohorts(metrics.CohortOptions{By: "x"}))},
		{"Months", errOf(c.Cohorts(metrics.CohortOptions{Months: -1}))},
		{"Months", errOf(c.Cohorts(metrics.CohortOptions{Months: metrics.MaxCohortMonths + 1}))},
		{"Activity[1]", errOf(c.Cohorts(metrics.CohortOptions{Activity: []string{"a", ""}}))},
		{"To", errOf(c.Cohorts(metrics.CohortOptions{From: from, To: to}))},
		{"Steps", errOf(c.Funnel(metrics.FunnelOptions{}))},
		{"Steps[1].Event", errOf(c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{{Event: "a"}, {}}}))},
		{"Steps[1].Within", errOf(c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{{Event: "a"}, {Event: "b", Within: -1}}}))},
		{"To", errOf(c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel(), From: from, To: from}))},
		{"By", errOf(c.Repurchase(metrics.RepurchaseOptions{By: "city"}))},
		{"To", errOf(c.Repurchase(metrics.RepurchaseOptions{From: from, To: to}))},
		{"From", errOf(c.PredictLTV(metrics.PredictOptions{To: to}))},
		{"To", errOf(c.PredictLTV(metrics.PredictOptions{From: from}))},
		{"Lifespan", errOf(c.PredictLTV(metrics.PredictOptions{From: to, To: from, Lifespan: -1}))},
		{"MaxLifespan", errOf(c.PredictLTV(metrics.PredictOptions{From: to, To: from, MaxLifespan: -1}))},
		{"By", errOf(c.Acquisition(metrics.AcquisitionOptions{}))},
		{"Period", errOf(c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore, Period: "day"}))},
		{"ConvertWithin", errOf(c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore, ConvertWithin: -1}))},
		{"By", errOf(c.GroupJoin(metrics.GroupJoinOptions{By: "x"}))},
		{"Within", errOf(c.GroupJoin(metrics.GroupJoinOptions{Within: -1}))},
		{"ConvertWithin", errOf(c.Stores(metrics.StoreOptions{ConvertWithin: -1}))},
		{"GroupWithin", errOf(c.Stores(metrics.StoreOptions{GroupWithin: -1}))},
		{"To", errOf(c.Stores(metrics.StoreOptions{From: from, To: to}))},
		{"By", errOf(c.CAC(metrics.CACOptions{}))},
		{"Period", errOf(c.CAC(metrics.CACOptions{By: metrics.ByStore, Period: "year"}))},
		{"Costs[0].Period", errOf(c.CAC(metrics.CACOptions{By: metrics.ByStore, Costs: []metrics.Cost{{Key: "s1"}}}))},
		{"Costs[1].Sales", errOf(c.CAC(metrics.CACOptions{By: metrics.ByStore, Costs: []metrics.Cost{
			{Key: "s1", Period: from}, {Key: "s1", Period: from, Sales: scrm.Yuan("-1")}}}))},
		{"Costs[0].Marketing", errOf(c.CAC(metrics.CACOptions{By: metrics.ByStore, Costs: []metrics.Cost{
			{Key: "s1", Period: from, Marketing: scrm.Yuan("0.001")}}}))},
		{"To", errOf(c.Coupons(metrics.CouponOptions{From: from, To: to}))},
		{"To", errOf(c.Referrals(metrics.ReferralOptions{From: from, To: to}))},
	}
	for _, tt := range tests {
		assertInvalid(t, tt.err, tt.field)
	}
}

func TestHandle(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	e := scrm.Event{ID: "e1", Tenant: "t2", Customer: "c1", Type: scrm.EventOrderPaid, Time: at(1, 1, 0)}
	require.NoError(t, c.Handle(context.Background(), e), "another tenant's event is ignored")
	assert.Equal(t, 0, c.Customers())
	e.Tenant = "t1"
	require.NoError(t, c.Handle(context.Background(), e))
	assert.Equal(t, 1, c.Customers())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, c.Handle(ctx, e), scrm.ErrUnavailable)
	first, last, ok := c.Span()
	require.True(t, ok)
	assert.Equal(t, at(1, 1, 0), first)
	assert.Equal(t, first, last)
	assert.Equal(t, scrm.TenantID("t1"), c.Tenant())
	assert.Equal(t, scrm.DefaultLocation(), c.Location())
}

func TestRenamedEvents(t *testing.T) {
	c := metrics.NewCollector("t1", &metrics.Options{Events: metrics.EventNames{OrderPaid: "trade.paid"}})
	require.NoError(t, c.AddEvents(
		scrm.Event{ID: "1", Tenant: "t1", Customer: "c1", Type: "trade.paid", Time: at(1, 1, 0)},
		scrm.Event{ID: "2", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: at(1, 2, 0)},
		scrm.Event{ID: "3", Tenant: "t1", Customer: "c1", Type: "trade.paid", Time: at(1, 3, 0)},
	))
	r, err := c.Repurchase(metrics.RepurchaseOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, r.Total.Orders)
	assert.Equal(t, scrm.EventCustomerAdded, metrics.EventNames{}.WithDefaults().CustomerAdded)
}

func TestConcurrentAddAndReports(t *testing.T) {
	events := genEvents(2000, 3)
	c := metrics.NewCollector("t1", nil)
	var wg sync.WaitGroup
	const workers = 8
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(events); i += workers {
				assert.NoError(t, c.Add(events[i]))
				if i%500 == 0 {
					_, err := c.Cohorts(metrics.CohortOptions{})
					assert.NoError(t, err)
				}
			}
		}(w)
	}
	wg.Wait()
	serial := metrics.NewCollector("t1", nil)
	require.NoError(t, serial.AddEvents(events...))
	assert.Equal(t, reportsOf(t, serial), reportsOf(t, c))
	assert.Equal(t, 2000, c.Customers())
}
