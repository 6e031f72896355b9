package segment_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
)

func TestRFMTinyPopulations(t *testing.T) {
	now := t0
	q := segment.RFMConfig{Quantiles: true}
	_, err := segment.ScoreRFM(nil, q, now)
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	sc, err := segment.ScoreRFM([]*scrm.Profile{buyer("a", now, 1, "10.00")}, q, now)
	require.NoError(t, err)
	assert.Equal(t, 1, sc[0].R)
	assert.Equal(t, segment.GeneralRetain, sc[0].Class)

	sc, err = segment.ScoreRFM([]*scrm.Profile{buyer("a", now, 1, "10.00"), buyer("b", now, 2, "5.00")}, q, now)
	require.NoError(t, err)
	assert.Equal(t, []int{3, 3, 3}, []int{sc[0].R, sc[0].F + 2, sc[0].M})
	assert.Equal(t, []int{1, 1, 1}, []int{sc[1].R, sc[1].F, sc[1].M})
	assert.Equal(t, segment.ImportantDevelop, sc[0].Class)
	// F: both 1 → tie → both 1.

	// ties
	var ps []*scrm.Profile
	for i := 0; i < 10; i++ {
		ps = append(ps, buyer(scrm.CustomerID("c"+string(rune('a'+i))), now, 1, "10.00"))
	}
	sc, err = segment.ScoreRFM(ps, q, now)
	require.NoError(t, err)
	for _, s := range sc {
		assert.Equal(t, 1, s.R)
		assert.Equal(t, 1, s.M)
		assert.Equal(t, segment.GeneralRetain, s.Class)
	}
}

// ScoreRFM documents its population as the customers with an Event in
// [now-Window, now], and F/M as the events in the window. Scoring as of a
// past instant must not count orders placed after it.
func TestRFMIgnoresEventsAfterNow(t *testing.T) {
	now := t0
	future := buyer("later", now, -10, "500.00") // its only order is 10 days after now
	both := buyer("both", now, 5, "100.00", -3, "900.00")
	sc, err := segment.ScoreRFM([]*scrm.Profile{future, both}, thresholds(), now)
	require.NoError(t, err)
	assert.False(t, sc[0].Scored, "no order in [now-Window, now]")
	assert.Equal(t, int64(1), sc[1].Frequency, "the order after now is outside the window")
	assertMoneyEq(t, "100.00", sc[1].Monetary)
	assert.Equal(t, 5*day, sc[1].Recency, "recency of the last order at or before now")
	assert.Equal(t, 5, sc[1].R, "5 days old: within Recency[0]")
}

// The window is closed at both ends: an order exactly at now counts, one a
// nanosecond later does not; recency is that of the last counted order,
// found to the nanosecond among later ones; refunds after now are not
// subtracted; and quantile scores rank by the counted values.
func TestRFMWindowEnds(t *testing.T) {
	now := t0
	at := func(id scrm.CustomerID, typ string, tm time.Time, amount string) scrm.Event {
		return scrm.Event{ID: string(id) + typ + tm.String(), Tenant: tenant, Customer: id, Type: typ, Time: tm, Amount: scrm.Yuan(amount)}
	}
	p := scrm.NewProfile(tenant, "c")
	for _, e := range []scrm.Event{
		at("c", scrm.EventOrderPaid, now.Add(-40*day-time.Nanosecond), "1.00"),
		at("c", scrm.EventOrderPaid, now.Add(-3*time.Hour-7*time.Nanosecond), "200.00"),
		at("c", scrm.EventOrderPaid, now.Add(time.Nanosecond), "5000.00"),
		at("c", scrm.EventOrderPaid, now.Add(2*day), "7000.00"),
		at("c", scrm.EventOrderRefunded, now.Add(-time.Hour), "50.00"),
		at("c", scrm.EventOrderRefunded, now.Add(time.Nanosecond), "150.00"),
	} {
		p.Apply(e)
	}
	edge := scrm.NewProfile(tenant, "edge")
	edge.Apply(at("edge", scrm.EventOrderPaid, now, "100.00"))
	edge.Apply(at("edge", scrm.EventOrderPaid, now.Add(time.Nanosecond), "100.00"))
	early := scrm.NewProfile(tenant, "early")
	early.Apply(at("early", scrm.EventOrderPaid, now.Add(-365*day), "100.00")) // exactly at now-Window
	early.Apply(at("early", scrm.EventOrderPaid, now.Add(time.Hour), "100.00"))

	cfg := thresholds()
	cfg.RefundEvent = scrm.EventOrderRefunded
	sc, err := segment.ScoreRFM([]*scrm.Profile{p, edge, early}, cfg, now)
	require.NoError(t, err)
	assert.Equal(t, int64(2), sc[0].Frequency)
	assertMoneyEq(t, "151.00", sc[0].Monetary) // 1 + 200 − 50
	assert.Equal(t, 3*time.Hour+7*time.Nanosecond, sc[0].Recency)
	assert.Equal(t, int64(1), sc[1].Frequency)
	assert.Equal(t, time.Duration(0), sc[1].Recency)
	assertMoneyEq(t, "100.00", sc[1].Monetary)
	assert.True(t, sc[2].Scored, "the window includes now-Window")
	assert.Equal(t, 365*day, sc[2].Recency)

	q, err := segment.ScoreRFM([]*scrm.Profile{p, edge, early}, segment.RFMConfig{Quantiles: true}, now)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 4, 1}, []int{q[0].R, q[1].R, q[2].R}, "R ranks the last orders at or before now")
	assert.Equal(t, []int{4, 1, 1}, []int{q[0].F, q[1].F, q[2].F})

	seq, err := segment.ScoreRFMSeq(slices.Values([]*scrm.Profile{p, edge, early}), segment.RFMConfig{Quantiles: true}, now)
	require.NoError(t, err)
	assert.Equal(t, q, seq)
}

func assertMoneyEq(t *testing.T, want string, got interface{ String() string }) {
	t.Helper()
	assert.Equal(t, scrm.Yuan(want).String(), got.String())
}
