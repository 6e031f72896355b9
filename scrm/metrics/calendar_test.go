package metrics_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

func collectorOf(t *testing.T, loc *time.Location, events ...scrm.Event) *metrics.Collector {
	t.Helper()
	var opts *metrics.Options
	if loc != nil {
		opts = &metrics.Options{Options: scrm.Options{Location: loc}}
	}
	c := metrics.NewCollector("t1", opts)
	require.NoError(t, c.AddEvents(events...))
	return c
}

func ev(id, cust, typ string, tm time.Time, amount string, props map[string]any) scrm.Event {
	e := scrm.Event{ID: id, Tenant: "t1", Customer: scrm.CustomerID(cust), Type: typ, Time: tm, Props: props}
	if amount != "" {
		e.Amount = scrm.Yuan(amount)
	}
	return e
}

func weekLabels(t *testing.T, c *metrics.Collector) []string {
	t.Helper()
	r, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByCampaign, Period: metrics.Week})
	require.NoError(t, err)
	var out []string
	for _, row := range r.Rows {
		out = append(out, row.Label+" "+row.Key+" "+itoa(row.Added))
	}
	return out
}

func TestWeeksAcrossYearBoundary(t *testing.T) {
	sh := scrm.DefaultLocation()
	c := collectorOf(t, nil,
		ev("a1", "a", scrm.EventCustomerAdded, time.Date(2020, 12, 31, 23, 0, 0, 0, sh), "", map[string]any{"campaign": "x"}),
		ev("a2", "b", scrm.EventCustomerAdded, time.Date(2021, 1, 3, 23, 59, 0, 0, sh), "", map[string]any{"campaign": "x"}),
		ev("a3", "c", scrm.EventCustomerAdded, time.Date(2021, 1, 4, 0, 0, 0, 0, sh), "", map[string]any{"campaign": "x"}),
		// 2021-01-03 16:30 UTC is Monday 2021-01-04 00:30 in Shanghai.
		ev("a4", "d", scrm.EventCustomerAdded, time.Date(2021, 1, 3, 16, 30, 0, 0, time.UTC), "", map[string]any{"campaign": "x"}),
	)
	assert.Equal(t, []string{"2020-W53 x 2", "2021-W01 x 2"}, weekLabels(t, c))

	c = collectorOf(t, nil,
		ev("a1", "a", scrm.EventCustomerAdded, time.Date(2024, 12, 29, 12, 0, 0, 0, sh), "", map[string]any{"campaign": "x"}),
		ev("a2", "b", scrm.EventCustomerAdded, time.Date(2024, 12, 30, 0, 0, 0, 0, sh), "", map[string]any{"campaign": "x"}),
		ev("a3", "c", scrm.EventCustomerAdded, time.Date(2025, 1, 5, 23, 0, 0, 0, sh), "", map[string]any{"campaign": "x"}),
	)
	assert.Equal(t, []string{"2024-W52 x 1", "2025-W01 x 2"}, weekLabels(t, c))
}

func TestWeeksAcrossNewYorkDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	c := collectorOf(t, ny,
		ev("a1", "a", scrm.EventCustomerAdded, time.Date(2024, 3, 4, 0, 0, 0, 0, ny), "", map[string]any{"campaign": "x"}),
		ev("a2", "b", scrm.EventCustomerAdded, time.Date(2024, 3, 10, 23, 59, 0, 0, ny), "", map[string]any{"campaign": "x"}),
		ev("a3", "c", scrm.EventCustomerAdded, time.Date(2024, 3, 11, 0, 0, 0, 0, ny), "", map[string]any{"campaign": "x"}),
		ev("a4", "d", scrm.EventCustomerAdded, time.Date(2024, 11, 3, 23, 30, 0, 0, ny), "", map[string]any{"campaign": "x"}),
		ev("a5", "e", scrm.EventCustomerAdded, time.Date(2024, 11, 4, 0, 0, 0, 0, ny), "", map[string]any{"campaign": "x"}),
	)
	assert.Equal(t, []string{"2024-W10 x 2", "2024-W11 x 1", "2024-W44 x 1", "2024-W45 x 1"}, weekLabels(t, c))
	r, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByCampaign, Period: metrics.Week})
	require.NoError(t, err)
	for _, row := range r.Rows {
		p := row.Period.In(ny)
		assert.Equal(t, time.Monday, p.Weekday(), row.Label)
		assert.Equal(t, 0, p.Hour(), row.Label)
	}
}

func TestConversionWindowBoundary(t *testing.T) {
	sh := scrm.DefaultLocation()
	added := time.Date(2024, 1, 10, 10, 0, 0, 0, sh)
	c := collectorOf(t, nil,
		ev("a1", "a", scrm.EventCustomerAdded, added, "", map[string]any{"campaign": "x"}),
		ev("o1", "a", scrm.EventOrderPaid, added.Add(30*24*time.Hour), "10.00", nil),
		ev("a2", "b", scrm.EventCustomerAdded, added, "", map[string]any{"campaign": "x"}),
		ev("o2", "b", scrm.EventOrderPaid, added.Add(30*24*time.Hour+time.Nanosecond), "20.00", nil),
		ev("a3", "c", scrm.EventCustomerAdded, added, "", map[string]any{"campaign": "x"}),
		ev("o3", "c", scrm.EventOrderPaid, added.Add(-time.Nanosecond), "40.00", nil),
		ev("o4", "c", scrm.EventOrderPaid, added, "7.00", nil),
		ev("o5", "c", scrm.EventOrderPaid, added.Add(time.Hour), "8.00", nil),
	)
	r, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByCampaign})
	require.NoError(t, err)
	assert.Equal(t, 3, r.Total.Added)
	assert.Equal(t, 2, r.Total.Converted)
	assertMoney(t, "17.00", r.Total.FirstOrderRevenue)
}

// A far-future AsOf (9999-12-31, a common "open end" sentinel) is clamped
// by nanosOf to math.MaxInt64; a calendar running to it would never end
// (UnixNano wraps past 2262), so Cohorts stops the calendar at the last
// month any column reaches. The table is the same as for any AsOf past
// that month.
func TestCohortsFarFutureAsOf(t *testing.T) {
	c := collectorOf(t, nil, ev("o1", "c1", scrm.EventOrderPaid, time.Date(2024, 1, 2, 12, 0, 0, 0, time.UTC), "1.00", nil))
	end := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	tab, err := c.Cohorts(metrics.CohortOptions{Months: 3, AsOf: end})
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	assert.Equal(t, []int{1, 0, 0}, tab.Rows[0].Active)
	assert.True(t, end.Equal(tab.AsOf), "AsOf is reported as given, got %s", tab.AsOf)

	for _, asOf := range []time.Time{time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC), time.Date(2261, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2262, 6, 1, 0, 0, 0, 0, time.UTC)} {
		other, err := c.Cohorts(metrics.CohortOptions{Months: 3, AsOf: asOf})
		require.NoError(t, err)
		assert.Equal(t, tab.Rows, other.Rows, "AsOf %s", asOf)
	}
	tab, err = c.Cohorts(metrics.CohortOptions{Months: metrics.MaxCohortMonths, AsOf: end})
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	assert.Len(t, tab.Rows[0].Active, metrics.MaxCohortMonths)
}

// In America/Asuncion local midnight of 2023-10-01 does not exist; built
// with time.Date, October would start at 2023-09-30 23:00 -04 and the
// calendar would never advance past it (see TestCalendarMidnightDSTGap).
// Months start where their first day does, at 01:00 -03.
func TestAcquisitionMidnightDSTGap(t *testing.T) {
	loc, err := time.LoadLocation("America/Asuncion")
	require.NoError(t, err)
	sept := time.Date(2023, 9, 30, 23, 30, 0, 0, loc) // still 30 September locally
	octo := time.Date(2023, 10, 1, 12, 0, 0, 0, loc)
	c := collectorOf(t, loc,
		ev("a1", "a", scrm.EventCustomerAdded, sept, "", map[string]any{"campaign": "x"}),
		ev("a2", "b", scrm.EventCustomerAdded, octo, "", map[string]any{"campaign": "x"}),
	)
	r, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByCampaign})
	require.NoError(t, err)
	var got []string
	for _, row := range r.Rows {
		got = append(got, row.Label+" "+itoa(row.Added))
	}
	assert.Equal(t, []string{"2023-09 1", "2023-10 1"}, got)
}

// AddProfile rebuilds a profile's events month by month; across a month
// whose first midnight a DST gap swallowed (America/Asuncion, October 2023;
// America/Havana, April 2012) it ends, and the months match those built
// from the events themselves.
func TestAddProfileMidnightDSTGap(t *testing.T) {
	for _, c := range []struct {
		zone string
		gap  time.Time // the first instant of the month, where the gap ends
	}{
		{"America/Asuncion", time.Date(2023, 10, 1, 4, 0, 0, 0, time.UTC)},
		{"America/Havana", time.Date(2012, 4, 1, 5, 0, 0, 0, time.UTC)},
	} {
		loc, err := time.LoadLocation(c.zone)
		require.NoError(t, err)
		events := []scrm.Event{
			ev("o1", "a", scrm.EventOrderPaid, c.gap.AddDate(0, -1, 0), "1.00", nil),
			ev("o2", "a", scrm.EventOrderPaid, c.gap.Add(-30*time.Minute), "2.00", nil), // the last day of the month before
			ev("o3", "a", scrm.EventOrderPaid, c.gap, "4.00", nil),
			ev("o4", "a", scrm.EventOrderPaid, c.gap.AddDate(0, 1, 14), "8.00", nil),
		}
		fromEvents := collectorOf(t, loc, events...)
		fromProfile := metrics.NewCollector("t1", &metrics.Options{Options: scrm.Options{Location: loc}})
		p := scrm.NewProfile("t1", "a")
		for _, e := range events {
			p.Apply(e)
		}
		require.NoError(t, fromProfile.AddProfile(p))

		a, err := fromEvents.Cohorts(metrics.CohortOptions{Months: 3})
		require.NoError(t, err)
		b, err := fromProfile.Cohorts(metrics.CohortOptions{Months: 3})
		require.NoError(t, err)
		assert.Equal(t, a.Table().String(), b.Table().String(), c.zone)
		require.Len(t, a.Rows, 1, c.zone)
		assert.Equal(t, []int{1, 1, 1}, a.Rows[0].Active, c.zone)
		assertMoney(t, "3.00", a.Rows[0].Revenue[0])
		assertMoney(t, "4.00", a.Rows[0].Revenue[1])
		assertMoney(t, "8.00", a.Rows[0].Revenue[2])
	}
}
