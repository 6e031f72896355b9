package segment_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// repeatBuyers is the segment most tests use: customers in 上海 with two
// orders in the last 30 days.
func repeatBuyers() segment.Segment {
	return segment.Segment{ID: "repeat", Name: "上海复购", When: rule.All(
		rule.Attr("city").Eq("上海"),
		rule.Event(scrm.EventOrderPaid).Within(30*day).CountGte(2),
	)}
}

// seedCustomers gives c1 (上海, 2 recent orders) a match, and c2 (北京, 2
// orders), c3 (上海, 1 order) none.
func seedCustomers(h *harness) {
	h.attrs("c1", map[string]any{"city": "上海"})
	h.order("c1", 10*day, "120.00")
	h.order("c1", 2*day, "80.00")
	h.attrs("c2", map[string]any{"city": "北京"})
	h.order("c2", 10*day, "50.00")
	h.order("c2", 3*day, "50.00")
	h.attrs("c3", map[string]any{"city": "上海"})
	h.order("c3", 5*day, "300.00")
}

func TestRefreshDiffsAndEvents(t *testing.T) {
	for _, store := range []struct {
		name string
		new  func() scrm.ProfileStore
	}{
		{"List", scrm.NewMemoryProfileStore},
		{"ProfileScanner", func() scrm.ProfileStore { return newScanStore() }},
	} {
		t.Run(store.name, func(t *testing.T) {
			h := newHarnessWith(t, store.new(), nil)
			seedCustomers(h)
			h.define(repeatBuyers())
			assert.Empty(t, h.log.take(), "defining a segment evaluates nothing")

			d := h.refresh("repeat")
			assert.Equal(t, []scrm.CustomerID{"c1"}, d.Entered)
			assert.Empty(t, d.Exited)
			assert.Equal(t, 3, d.Evaluated)
			assert.Equal(t, 1, d.Size)
			assert.Empty(t, d.Unpublished)
			assert.Equal(t, []string{"entered repeat c1"}, h.log.take())
			assert.Equal(t, []scrm.CustomerID{"c1"}, h.members("repeat"))
			h.assertConsistent("repeat", "c1", "c2", "c3")

			d = h.refresh("repeat")
			assert.Empty(t, d.Entered, "a second refresh changes nothing")
			assert.Empty(t, d.Exited)
			assert.Empty(t, h.log.take(), "and publishes nothing")

			// c3 orders again (the Service handles it: see the Handle
			// tests); a month later nobody has two orders in 30 days.
			h.order("c3", 0, "20.00")
			assert.Equal(t, []string{"entered repeat c3"}, h.log.take())
			h.clock.Advance(31 * day)
			d = h.refresh("repeat")
			assert.Empty(t, d.Entered)
			assert.Equal(t, []scrm.CustomerID{"c1", "c3"}, d.Exited)
			assert.Equal(t, 0, d.Size)
			assert.Equal(t, []string{"exited repeat c1", "exited repeat c3"}, h.log.take())
			assert.Empty(t, h.members("repeat"))
			h.assertConsistent("repeat", "c1", "c2", "c3")
		})
	}
}

func TestRefreshEventIDsAreDeterministic(t *testing.T) {
	h := newHarness(t)
	seedCustomers(h)
	h.define(repeatBuyers())
	h.refresh("repeat")
	events := h.log.all()
	require.Len(t, events, 1)
	e := events[0]
	want := segment.MembershipEvent(tenant, "repeat", "c1", true, e.Props["version"].(int64), segment.SourceRefresh, e.Time)
	assert.Equal(t, want.ID, e.ID)
	assert.Equal(t, scrm.EventSegmentEntered, e.Type)
	assert.Equal(t, "repeat", e.Prop("segment"))
	assert.Equal(t, segment.SourceRefresh, e.Prop("source"))
	assert.Regexp(t, `^segment\.entered:repeat:c1:\d+$`, e.ID)

	long := segment.MembershipEvent(tenant, string(make([]byte, 100)), "c1", false, 7, segment.SourceRefresh, t0)
	assert.LessOrEqual(t, len(long.ID), scrm.MaxIDLength, "long IDs are hashed")
	require.NoError(t, long.Validate())
	again := segment.MembershipEvent(tenant, string(make([]byte, 100)), "c1", false, 7, segment.SourceRefresh, t0)
	assert.Equal(t, long.ID, again.ID)
}

func TestRefreshStaticSegment(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	_, err := h.svc.Add(h.ctx, tenant, "list", "c1", "c2")
	require.NoError(t, err)
	h.log.take()
	d := h.refresh("list")
	assert.Equal(t, segment.Diff{Segment: "list", Size: 2}, d, "a static segment has nothing to evaluate")
	assert.Empty(t, h.log.take())
}

func TestRefreshErrors(t *testing.T) {
	h := newHarness(t)
	_, err := h.svc.Refresh(h.ctx, tenant, "missing")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = h.svc.Refresh(h.ctx, "", "x")
	requireField(t, err, "tenant")
	_, err = h.svc.Refresh(h.ctx, tenant, "")
	requireField(t, err, "segment")

	seedCustomers(h)
	h.define(repeatBuyers())
	cctx, cancel := context.WithCancel(h.ctx)
	cancel()
	_, err = h.svc.Refresh(cctx, tenant, "repeat")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, h.members("repeat"), "a cancelled refresh writes nothing")
	assert.False(t, h.profile("c1").InSegment("repeat"))
	assert.Empty(t, h.log.take())
}

func TestRefreshPublishFailure(t *testing.T) {
	fail := true
	boom := errors.New("broker down")
	h := newHarnessWith(t, scrm.NewMemoryProfileStore(), func(next scrm.Publisher) scrm.Publisher {
		return scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
			if fail && e.Type == scrm.EventSegmentEntered {
				return boom
			}
			return next.Publish(ctx, e)
		})
	})
	seedCustomers(h)
	h.define(repeatBuyers())
	d0, err := h.svc.Refresh(h.ctx, tenant, "repeat")
	d := d0
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, []scrm.CustomerID{"c1"}, d.Entered, "the membership change stands")
	require.Len(t, d.Unpublished, 1)
	assert.Equal(t, 1, d.Size)
	assert.Empty(t, h.log.take())
	h.assertConsistent("repeat", "c1")

	// The Store keeps the event as unreported: the next Refresh publishes
	// it again, with the same ID, and then no more.
	fail = false
	d = h.refresh("repeat")
	assert.Empty(t, d.Entered)
	assert.Empty(t, d.Unpublished)
	events := h.log.all()
	require.Len(t, events, 1)
	assert.Equal(t, d0.Unpublished[0].ID, events[0].ID)
	assert.Equal(t, segment.SourceRefresh, events[0].Prop("source"))
	h.log.take()
	h.refresh("repeat")
	assert.Empty(t, h.log.take())
}

func TestRefreshAbsorbedMemberExits(t *testing.T) {
	h := newHarness(t)
	seedCustomers(h)
	h.define(repeatBuyers())
	h.refresh("repeat")
	h.log.take()
	// c1 is merged into c9 behind the Service's back: only the profiles
	// see the merge event.
	require.NoError(t, scrm.NewProfiles(h.profiles, nil).Handle(h.ctx, scrm.MergeEvent(tenant, "c1", "c9", h.clock.Now())))
	d := h.refresh("repeat")
	assert.Equal(t, []scrm.CustomerID{"c9"}, d.Entered, "the survivor has c1's orders and city")
	assert.Equal(t, []scrm.CustomerID{"c1"}, d.Exited, "the absorbed customer leaves")
	assert.Equal(t, []scrm.CustomerID{"c9"}, h.members("repeat"))
}

func TestRefreshAll(t *testing.T) {
	// The Service's events are dropped, so that vip can only learn about
	// repeat's members from the order RefreshAll refreshes them in (with a
	// Dispatcher, Handle would move c1 into vip as soon as it entered
	// repeat).
	h := newHarnessWith(t, scrm.NewMemoryProfileStore(), func(scrm.Publisher) scrm.Publisher {
		return scrm.PublisherFunc(func(context.Context, scrm.Event) error { return nil })
	})
	seedCustomers(h)
	h.attrs("c1", map[string]any{"tier": "gold"})
	// vip reads repeat, so repeat refreshes first and vip sees its result.
	h.define(segment.Segment{ID: "vip", When: rule.All(rule.InSegment("repeat"), rule.Attr("tier").Eq("gold"))})
	h.define(repeatBuyers())
	h.define(segment.Segment{ID: "list", Static: true})
	diffs, err := h.svc.RefreshAll(h.ctx, tenant)
	require.NoError(t, err)
	require.Len(t, diffs, 2, "static segments are not refreshed")
	assert.Equal(t, "repeat", diffs[0].Segment)
	assert.Equal(t, "vip", diffs[1].Segment)
	assert.Equal(t, []scrm.CustomerID{"c1"}, diffs[1].Entered)
	h.assertConsistent("vip", "c1", "c2", "c3")
}

// TestRefreshRacesWithEvents runs refreshes while events stream in for the
// same customers from many goroutines; afterwards the Store, every
// profile's flag and the condition agree for every customer, whatever the
// interleaving.
func TestRefreshRacesWithEvents(t *testing.T) {
	h := newHarness(t)
	const customers = 60
	ids := make([]scrm.CustomerID, customers)
	for i := range ids {
		ids[i] = scrm.CustomerID(fmt.Sprintf("c%03d", i))
		city := "上海"
		if i%4 == 3 {
			city = "杭州"
		}
		h.attrs(ids[i], map[string]any{"city": city})
	}
	h.define(repeatBuyers())
	var mu sync.Mutex // harness.n is not safe for concurrent use
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; i < 40; i++ {
				mu.Lock()
				h.n++
				n := h.n
				mu.Unlock()
				c := ids[r.IntN(customers)]
				typ := scrm.EventOrderPaid
				if r.IntN(3) == 0 {
					typ = scrm.EventAttrsSet // flip the city
				}
				e := scrm.Event{ID: fmt.Sprintf("r%05d", n), Tenant: tenant, Customer: c, Type: typ, Time: t0.Add(-time.Duration(r.IntN(40)) * day), Amount: scrm.Yuan("10")}
				if typ == scrm.EventAttrsSet {
					e.Amount = scrm.Yuan("0")
					e.Props = map[string]any{"attrs": map[string]any{"city": []string{"上海", "杭州"}[r.IntN(2)]}}
				}
				assert.NoError(t, h.bus.Publish(h.ctx, e))
			}
		}(w)
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				_, err := h.svc.Refresh(h.ctx, tenant, "repeat")
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	h.assertConsistent("repeat", ids...)

	// Every change was published once: in the order of the profile
	// versions they were decided at, each customer's events alternate.
	events := h.log.all()
	slices.SortStableFunc(events, func(a, b scrm.Event) int {
		return cmp.Or(cmp.Compare(a.Customer, b.Customer), cmp.Compare(a.Props["version"].(int64), b.Props["version"].(int64)))
	})
	last := map[scrm.CustomerID]string{}
	for _, e := range events {
		assert.NotEqual(t, last[e.Customer], e.Type, "%s: two %s in a row", e.Customer, e.Type)
		last[e.Customer] = e.Type
	}
	for _, c := range ids {
		in, err := h.svc.Contains(h.ctx, tenant, "repeat", c)
		require.NoError(t, err)
		assert.Equal(t, in, last[c] == scrm.EventSegmentEntered, "%s: the last event says otherwise", c)
	}
}

// listPausingStore wraps a segment.Store; once armed, the first
// ListUnreported of a whole segment signals listed after reading its result
// and waits for resume before returning it.
type listPausingStore struct {
	segment.Store
	mu     sync.Mutex
	armed  bool
	listed chan struct{}
	resume chan struct{}
}

func (s *listPausingStore) ListUnreported(ctx context.Context, p segment.ListUnreportedParams) (segment.UnreportedPage, error) {
	page, err := s.Store.ListUnreported(ctx, p)
	s.mu.Lock()
	pause := s.armed && p.Segment != "" && p.Customer == ""
	if pause {
		s.armed = false
	}
	s.mu.Unlock()
	if pause {
		close(s.listed)
		<-s.resume
	}
	return page, err
}

// TestRefreshDoesNotRepublishWhatWasJustReported: a Refresh lists the
// segment's unreported changes while a Handle is publishing one of them;
// the Handle then publishes it, marks it reported and releases it before
// the Refresh gets to it. The Refresh's listing is stale by then, and the
// change is announced once: a segment.entered published twice is a double
// touch for the customer (a welcome coupon or an SOP enrollment twice).
func TestRefreshDoesNotRepublishWhatWasJustReported(t *testing.T) {
	ctx := context.Background()
	store := &listPausingStore{Store: segment.NewMemoryStore(), listed: make(chan struct{}), resume: make(chan struct{})}
	profiles := scrm.NewMemoryProfileStore()
	var (
		mu         sync.Mutex
		entered    []string
		block      bool
		publishing = make(chan struct{})
		proceed    = make(chan struct{})
	)
	pub := scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
		if e.Type != scrm.EventSegmentEntered {
			return nil
		}
		mu.Lock()
		entered = append(entered, e.ID)
		wait := block
		block = false
		mu.Unlock()
		if wait {
			close(publishing)
			<-proceed
		}
		return nil
	})
	svc := segment.New(store, profiles, &segment.Options{Options: scrm.Options{Clock: scrmtest.NewClock(t0), Publisher: pub}})
	seg := repeatBuyers()
	seg.Tenant = tenant
	_, err := svc.Define(ctx, seg)
	require.NoError(t, err)
	feed := func(e scrm.Event) error {
		if err := scrm.NewProfiles(profiles, nil).Handle(ctx, e); err != nil {
			return err
		}
		return svc.Handle(ctx, e)
	}
	require.NoError(t, feed(scrm.Event{ID: "a1", Tenant: tenant, Customer: "c1", Type: scrm.EventAttrsSet, Time: t0.Add(-3 * day),
		Props: map[string]any{"attrs": map[string]any{"city": "上海"}}}))
	require.NoError(t, feed(scrm.Event{ID: "o1", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: t0.Add(-2 * day), Amount: scrm.Yuan("10")}))

	mu.Lock()
	block = true
	mu.Unlock()
	handled := make(chan error, 1)
	go func() { // c1 enters; its event's publishing waits for proceed
		handled <- feed(scrm.Event{ID: "o2", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: t0.Add(-day), Amount: scrm.Yuan("10")})
	}()
	<-publishing
	store.mu.Lock()
	store.armed = true
	store.mu.Unlock()
	refreshed := make(chan error, 1)
	go func() { // lists c1's entry as unreported, then waits for resume
		_, err := svc.Refresh(ctx, tenant, "repeat")
		refreshed <- err
	}()
	<-store.listed
	close(proceed)
	require.NoError(t, <-handled) // published, marked reported, released
	close(store.resume)
	require.NoError(t, <-refreshed)

	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, entered, 1, "c1's entry is announced once: %v", entered)
	in, err := svc.Contains(ctx, tenant, "repeat", "c1")
	require.NoError(t, err)
	assert.True(t, in)
}
