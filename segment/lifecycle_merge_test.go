package segment_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
)

// DefaultLifecycle at the exact 30- and 90-day boundaries (inclusive), one
// nanosecond past them.
func TestLifecycleBoundaries(t *testing.T) {
	l := segment.DefaultLifecycle()
	at := func(ds ...time.Duration) *scrm.Profile {
		p := scrm.NewProfile(tenant, "c1")
		for i, d := range ds {
			p.Apply(scrm.Event{ID: fmt.Sprint(i), Tenant: tenant, Customer: "c1", Type: paid, Time: t0.Add(-d)})
		}
		return p
	}
	assert.Equal(t, segment.StageNew, l.Stage(at(30*day), t0))
	assert.Equal(t, segment.StageDormant, l.Stage(at(30*day+time.Nanosecond), t0))
	assert.Equal(t, segment.StageActive, l.Stage(at(100*day, 30*day), t0))
	assert.Equal(t, segment.StageDormant, l.Stage(at(100*day, 90*day), t0))
	assert.Equal(t, segment.StageChurned, l.Stage(at(100*day, 90*day+time.Nanosecond), t0))
}

// A chain of merges (a into b, then b into c) carries static and dynamic
// memberships to the final survivor, and Delete then finds it.
func TestMergeChainStatic(t *testing.T) {
	h := newHarness(t)
	h.define(repeatBuyers())
	h.define(segment.Segment{ID: "list", Static: true})
	h.attrs("a", map[string]any{"city": "上海"})
	h.order("a", day, "10.00")
	h.order("a", 0, "10.00")
	h.attrs("b", map[string]any{"tier": "x"})
	h.attrs("c", map[string]any{"tier": "y"})
	_, err := h.svc.Add(h.ctx, tenant, "list", "a")
	require.NoError(t, err)
	h.log.take()
	require.NoError(t, h.bus.Publish(h.ctx, scrm.MergeEvent(tenant, "a", "b", h.clock.Now())))
	h.log.take()
	require.NoError(t, h.bus.Publish(h.ctx, scrm.MergeEvent(tenant, "b", "c", h.clock.Now())))
	h.log.take()
	for _, seg := range []string{"list", "repeat"} {
		assert.Equal(t, []scrm.CustomerID{"c"}, h.members(seg), seg)
		h.assertConsistent(seg, "c")
	}
	// An event for an absorbed customer reaches the survivor.
	h.order("a", 0, "10.00")
	_, err = h.svc.RefreshAll(h.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c"}, h.members("repeat"))
	d, err := h.svc.Delete(h.ctx, tenant, "list")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c"}, d.Exited)
	assert.False(t, h.profile("c").InSegment("list"))
}
