package segment_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/segment"
)

const raceTenant scrm.TenantID = "race"

// pausingStore wraps a segment.Store; the first call of the armed method
// made while armed signals reached and waits for release: ListSegments
// after reading its (correct) result, DeleteSegment and ApplyMembership
// before writing. This opens the window between a Service's check (a
// listing) and its act (a write), or between its profile write and its
// Store write.
type pausingStore struct {
	segment.Store
	mu      sync.Mutex
	armed   bool
	armedOn string // "" or "ListSegments": ListSegments; "DeleteSegment", "ApplyMembership": before that call
	reached chan struct{}
	release chan struct{}
}

func newPausingStore() *pausingStore {
	return &pausingStore{Store: segment.NewMemoryStore(), reached: make(chan struct{}), release: make(chan struct{})}
}

func (s *pausingStore) ListSegments(ctx context.Context, tenant scrm.TenantID) (segment.SegmentList, error) {
	list, err := s.Store.ListSegments(ctx, tenant)
	s.pause("ListSegments")
	return list, err
}

func (s *pausingStore) DeleteSegment(ctx context.Context, tenant scrm.TenantID, id string) error {
	s.pause("DeleteSegment")
	return s.Store.DeleteSegment(ctx, tenant, id)
}

func (s *pausingStore) ApplyMembership(ctx context.Context, p segment.ApplyMembershipParams) ([]segment.MembershipChange, error) {
	s.pause("ApplyMembership")
	return s.Store.ApplyMembership(ctx, p)
}

func (s *pausingStore) pause(method string) {
	s.mu.Lock()
	pause := s.armed && (s.armedOn == method || (s.armedOn == "" && method == "ListSegments"))
	if pause {
		s.armed = false
	}
	s.mu.Unlock()
	if pause {
		close(s.reached)
		<-s.release
	}
}

func (s *pausingStore) arm() {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
}

func (s *pausingStore) armOn(method string) {
	s.mu.Lock()
	s.armed, s.armedOn = true, method
	s.mu.Unlock()
}

func raceService(store segment.Store) *segment.Service {
	svc, _ := raceServiceWith(store)
	return svc
}

func raceServiceWith(store segment.Store) (*segment.Service, scrm.ProfileStore) {
	clock := scrmtest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	profiles := scrm.NewMemoryProfileStore()
	return segment.New(store, profiles, &segment.Options{Options: scrm.Options{Clock: clock}}), profiles
}

// TestDeleteAndDefineOfAReaderDoNotBothSucceed: Service.Delete promises
// "ErrConflict, with nothing changed, when other segments' conditions read
// this one". Its check for readers (one ListSegments) and its mark of the
// segment as Deleting are one atomic step of the Store (SaveSegment at the
// list's generation), and Define refuses to read a segment being deleted,
// so a Define of a segment reading the one being deleted that lands between
// Delete's listing and its write is seen. Forced interleaving: Delete("a")
// lists (no readers) and pauses; Define of "b" (When: in segment a)
// succeeds; Delete resumes. Expected: either the Define or the Delete is
// refused, and "b" never reads a deleted segment.
func TestDeleteAndDefineOfAReaderDoNotBothSucceed(t *testing.T) {
	ctx := context.Background()
	store := newPausingStore()
	svc := raceService(store)
	_, err := svc.Define(ctx, segment.Segment{Tenant: raceTenant, ID: "a", When: rule.HasTag("vip")})
	require.NoError(t, err)

	store.arm()
	delErr := make(chan error, 1)
	go func() {
		_, err := svc.Delete(ctx, raceTenant, "a")
		delErr <- err
	}()
	<-store.reached // Delete has checked for readers: none
	_, defErr := svc.Define(ctx, segment.Segment{Tenant: raceTenant, ID: "b", When: rule.InSegment("a")})
	close(store.release)
	dErr := <-delErr

	list, err := svc.List(ctx, raceTenant)
	require.NoError(t, err)
	ids := make([]string, 0, len(list))
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if defErr == nil && dErr == nil {
		t.Errorf("Define of b (reads a) and Delete of a both succeeded; segments left: %v (b reads the deleted segment a)", ids)
	}
	if slices.Contains(ids, "b") && !slices.Contains(ids, "a") {
		t.Errorf("segment b reads a, which was deleted while b was being defined")
	}
}

// TestConcurrentDefinesCannotCloseACycle: Define promises ErrInvalid for a
// condition "that reads its own segment, directly or through other
// segments" (checkCycle: it "would make refreshes and events chase each
// other"). The cycle check (a listing) and the write are one atomic step of
// the Store (SaveSegment at the list's generation; Define checks again when
// it moved), so two Defines that would close a cycle between them cannot
// both pass. Forced interleaving: Define(a reads b) lists (no b) and
// pauses; Define(b reads a) runs to the end; the first resumes. Expected:
// the second of the two is refused, and no cycle is stored.
func TestConcurrentDefinesCannotCloseACycle(t *testing.T) {
	ctx := context.Background()
	store := newPausingStore()
	svc := raceService(store)

	store.arm()
	aErr := make(chan error, 1)
	go func() {
		_, err := svc.Define(ctx, segment.Segment{Tenant: raceTenant, ID: "a", When: rule.InSegment("b")})
		aErr <- err
	}()
	<-store.reached // Define(a) has checked for a cycle: b does not exist yet
	_, bErr := svc.Define(ctx, segment.Segment{Tenant: raceTenant, ID: "b", When: rule.InSegment("a")})
	close(store.release)
	errA := <-aErr

	if errA == nil && bErr == nil {
		list, err := svc.List(ctx, raceTenant)
		require.NoError(t, err)
		var desc []string
		for _, s := range list {
			desc = append(desc, s.ID+" reads "+s.When.Segment)
		}
		t.Errorf("both Defines succeeded and stored a cycle: %v", desc)
	}
}

// TestDeleteMakesCustomersAddedMeanwhileExit: Delete promises that the
// segment's members "exit first, exactly as if they had been removed one by
// one (their profiles no longer say they are in it, and segment.exited
// events are published)". A customer added between Delete's walk of the
// members and its DeleteSegment (Add on a static segment here; Handle on a
// dynamic one is the same) keeps the segment: DeleteSegment refuses while
// members remain, and Delete makes them exit too. Expected: after a
// successful Delete no profile says it is in the segment (every rule
// reading {"segment": "list"}, in other segments, SOP triggers or coupon
// audiences, would otherwise keep matching it, and no segment.exited would
// ever be published).
func TestDeleteMakesCustomersAddedMeanwhileExit(t *testing.T) {
	ctx := context.Background()
	store := newPausingStore()
	svc, profiles := raceServiceWith(store)
	_, err := svc.Define(ctx, segment.Segment{Tenant: raceTenant, ID: "list", Static: true})
	require.NoError(t, err)
	_, err = svc.Add(ctx, raceTenant, "list", "c0")
	require.NoError(t, err)

	store.armOn("DeleteSegment")
	delErr := make(chan error, 1)
	go func() {
		_, err := svc.Delete(ctx, raceTenant, "list")
		delErr <- err
	}()
	<-store.reached // Delete has made c0 exit and is about to drop the segment
	_, addErr := svc.Add(ctx, raceTenant, "list", "c1")
	close(store.release)
	dErr := <-delErr
	require.NoError(t, addErr)
	require.NoError(t, dErr)

	_, err = svc.Get(ctx, raceTenant, "list")
	require.ErrorIs(t, err, scrm.ErrNotFound, "the segment is deleted")
	for _, c := range []scrm.CustomerID{"c0", "c1"} {
		p, err := profiles.Get(ctx, raceTenant, c)
		require.NoError(t, err)
		if p.InSegment("list") {
			t.Errorf("customer %s: profile still says it is in the deleted segment \"list\"", c)
		}
	}
}

// TestAddRacingDeleteTakesBackItsFlag: Add writes the customer's profile
// before the Store records the entry. When a whole Delete lands in between
// (its walk does not see the customer yet), the Store refuses the entry
// (ErrNotFound) and Add takes the flag back off the profile: nothing else
// would ever clear it.
func TestAddRacingDeleteTakesBackItsFlag(t *testing.T) {
	ctx := context.Background()
	store := newPausingStore()
	svc, profiles := raceServiceWith(store)
	_, err := svc.Define(ctx, segment.Segment{Tenant: raceTenant, ID: "list", Static: true})
	require.NoError(t, err)

	store.armOn("ApplyMembership")
	addErr := make(chan error, 1)
	go func() {
		_, err := svc.Add(ctx, raceTenant, "list", "c1")
		addErr <- err
	}()
	<-store.reached // Add has written c1's profile and is about to record it
	_, err = svc.Delete(ctx, raceTenant, "list")
	require.NoError(t, err)
	close(store.release)
	assert.ErrorIs(t, <-addErr, scrm.ErrNotFound, "the segment was deleted before the entry was recorded")

	p, err := profiles.Get(ctx, raceTenant, "c1")
	require.NoError(t, err)
	assert.False(t, p.InSegment("list"), "c1's profile says it is in the deleted segment")
}

// TestHandleRacingDeleteTakesBackItsFlag: Handle, like Add, writes the
// profile before the Store records the entry into a dynamic segment; when
// the segment is deleted in between, the flag is taken back.
func TestHandleRacingDeleteTakesBackItsFlag(t *testing.T) {
	ctx := context.Background()
	store := newPausingStore()
	svc, profiles := raceServiceWith(store)
	bus := scrm.NewDispatcher(scrm.NewProfiles(profiles, nil), svc)
	_, err := svc.Define(ctx, segment.Segment{Tenant: raceTenant, ID: "gold", When: rule.Attr("tier").Eq("gold")})
	require.NoError(t, err)

	store.armOn("ApplyMembership")
	handled := make(chan error, 1)
	go func() {
		handled <- bus.Publish(ctx, scrm.Event{ID: "e1", Tenant: raceTenant, Customer: "c1", Type: scrm.EventAttrsSet,
			Time: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), Props: map[string]any{"attrs": map[string]any{"tier": "gold"}}})
	}()
	<-store.reached // Handle has written c1's profile and is about to record the entry
	_, err = svc.Delete(ctx, raceTenant, "gold")
	require.NoError(t, err)
	close(store.release)
	require.NoError(t, <-handled, "a segment deleted meanwhile is skipped")

	p, err := profiles.Get(ctx, raceTenant, "c1")
	require.NoError(t, err)
	assert.False(t, p.InSegment("gold"), "c1's profile says it is in the deleted segment")
}

// TestSegmentBeingDeletedTakesNoReadersAndIsNotEvaluated: a Delete that
// failed after marking the segment Deleting leaves it so; until Delete is
// called again, no segment may start reading it, Define does not replace
// it, Refresh refuses it and Handle does not evaluate it (no customer
// enters), while RefreshAll still publishes the events it owes.
func TestSegmentBeingDeletedTakesNoReadersAndIsNotEvaluated(t *testing.T) {
	h, f := newFlakyHarness(t)
	h.define(segment.Segment{ID: "gold", When: rule.Attr("tier").Eq("gold")})
	h.attrs("c1", map[string]any{"tier": "gold"})
	require.Equal(t, []scrm.CustomerID{"c1"}, h.members("gold"))
	h.log.take()

	f.failNext(scrm.EventSegmentExited, 1)
	_, err := h.svc.Delete(h.ctx, tenant, "gold")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	seg, err := h.svc.Get(h.ctx, tenant, "gold")
	require.NoError(t, err, "the segment is kept while it owes an event")
	assert.True(t, seg.Deleting)

	_, err = h.svc.Define(h.ctx, segment.Segment{Tenant: tenant, ID: "reader", When: rule.InSegment("gold")})
	assert.ErrorIs(t, err, scrm.ErrConflict, "a segment being deleted takes no readers")
	seg.When = rule.Attr("tier").Eq("silver")
	_, err = h.svc.Define(h.ctx, seg)
	assert.ErrorIs(t, err, scrm.ErrConflict, "a segment being deleted is not replaced")
	_, err = h.svc.Refresh(h.ctx, tenant, "gold")
	assert.ErrorIs(t, err, scrm.ErrConflict, "a segment being deleted is not refreshed")
	h.attrs("c2", map[string]any{"tier": "gold"})
	assert.Empty(t, h.members("gold"), "Handle does not evaluate a segment being deleted")
	assert.False(t, h.profile("c2").InSegment("gold"))
	assert.Empty(t, h.log.take())

	diffs, err := h.svc.RefreshAll(h.ctx, tenant)
	require.NoError(t, err)
	assert.Empty(t, diffs)
	assert.Equal(t, []string{"exited gold c1"}, h.log.take(), "the event it owes is published")

	_, err = h.svc.Delete(h.ctx, tenant, "gold")
	require.NoError(t, err)
	_, err = h.svc.Get(h.ctx, tenant, "gold")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}
