package tagging_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

func TestSweepTimeBasedRules(t *testing.T) {
	h := newHarness(t)
	h.tag("沉睡30天", "")
	h.tag("活跃", "")
	h.rule(tagging.Rule{ID: "dormant", Tag: "沉睡30天", When: rule.Event(scrm.EventOrderPaid).LastOlderThan(30 * day), Sync: true})
	h.rule(tagging.Rule{ID: "active", Tag: "活跃", When: rule.Event(scrm.EventOrderPaid).LastWithin(30 * day), Sync: true})
	for i := 0; i < 5; i++ {
		h.publish(scrm.CustomerID(fmt.Sprintf("c%d", i)), scrm.EventOrderPaid, "10.00", nil)
	}
	assert.Equal(t, 5, h.count("活跃"))
	h.taken()

	h.clock.Advance(20 * day)
	h.publish("c0", scrm.EventOrderPaid, "10.00", nil) // c0 keeps buying
	h.clock.Advance(11 * day)
	res, err := h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, tagging.SweepResult{Scanned: 5, Applied: 4, Removed: 4, Customers: 4}, res)
	assert.Equal(t, []string{"活跃"}, h.tags("c0"))
	assert.Equal(t, []string{"沉睡30天"}, h.tags("c3"))
	assert.Equal(t, 4, h.count("沉睡30天"))
	assert.Equal(t, 1, h.count("活跃"))
	m, _ := h.profile("c3").TagMark("沉睡30天")
	assert.True(t, m.At.Equal(h.clock.Now()), "a sweep applies at its own time")
	sweepEvents := h.taken()
	assert.Len(t, sweepEvents, 8, "rules without Expires do not refresh on c0's order; then the sweep's")

	// The same sweep again (same instant) is a replay: nothing counted, and
	// only the same IDs published again.
	res, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, tagging.SweepResult{Scanned: 5}, res)
	for _, e := range h.taken() {
		assert.Contains(t, eventIDs(sweepEvents), e.ID)
	}
	// Later, nothing more to do.
	h.clock.Advance(time.Hour)
	res, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, tagging.SweepResult{Scanned: 5}, res)
	assert.Empty(t, h.taken())
}

func eventIDs(es []scrm.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestSweepResumesWithCursor(t *testing.T) {
	h := newHarness(t)
	h.tag("沉睡", "")
	h.rule(tagging.Rule{ID: "dormant", Tag: "沉睡", When: rule.Event(scrm.EventOrderPaid).LastOlderThan(30 * day)})
	for i := 0; i < 7; i++ {
		h.publish(scrm.CustomerID(fmt.Sprintf("c%d", i)), scrm.EventOrderPaid, "10.00", nil)
	}
	h.clock.Advance(31 * day)
	var total tagging.SweepResult
	calls := 0
	cursor := ""
	for {
		res, err := h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{Cursor: cursor, Limit: 3})
		require.NoError(t, err)
		calls++
		total.Scanned += res.Scanned
		total.Applied += res.Applied
		if res.Next == "" {
			break
		}
		cursor = res.Next
		require.Less(t, calls, 10)
	}
	assert.Equal(t, 3, calls)
	assert.Equal(t, 7, total.Scanned)
	assert.Equal(t, 7, total.Applied)
	assert.Equal(t, 7, h.count("沉睡"))
}

func TestSweepRemovesExpiredTags(t *testing.T) {
	h := newHarness(t)
	h.tag("到店", "")
	h.tag("看过新品", "")
	h.rule(tagging.Rule{ID: "visit", Tag: "到店", When: rule.Event("store.visited").Happened(), Expires: 7 * day})
	h.rule(tagging.Rule{ID: "follow", Tag: "看过新品", When: rule.HasTag("到店")})
	h.publish("c1", "store.visited", "", nil)
	h.clock.Advance(time.Hour)
	h.publish("c2", "store.visited", "", nil)
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c3", Tag: "到店", Expires: h.clock.Now().Add(30 * day)})
	require.NoError(t, err)
	h.taken()

	h.clock.Advance(7 * day) // c1's tag expired an hour ago, c2's just now
	p := h.profile("c1")
	prog := rule.MustCompile(rule.HasTag("到店"), nil)
	assert.False(t, prog.Eval(p, h.clock.Now()), "an expired tag stops matching before any sweep")
	assert.Equal(t, 3, h.count("到店"), "and is counted until a sweep removes it")

	res, err := h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Expired)
	assert.Equal(t, 1, h.count("到店"))
	assert.Equal(t, []string{"看过新品"}, h.tags("c1"))
	es := h.taken()
	require.Len(t, es, 2)
	for _, e := range es {
		assert.Equal(t, scrm.EventTagRemoved, e.Type)
		assert.Equal(t, "expiry", e.Prop("source"))
		assert.Contains(t, e.ID, "tag.removed:expire:")
	}
	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Equal(t, tagging.ActionRemoved, hist[0].Action)
	assert.Equal(t, "expired", hist[0].Reason)
}

func TestSweepCancelled(t *testing.T) {
	h := newHarness(t)
	h.tag("x", "")
	h.publish("c1", scrm.EventOrderPaid, "1.00", nil)
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	_, err := h.svc.Sweep(ctx, tenant, tagging.SweepOptions{})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
}
