package metrics_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// A refund booked as a negative number (as many ERPs book them) is the same
// refund as its absolute value, with or without an order_id, as member and
// referral read it: the cohort's revenue goes down, never up.
func TestCohortNegativeRefundIsTheSameRefund(t *testing.T) {
	loc := scrm.DefaultLocation()
	day := func(d int) time.Time { return time.Date(2024, 3, d, 12, 0, 0, 0, loc) }
	for _, sign := range []string{"", "-"} {
		c := metrics.NewCollector("t1", nil)
		require.NoError(t, c.AddEvents(
			orderEvent("a1", scrm.EventCustomerAdded, day(1), "", nil),
			orderEvent("o1", scrm.EventOrderPaid, day(2), "100.00", map[string]any{"order_id": "A1"}),
			orderEvent("o2", scrm.EventOrderPaid, day(3), "50.00", nil),
			orderEvent("r1", scrm.EventOrderRefunded, day(4), sign+"30.00", map[string]any{"order_id": "A1"}),
			orderEvent("r2", scrm.EventOrderRefunded, day(5), sign+"20.00", nil),
		))
		tb, err := c.Cohorts(metrics.CohortOptions{By: metrics.FirstJoin, Months: 1})
		require.NoError(t, err)
		require.Len(t, tb.Rows, 1)
		assert.Equal(t, "100.00", tb.Rows[0].Revenue[0].StringFixed(2), "150.00 paid − 30.00 − 20.00 refunded (sign %q)", sign)
	}
}
