package tagging_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

func TestSweepBoundaries(t *testing.T) {
	h := newHarness(t)
	h.tag("沉睡", "")
	h.tag("到店", "")
	h.rule(tagging.Rule{ID: "dormant", Tag: "沉睡", When: rule.Event(scrm.EventOrderPaid).LastOlderThan(30 * day)})
	h.rule(tagging.Rule{ID: "visit", Tag: "到店", When: rule.Event("store.visited").Happened(), Expires: 7 * day})
	h.publish("c1", scrm.EventOrderPaid, "10.00", nil)
	h.publish("c1", "store.visited", "", nil)
	h.clock.Advance(7 * day)
	res, err := h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Expired, "expiry at exactly now is expired")
	assert.Equal(t, []string(nil), h.tags("c1"))
	h.clock.Advance(23 * day)
	res, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Applied, "exactly 30 days is not older than 30 days")
	h.clock.Advance(time.Nanosecond)
	res, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Applied)
	assert.Equal(t, []string{"沉睡"}, h.tags("c1"))
	assert.Equal(t, 1, h.count("沉睡"))
	assert.Equal(t, 0, h.count("到店"))
}
