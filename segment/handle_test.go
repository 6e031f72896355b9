package segment_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
)

// countingStore counts profile reads, keeping the memory store's atomic
// UpdateProfile.
type countingStore struct {
	scrm.ProfileStore
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, t scrm.TenantID, id scrm.CustomerID) (*scrm.Profile, error) {
	c.gets.Add(1)
	return c.ProfileStore.Get(ctx, t, id)
}

func (c *countingStore) UpdateProfile(ctx context.Context, p scrm.UpdateProfileParams, fn func(*scrm.Profile) error) (*scrm.Profile, bool, error) {
	return c.ProfileStore.(scrm.ProfileUpdater).UpdateProfile(ctx, p, fn)
}

func TestHandleReadsOnlyWhatTheEventCanChange(t *testing.T) {
	store := &countingStore{ProfileStore: scrm.NewMemoryProfileStore()}
	h := newHarnessWith(t, store, nil)
	h.define(repeatBuyers())
	h.attrs("c1", map[string]any{"city": "上海"})
	h.order("c1", 3*day, "10.00")

	before := store.gets.Load()
	h.publish("c1", scrm.EventPageViewed, 0, "", nil)
	h.attrs("c1", map[string]any{"nickname": "小李"})
	assert.Equal(t, before, store.gets.Load(), "no segment reads page views or nicknames: no profile is read")

	h.order("c1", 0, "10.00")
	assert.Greater(t, store.gets.Load(), before, "an order is read by the segment")
	assert.Equal(t, []string{"entered repeat c1"}, h.log.take())
	h.assertConsistent("repeat", "c1")
}

func TestHandleFollowsAttrsTagsAndSegments(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "sh", When: rule.Attr("city").Eq("上海")})
	h.define(segment.Segment{ID: "coffee", When: rule.HasTag("咖啡爱好者")})
	h.define(segment.Segment{ID: "sh-coffee", When: rule.All(rule.InSegment("sh"), rule.InSegment("coffee"))})

	h.attrs("c1", map[string]any{"city": "上海"})
	assert.Equal(t, []string{"entered sh c1"}, h.log.take())

	// What the tagging package does: mark the profile, publish the event.
	tag := func(apply bool) {
		_, _, err := scrm.UpdateProfile(h.ctx, h.profiles, tenant, "c1", "", func(p *scrm.Profile) error {
			if apply {
				p.SetTag("咖啡爱好者", scrm.TagMark{At: h.clock.Now(), Source: "manual"})
			} else {
				p.RemoveTag("咖啡爱好者")
			}
			return nil
		})
		require.NoError(t, err)
		typ := scrm.EventTagApplied
		if !apply {
			typ = scrm.EventTagRemoved
		}
		h.publish("c1", typ, 0, "", map[string]any{"tag": "咖啡爱好者"})
	}
	tag(true)
	assert.Equal(t, []string{"entered coffee c1", "entered sh-coffee c1"}, h.log.take(),
		"entering coffee re-evaluates the segment that reads it, after")
	tag(false)
	assert.Equal(t, []string{"exited coffee c1", "exited sh-coffee c1"}, h.log.take())
	h.attrs("c1", map[string]any{"city": "杭州"})
	assert.Equal(t, []string{"exited sh c1"}, h.log.take())
	for _, seg := range []string{"sh", "coffee", "sh-coffee"} {
		h.assertConsistent(seg, "c1")
	}
}

func TestHandleEventsCarryTheirCause(t *testing.T) {
	h := newHarness(t)
	h.define(repeatBuyers())
	h.attrs("c1", map[string]any{"city": "上海"})
	h.order("c1", day, "10.00")
	e := h.order("c1", 0, "10.00")
	events := h.log.all()
	require.Len(t, events, 1)
	assert.Equal(t, segment.SourceEvent, events[0].Prop("source"))
	assert.Equal(t, e.ID, events[0].Prop("cause"))
}

func TestHandleReplayChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.define(repeatBuyers())
	h.attrs("c1", map[string]any{"city": "上海"})
	h.order("c1", day, "10.00")
	e := h.order("c1", 0, "10.00")
	assert.Len(t, h.log.take(), 1)
	for range 3 {
		require.NoError(t, h.bus.Publish(h.ctx, e))
		require.NoError(t, h.svc.Handle(h.ctx, e))
	}
	assert.Empty(t, h.log.take())
	h.assertConsistent("repeat", "c1")
}

func TestHandleMerge(t *testing.T) {
	h := newHarness(t)
	h.define(repeatBuyers())
	h.define(segment.Segment{ID: "list", Static: true})
	// c1 is in both; c2, the survivor, has the city but no orders.
	h.attrs("c1", map[string]any{"city": "上海"})
	h.order("c1", day, "10.00")
	h.order("c1", 2*day, "10.00")
	h.attrs("c2", map[string]any{"city": "上海"})
	_, err := h.svc.Add(h.ctx, tenant, "list", "c1")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"entered repeat c1", "entered list c1"}, h.log.take())

	require.NoError(t, h.bus.Publish(h.ctx, scrm.MergeEvent(tenant, "c1", "c2", h.clock.Now())))
	assert.ElementsMatch(t, []string{"entered list c2", "entered repeat c2"}, h.log.take(),
		"the absorbed customer leaves silently; the survivor takes its static memberships and is re-evaluated")
	assert.Equal(t, []scrm.CustomerID{"c2"}, h.members("list"))
	assert.Equal(t, []scrm.CustomerID{"c2"}, h.members("repeat"))
	h.assertConsistent("repeat", "c2")
	h.assertConsistent("list", "c2")

	// Later events of the absorbed ID go to the survivor.
	h.clock.Advance(40 * day)
	h.order("c1", 0, "10.00")
	h.order("c1", 0, "10.00")
	assert.Equal(t, []string{"exited repeat c2", "entered repeat c2"}, h.log.take(),
		"a month on, the first order leaves c2 with one order in 30 days, the second brings it back")
	d := h.refresh("repeat")
	assert.Empty(t, d.Entered)
	assert.Empty(t, d.Exited)
	assert.Equal(t, []scrm.CustomerID{"c2"}, h.members("repeat"))
}

func TestHandleSeesDefinitionsOfOtherInstances(t *testing.T) {
	h := newHarness(t)
	h.attrs("c1", map[string]any{"city": "上海"})
	// Another instance of the service, sharing the Store, defines a
	// segment; this one learns of it through the Store's generation.
	other := segment.New(h.svc.Store(), h.profiles, nil)
	_, err := other.Define(h.ctx, segment.Segment{Tenant: tenant, ID: "sh", When: rule.Attr("city").Eq("上海")})
	require.NoError(t, err)
	h.attrs("c2", map[string]any{"city": "上海"})
	assert.Equal(t, []string{"entered sh c2"}, h.log.take())

	_, err = other.Delete(h.ctx, tenant, "sh")
	require.NoError(t, err)
	h.attrs("c3", map[string]any{"city": "上海"})
	assert.Empty(t, h.log.take(), "a deleted segment is no longer evaluated")
}

func TestHandleInvalidEvent(t *testing.T) {
	h := newHarness(t)
	err := h.svc.Handle(h.ctx, scrm.Event{Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: t0})
	requireField(t, err, "ID")
}

func TestStoredConditionThatNoLongerCompiles(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "sh", When: rule.Attr("city").Eq("上海")})
	h.attrs("c1", map[string]any{"city": "上海"})
	h.log.take()
	// The host now declares city a number: the stored condition no longer
	// type-checks.
	strict := segment.New(h.svc.Store(), h.profiles, &segment.Options{Schema: map[string]rule.Type{"city": rule.Number}})
	_, err := strict.Refresh(h.ctx, tenant, "sh")
	requireField(t, err, "When.value")
	require.NoError(t, strict.Handle(h.ctx, scrm.Event{ID: "x", Tenant: tenant, Customer: "c1", Type: scrm.EventAttrsSet, Time: t0,
		Props: map[string]any{"attrs": map[string]any{"city": "杭州"}}}), "Handle skips (and logs) a segment it cannot compile")
}
