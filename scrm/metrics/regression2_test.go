package metrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// A host asking "did they ever convert / ever join a group" passes the
// largest Duration as the window. AcquisitionOptions.ConvertWithin,
// StoreOptions.ConvertWithin/GroupWithin and GroupJoinOptions.Within only
// refuse negative values, and the formulas promise [added, added +
// ConvertWithin]: a customer added on 01-03 who paid on 01-05 converted,
// and joined a group on 01-04. The window's end saturates instead of
// wrapping around to an instant before the events.
func TestHugeWindowsCountEveryLaterConversionAndJoin(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	require.NoError(t, c.AddEvents(
		ev("a1", "c1", scrm.EventCustomerAdded, at(1, 3, 10), "", map[string]any{"store": "s1"}),
		ev("g1", "c1", scrm.EventGroupJoined, at(1, 4, 10), "", nil),
		ev("p1", "c1", scrm.EventOrderPaid, at(1, 5, 10), "10.00", map[string]any{"order_id": "o1", "store": "s1"}),
	))
	forever := time.Duration(math.MaxInt64)
	a, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore, ConvertWithin: forever})
	require.NoError(t, err)
	assert.Equal(t, 1, a.Total.Converted, "Acquisition: paid 2 days after being added")
	assertMoney(t, "10.00", a.Total.FirstOrderRevenue)
	s, err := c.Stores(metrics.StoreOptions{ConvertWithin: forever, GroupWithin: forever})
	require.NoError(t, err)
	assert.Equal(t, 1, s.Total.Converted, "Stores: converted")
	assert.Equal(t, 1, s.Total.GroupJoined, "Stores: joined a group a day after being added")
	g, err := c.GroupJoin(metrics.GroupJoinOptions{Within: forever})
	require.NoError(t, err)
	assert.Equal(t, 1, g.Total.Joined, "GroupJoin")
}

// A profile holding an event dated past 2262-01-01 (a date mistyped years
// ahead, which ProfileLimits explicitly anticipates; scrm.Profile.Apply
// does not validate, and a profile decoded from JSON with year 3000 is
// clamped to 2262-04-11) must never make a report panic on a bucket
// outside its calendar: AddProfile refuses it (an ErrInvalid, the accepted
// answer), or, were it recorded, CAC and Cohorts would still not panic.
func TestProfileFarFutureDateNeverPanicsReports(t *testing.T) {
	p := scrm.NewProfile("t1", "c1")
	p.Apply(ev("a", "c1", scrm.EventCustomerAdded, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "", nil))
	p.Apply(ev("b", "c1", scrm.EventOrderPaid, time.Date(2262, 2, 1, 0, 0, 0, 0, time.UTC), "1.00", nil))
	c := metrics.NewCollector("t1", nil)
	if err := c.AddProfile(p); err != nil {
		return // refusing the profile is a correct answer
	}
	assert.NotPanics(t, func() { _, _ = c.CAC(metrics.CACOptions{By: metrics.ByStore}) }, "CAC")
	assert.NotPanics(t, func() { _, _ = c.Cohorts(metrics.CohortOptions{}) }, "Cohorts")
}

// AddProfile refuses a profile with an event at an instant Add refuses,
// with an ErrInvalid naming the event type's first or last event, and
// records nothing of it.
func TestAddProfileRefusesYearsAddRefuses(t *testing.T) {
	for _, tc := range []struct {
		tm    time.Time
		field string
	}{
		{time.Date(2262, 2, 1, 0, 0, 0, 0, time.UTC), "activity.order.paid.last"},
		{time.Date(2201, 6, 1, 0, 0, 0, 0, time.UTC), "activity.order.paid.last"},
		{time.Date(1899, 6, 1, 0, 0, 0, 0, time.UTC), "activity.order.paid.first"},
	} {
		p := scrm.NewProfile("t1", "c1")
		p.Apply(ev("a", "c1", scrm.EventCustomerAdded, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "", nil))
		p.Apply(ev("b", "c1", scrm.EventOrderPaid, tc.tm, "1.00", nil))
		p.Apply(ev("c", "c1", scrm.EventOrderPaid, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), "1.00", nil))
		c := metrics.NewCollector("t1", nil)
		assertInvalid(t, c.AddProfile(p), tc.field)
		assert.Equal(t, 0, c.Customers(), "nothing recorded")
		_, _, ok := c.Span()
		assert.False(t, ok, "nothing recorded")
	}
}

// Collector.Add promises "Adding an event again has no further effect",
// and Referrals that a binding's status "is that of the latest
// referral.bound or referral.reviewed". A binding made under review and
// approved at the same instant (a frozen test clock, or a host whose
// event store keeps whole seconds) ends active, and the referral.bound
// event redelivered afterwards (same ID, time and Props) leaves it
// active: at one instant a referral.reviewed beats a referral.bound.
func TestRedeliveredBoundEventKeepsReviewedStatus(t *testing.T) {
	c := metrics.NewCollector("t1", nil)
	t0 := at(3, 1, 10)
	bound := ev("referral.bound:c2", "c2", metrics.EventReferralBound, t0, "",
		map[string]any{"program": "p1", "inviter": "c1", "status": "review"})
	reviewed := ev("referral.reviewed:c2", "c2", metrics.EventReferralReviewed, t0, "",
		map[string]any{"program": "p1", "status": "active"})
	require.NoError(t, c.AddEvents(bound, reviewed))
	before, err := c.Referrals(metrics.ReferralOptions{})
	require.NoError(t, err)
	require.Equal(t, 0, before.Total.Review)
	require.NoError(t, c.Add(bound)) // redelivered
	after, err := c.Referrals(metrics.ReferralOptions{})
	require.NoError(t, err)
	assert.Equal(t, before.Total, after.Total, "adding an event again must change nothing")
}

// Referral events of one instant give the same status in any order of
// arrival: a referral.reviewed beats a referral.bound, and of two of one
// kind "rejected" beats "review", which beats "active". A binding before
// 1970 (negative unix time) takes its status like any other.
func TestReferralStatusOfOneInstantIgnoresArrivalOrder(t *testing.T) {
	t0 := at(3, 1, 10)
	ref := func(id, typ, status string, tm time.Time) scrm.Event {
		return ev(id, "c2", typ, tm, "", map[string]any{"program": "p1", "inviter": "c1", "status": status})
	}
	bound := metrics.EventReferralBound
	reviewed := metrics.EventReferralReviewed
	for _, tc := range []struct {
		name                    string
		events                  []scrm.Event
		bound, review, rejected int
	}{
		{"bound review, reviewed active", []scrm.Event{ref("b", bound, "review", t0), ref("r", reviewed, "active", t0)}, 1, 0, 0},
		{"bound active and review", []scrm.Event{ref("b1", bound, "active", t0), ref("b2", bound, "review", t0)}, 1, 1, 0},
		{"reviewed active and rejected", []scrm.Event{ref("b", bound, "review", t0), ref("r1", reviewed, "active", t0), ref("r2", reviewed, "rejected", t0)}, 0, 0, 1},
		{"before 1970", []scrm.Event{ref("b", bound, "review", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC))}, 1, 1, 0},
	} {
		for _, order := range [][]scrm.Event{tc.events, reversed(tc.events)} {
			c := metrics.NewCollector("t1", nil)
			require.NoError(t, c.AddEvents(order...))
			r, err := c.Referrals(metrics.ReferralOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.bound, r.Total.Bound, tc.name)
			assert.Equal(t, tc.review, r.Total.Review, tc.name)
			assert.Equal(t, tc.rejected, r.Total.Rejected, tc.name)
		}
	}
}

func reversed(events []scrm.Event) []scrm.Event {
	out := make([]scrm.Event, len(events))
	for i, e := range events {
		out[len(events)-1-i] = e
	}
	return out
}

// Collector: "Events may arrive in any order"; Add: "the attribution of a
// customer is that of their earliest customer.added". Two customer.added
// events of one customer at the same instant (two staff members adding the
// customer within one second, as WeCom's second-resolution callbacks
// report it) give the same attribution whichever arrived first: the one
// whose store, staff, channel_code and campaign sort last.
func TestTiedAddAttributionIgnoresArrivalOrder(t *testing.T) {
	tm := at(3, 1, 10)
	a := ev("a1", "c1", scrm.EventCustomerAdded, tm, "", map[string]any{"staff": "w1"})
	b := ev("a2", "c1", scrm.EventCustomerAdded, tm, "", map[string]any{"staff": "w2"})
	c1 := metrics.NewCollector("t1", nil)
	require.NoError(t, c1.AddEvents(a, b))
	c2 := metrics.NewCollector("t1", nil)
	require.NoError(t, c2.AddEvents(b, a))
	r1, err := c1.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStaff})
	require.NoError(t, err)
	r2, err := c2.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStaff})
	require.NoError(t, err)
	require.Len(t, r1.Totals, 1)
	require.Len(t, r2.Totals, 1)
	assert.Equal(t, r1.Totals[0].Key, r2.Totals[0].Key, "the same events in another order")
	assert.Equal(t, "w2", r1.Totals[0].Key, "the staff member that sorts last")
}

// Add refuses a Time "outside the years 1900–2200" exactly as
// scrm.Event.Validate does, judging the year in the event's own zone (a
// Collector sits on a Dispatcher as a Handler): 1900-01-01 05:00 in
// Asia/Shanghai (1899-12-31 UTC) and 2200-12-31 20:00 in New York
// (2201-01-01 UTC) are accepted, and 1899-12-31 20:00 in New York
// (1900-01-01 UTC) is refused.
func TestAddAcceptsTheYearsValidateAccepts(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for _, tm := range []time.Time{
		time.Date(1900, 1, 1, 5, 0, 0, 0, scrm.DefaultLocation()),
		time.Date(2200, 12, 31, 20, 0, 0, 0, ny),
	} {
		e := ev("a1", "c1", scrm.EventCustomerAdded, tm, "", nil)
		require.NoError(t, e.Validate())
		c := metrics.NewCollector("t1", nil)
		assert.NoError(t, c.Add(e), "%s", tm)
	}
	for _, tm := range []time.Time{
		time.Date(1899, 12, 31, 20, 0, 0, 0, ny),
		time.Date(2201, 1, 1, 5, 0, 0, 0, scrm.DefaultLocation()),
	} {
		e := ev("a1", "c1", scrm.EventCustomerAdded, tm, "", nil)
		require.Error(t, e.Validate())
		c := metrics.NewCollector("t1", nil)
		assertInvalid(t, c.Add(e), "Time")
	}
}
