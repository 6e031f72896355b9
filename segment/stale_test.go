package segment_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
)

// hidingStore leaves some customers out of List (as if they were created
// during a scan, behind its cursor) and, optionally, out of Get.
type hidingStore struct {
	scrm.ProfileStore
	fromList map[scrm.CustomerID]bool
	fromGet  map[scrm.CustomerID]bool
}

func (s *hidingStore) List(ctx context.Context, p scrm.ListProfilesParams) (scrm.ProfilePage, error) {
	page, err := s.ProfileStore.List(ctx, p)
	kept := page.Profiles[:0]
	for _, pr := range page.Profiles {
		if !s.fromList[pr.Customer] {
			kept = append(kept, pr)
		}
	}
	page.Profiles = kept
	return page, err
}

func (s *hidingStore) Get(ctx context.Context, t scrm.TenantID, c scrm.CustomerID) (*scrm.Profile, error) {
	if s.fromGet[c] {
		return nil, scrm.Errorf(scrm.ErrNotFound, "hidingStore.Get", "hidden")
	}
	return s.ProfileStore.Get(ctx, t, c)
}

func (s *hidingStore) UpdateProfile(ctx context.Context, p scrm.UpdateProfileParams, fn func(*scrm.Profile) error) (*scrm.Profile, bool, error) {
	return s.ProfileStore.(scrm.ProfileUpdater).UpdateProfile(ctx, p, fn)
}

func TestRefreshEvaluatesMembersTheListingMissed(t *testing.T) {
	store := &hidingStore{ProfileStore: scrm.NewMemoryProfileStore(), fromList: map[scrm.CustomerID]bool{}, fromGet: map[scrm.CustomerID]bool{}}
	h := newHarnessWith(t, store, nil)
	seedCustomers(h)
	h.define(repeatBuyers())
	h.refresh("repeat")
	h.log.take()

	store.fromList["c1"] = true
	d := h.refresh("repeat")
	assert.Empty(t, d.Exited, "a member the listing missed is evaluated, not dropped")
	assert.Equal(t, 3, d.Evaluated)

	h.clock.Advance(40 * day)
	d = h.refresh("repeat")
	assert.Equal(t, []scrm.CustomerID{"c1"}, d.Exited, "and exits when it no longer matches")
	h.assertConsistent("repeat", "c1")

	// A member with no profile at all cannot be decided: it is left (and
	// logged), and the refresh goes on.
	h.clock.Set(t0)
	store.fromList["c1"] = false
	assert.Equal(t, []scrm.CustomerID{"c1"}, h.refresh("repeat").Entered)
	store.fromList["c1"], store.fromGet["c1"] = true, true
	d, err := h.svc.Refresh(h.ctx, tenant, "repeat")
	require.NoError(t, err)
	assert.Empty(t, d.Exited)
	in, err := h.svc.Contains(h.ctx, tenant, "repeat", "c1")
	require.NoError(t, err)
	assert.True(t, in)
}

func TestAbsorbedCustomersAreReplacedBySurvivors(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	h.attrs("c1", map[string]any{"city": "上海"})
	h.attrs("c2", map[string]any{"city": "北京"})
	// The merge reaches the profiles only.
	require.NoError(t, scrm.NewProfiles(h.profiles, nil).Handle(h.ctx, scrm.MergeEvent(tenant, "c1", "c2", h.clock.Now())))

	d, err := h.svc.Add(h.ctx, tenant, "list", "c1")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c2"}, d.Entered, "an upload naming an absorbed customer adds its survivor")
	assert.Equal(t, []scrm.CustomerID{"c2"}, h.members("list"))

	d, err = h.svc.Delete(h.ctx, tenant, "list")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c2"}, d.Exited)
	assert.False(t, h.profile("c2").InSegment("list"))
}
