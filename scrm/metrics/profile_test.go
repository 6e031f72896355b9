package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// profilesOf folds events into profiles the way scrm.Profiles does, with
// the acquisition Props copied to attributes as a host would.
func profilesOf(events []scrm.Event) map[scrm.CustomerID]*scrm.Profile {
	out := map[scrm.CustomerID]*scrm.Profile{}
	for _, e := range events {
		p := out[e.Customer]
		if p == nil {
			p = scrm.NewProfile(e.Tenant, e.Customer)
			out[e.Customer] = p
		}
		p.Apply(e)
		if e.Type == scrm.EventCustomerAdded {
			for _, k := range []string{"store", "staff", "channel_code", "campaign"} {
				if v := e.Prop(k); v != "" {
					p.SetAttr(k, v)
				}
			}
		}
	}
	return out
}

// Month-level reports from profiles equal those from the events.
func TestProfilesGiveTheSameMonthlyReports(t *testing.T) {
	events := bakery()
	store := scrm.NewMemoryProfileStore()
	ctx := context.Background()
	for _, p := range profilesOf(events) {
		_, err := store.Save(ctx, scrm.SaveProfileParams{Profile: p})
		require.NoError(t, err)
	}
	fromProfiles := metrics.NewCollector("t1", nil)
	require.NoError(t, fromProfiles.LoadProfiles(ctx, store))
	fromEvents := bakeryCollector()
	assert.Equal(t, 4, fromProfiles.Customers())

	for _, o := range []metrics.CohortOptions{{}, {By: metrics.FirstJoin}, {Activity: []string{scrm.EventGroupJoined}}} {
		a, err := fromEvents.Cohorts(o)
		require.NoError(t, err)
		b, err := fromProfiles.Cohorts(o)
		require.NoError(t, err)
		assert.Equal(t, a.Table().String(), b.Table().String())
		assert.Equal(t, a.LTV().Table().String(), b.LTV().Table().String())
	}
	for _, o := range []metrics.RepurchaseOptions{{}, {From: at(2, 1, 0), To: at(3, 1, 0), By: metrics.ByStore}} {
		a, err := fromEvents.Repurchase(o)
		require.NoError(t, err)
		b, err := fromProfiles.Repurchase(o)
		require.NoError(t, err)
		assert.Equal(t, a, b)
	}
	for _, by := range []metrics.Dimension{metrics.ByStore, metrics.ByStaff, metrics.ByChannelCode, metrics.ByCampaign} {
		a, err := fromEvents.Acquisition(metrics.AcquisitionOptions{By: by})
		require.NoError(t, err)
		b, err := fromProfiles.Acquisition(metrics.AcquisitionOptions{By: by})
		require.NoError(t, err)
		assert.Equal(t, a.Table().String(), b.Table().String())
	}
	a, err := fromEvents.PredictLTV(metrics.PredictOptions{From: at(2, 1, 0), To: at(3, 1, 0)})
	require.NoError(t, err)
	b, err := fromProfiles.PredictLTV(metrics.PredictOptions{From: at(2, 1, 0), To: at(3, 1, 0)})
	require.NoError(t, err)
	assert.Equal(t, a.Table().String(), b.Table().String())
}

func TestProfileMonthsAndHorizon(t *testing.T) {
	// 200 orders of 1.00, one a day from 2024-01-01, and a profile whose
	// horizon keeps only the last 30 days of them: the older ones go to
	// the first event's month, the all-time totals stay exact.
	p := scrm.NewProfile("t1", "c1")
	limits := scrm.ProfileLimits{Horizon: 30 * 24 * time.Hour}
	for i := 0; i < 200; i++ {
		p.ApplyWithLimits(scrm.Event{ID: itoa(i), Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
			Time: at(1, 1+i, 12), Amount: scrm.Yuan("1.00")}, limits)
	}
	c := metrics.NewCollector("t1", nil)
	require.NoError(t, c.AddProfile(p))
	r, err := c.Repurchase(metrics.RepurchaseOptions{})
	require.NoError(t, err)
	assert.Equal(t, 200, r.Total.Orders)
	// The last order is on 07-18, so the horizon keeps 06-18 to 07-18
	// (31 orders): 13 in June, 18 in July. The 169 older ones count in
	// January, the month of the first order.
	r, err = c.Repurchase(metrics.RepurchaseOptions{From: time.Date(2024, 7, 1, 0, 0, 0, 0, scrm.DefaultLocation())})
	require.NoError(t, err)
	assert.Equal(t, 18, r.Total.Orders, "July 1–18")
	tab, err := c.Cohorts(metrics.CohortOptions{})
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	assertMoney(t, "200.00", sumMoney(tab.Rows[0].Revenue))
	assert.Equal(t, []string{"169.00", "0.00", "0.00", "0.00", "0.00", "13.00", "18.00"}, moneys(tab.Rows[0].Revenue))

	// Errors.
	assertInvalid(t, c.AddProfile(nil), "Profile")
	assertInvalid(t, c.AddProfile(scrm.NewProfile("t2", "c2")), "Tenant")
	assertInvalid(t, c.AddProfile(scrm.NewProfile("t1", "")), "Customer")
	assert.ErrorIs(t, c.AddProfile(p), scrm.ErrConflict, "the same customer twice")
	assert.ErrorIs(t, c.Add(scrm.Event{ID: "x", Tenant: "t1", Customer: "c1", Type: "a", Time: at(1, 1, 0)}), scrm.ErrConflict)
	merged := scrm.NewProfile("t1", "c9")
	merged.MergedInto = "c1"
	require.NoError(t, c.AddProfile(merged))
	assert.Equal(t, 1, c.Customers(), "an absorbed profile is skipped")

	ev := metrics.NewCollector("t1", nil)
	require.NoError(t, ev.Add(scrm.Event{ID: "x", Tenant: "t1", Customer: "c1", Type: "a", Time: at(1, 1, 0)}))
	assert.ErrorIs(t, ev.AddProfile(p), scrm.ErrConflict)
	assertInvalid(t, ev.LoadProfiles(context.Background(), nil), "store")
}

// listOnly hides the memory store's ScanProfiles, so LoadProfiles pages
// with List.
type listOnly struct{ scrm.ProfileStore }

func TestLoadProfilesWithListOnly(t *testing.T) {
	ctx := context.Background()
	store := scrm.NewMemoryProfileStore()
	var events []scrm.Event
	for i := 0; i < 2500; i++ { // three pages of 1000
		events = append(events, scrm.Event{ID: itoa(i), Tenant: "t1", Customer: scrm.CustomerID("c" + itoa(i)),
			Type: scrm.EventOrderPaid, Time: at(1, 1+i%28, 9), Amount: scrm.Yuan("2.00")})
	}
	for _, p := range profilesOf(events) {
		_, err := store.Save(ctx, scrm.SaveProfileParams{Profile: p})
		require.NoError(t, err)
	}
	other := scrm.NewProfile("t2", "z")
	_, err := store.Save(ctx, scrm.SaveProfileParams{Profile: other})
	require.NoError(t, err)
	for _, s := range []scrm.ProfileStore{store, listOnly{store}} {
		c := metrics.NewCollector("t1", nil)
		require.NoError(t, c.LoadProfiles(ctx, s))
		assert.Equal(t, 2500, c.Customers())
		r, err := c.Repurchase(metrics.RepurchaseOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2500, r.Total.Orders)
		// Loading again conflicts on the first customer.
		assert.ErrorIs(t, c.LoadProfiles(ctx, s), scrm.ErrConflict)
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, metrics.NewCollector("t1", nil).LoadProfiles(ctxDone, listOnly{store}), scrm.ErrUnavailable)
}
