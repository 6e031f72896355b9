package segment_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
)

// MembershipEvent's ID is deterministic and distinct for every membership
// change (DESIGN §3: Event.ID is unique per tenant; "applying the same ID
// twice has no further effect"). Segment and customer IDs may contain ':'
// (scrm.CheckID allows it), so joining them with ':' is not enough:
// customer "b:c" entering segment "a" and customer "c" entering segment
// "a:b", both at profile version 1, must get different IDs, or
// scrm.Profiles, first in the Dispatcher, drops the second as a duplicate
// (c's profile never counts its segment.entered, and ID-deduplicating
// subscribers never see it). IDs without ':' keep their readable format.
func TestMembershipEventIDsAreDistinctAcrossSegmentsAndCustomers(t *testing.T) {
	e1 := segment.MembershipEvent(tenant, "a", "b:c", true, 1, segment.SourceAdd, t0)
	e2 := segment.MembershipEvent(tenant, "a:b", "c", true, 1, segment.SourceAdd, t0)
	assert.NotEqual(t, e1.ID, e2.ID, "two different membership changes share an event ID")
	require.NoError(t, e1.Validate())
	assert.Equal(t, e1.ID, segment.MembershipEvent(tenant, "a", "b:c", true, 1, segment.SourceAdd, t0).ID, "deterministic")
	assert.Equal(t, "segment.entered:a:bc:1", segment.MembershipEvent(tenant, "a", "bc", true, 1, segment.SourceAdd, t0).ID,
		"IDs without ':' keep their format")

	h := newHarness(t)
	h.define(segment.Segment{ID: "a", Static: true})
	h.define(segment.Segment{ID: "a:b", Static: true})
	_, err := h.svc.Add(h.ctx, tenant, "a", "b:c")
	require.NoError(t, err)
	_, err = h.svc.Add(h.ctx, tenant, "a:b", "c")
	require.NoError(t, err)
	require.Equal(t, int64(1), h.profile("b:c").Count(scrm.EventSegmentEntered, t0.AddDate(-1, 0, 0)))
	require.Equal(t, int64(1), h.profile("c").Count(scrm.EventSegmentEntered, t0.AddDate(-1, 0, 0)),
		"customer c's segment.entered must not be dropped as a duplicate of b:c's")
}

// IDs too long for the plain format are hashed; the hash of IDs containing
// ':' is taken over an unambiguous encoding, so long IDs that join to the
// same text still get different event IDs, which never equal a plain or
// plain-hashed one.
func TestMembershipEventLongIDsWithColonsAreDistinct(t *testing.T) {
	long := strings.Repeat("x", 120)
	e1 := segment.MembershipEvent(tenant, long, "b:c", false, 7, segment.SourceRefresh, t0)
	e2 := segment.MembershipEvent(tenant, long+":b", "c", false, 7, segment.SourceRefresh, t0)
	assert.NotEqual(t, e1.ID, e2.ID)
	for _, e := range []scrm.Event{e1, e2} {
		require.NoError(t, e.Validate())
		assert.True(t, strings.HasPrefix(e.ID, "segment.exited:~"), e.ID)
	}
	plain := segment.MembershipEvent(tenant, long, "bc", false, 7, segment.SourceRefresh, t0)
	assert.Regexp(t, `^segment\.exited:[0-9a-f]{32}$`, plain.ID, "long IDs without ':' keep their hashed format")
	short := segment.MembershipEvent(tenant, "a", "b:c", false, 7, segment.SourceRefresh, t0)
	assert.True(t, strings.HasPrefix(short.ID, "segment.exited:~"), "short IDs with ':' use the unambiguous form too: %s", short.ID)
}

// Handle's doc: on customer.merged the absorbed customer "leaves every
// segment without an event (it no longer exists)". Refresh, finding a
// stored member that was absorbed behind the Service's back, removes it the
// same way: it is listed in Diff.Exited, but no segment.exited is
// published (scrm.Profiles would fold it into the survivor, who did not
// exit).
func TestRefreshAbsorbedMemberExitsWithoutEvent(t *testing.T) {
	h := newHarness(t)
	seedCustomers(h)
	h.define(repeatBuyers())
	h.refresh("repeat")
	h.log.take()
	require.NoError(t, scrm.NewProfiles(h.profiles, nil).Handle(h.ctx, scrm.MergeEvent(tenant, "c1", "c9", h.clock.Now())))

	d := h.refresh("repeat")
	assert.Equal(t, []scrm.CustomerID{"c9"}, d.Entered)
	assert.Equal(t, []scrm.CustomerID{"c1"}, d.Exited)
	assert.Equal(t, []string{"entered repeat c9"}, h.log.take(), "the absorbed customer's exit is not announced")
	assert.Equal(t, int64(0), h.profile("c9").Count(scrm.EventSegmentExited, t0.AddDate(-1, 0, 0)))
	assert.Equal(t, []scrm.CustomerID{"c9"}, h.members("repeat"))
	d = h.refresh("repeat")
	assert.Empty(t, d.Exited)
	assert.Empty(t, h.log.take())
}

// The same holds when a static segment's member is removed by an ID that
// was absorbed: the absorbed customer leaves silently.
func TestRemoveAbsorbedMemberExitsWithoutEvent(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	_, err := h.svc.Add(h.ctx, tenant, "list", "c1")
	require.NoError(t, err)
	h.attrs("c2", map[string]any{"city": "北京"})
	h.log.take()
	require.NoError(t, scrm.NewProfiles(h.profiles, nil).Handle(h.ctx, scrm.MergeEvent(tenant, "c1", "c2", h.clock.Now())))

	d, err := h.svc.Remove(h.ctx, tenant, "list", "c1")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c1"}, d.Exited)
	assert.Empty(t, h.log.take())
	assert.Empty(t, h.members("list"))
}
