package segment_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
)

// flaky is a Publisher wrapper that refuses the next n events of one type
// and remembers what it refused.
type flaky struct {
	mu      sync.Mutex
	typ     string
	n       int
	refused []scrm.Event
}

func (f *flaky) failNext(typ string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.typ, f.n = typ, n
}

func (f *flaky) wrap(next scrm.Publisher) scrm.Publisher {
	return scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
		f.mu.Lock()
		if e.Type == f.typ && f.n > 0 {
			f.n--
			f.refused = append(f.refused, e)
			f.mu.Unlock()
			return scrm.Errorf(scrm.ErrUnavailable, "test", "broker down")
		}
		f.mu.Unlock()
		return next.Publish(ctx, e)
	})
}

func newFlakyHarness(t *testing.T) (*harness, *flaky) {
	f := &flaky{}
	return newHarnessWith(t, scrm.NewMemoryProfileStore(), f.wrap), f
}

// enterRepeat makes c1 a repeat buyer with a second order whose
// segment.entered the Publisher refuses once; it returns that order.
func enterRepeat(t *testing.T, h *harness, f *flaky) scrm.Event {
	t.Helper()
	h.define(repeatBuyers())
	h.attrs("c1", map[string]any{"city": "上海"})
	h.order("c1", day, "10.00")
	f.failNext(scrm.EventSegmentEntered, 1)
	e := scrm.Event{ID: "order-2", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: h.clock.Now(), Amount: yuan("10.00")}
	err := h.bus.Publish(h.ctx, e)
	require.ErrorIs(t, err, scrm.ErrUnavailable, "the failed publish is reported")
	require.Len(t, f.refused, 1)
	assert.Empty(t, h.log.take())
	h.assertConsistent("repeat", "c1")
	return e
}

func TestHandleRedeliveryRepublishesLostEvent(t *testing.T) {
	h, f := newFlakyHarness(t)
	e := enterRepeat(t, h, f)

	// The host delivers the order again, as the error asks: profile and
	// Store already agree, yet the lost event is published, unchanged.
	require.NoError(t, h.bus.Publish(h.ctx, e))
	events := h.log.all()
	require.Len(t, events, 1)
	lost := f.refused[0]
	assert.Equal(t, lost.ID, events[0].ID)
	assert.Equal(t, scrm.EventSegmentEntered, events[0].Type)
	assert.Equal(t, e.ID, events[0].Prop("cause"))
	assert.Equal(t, segment.SourceEvent, events[0].Prop("source"))
	assert.Equal(t, lost.Time, events[0].Time)
	h.log.take()

	// Once published it is not published again.
	require.NoError(t, h.bus.Publish(h.ctx, e))
	require.NoError(t, h.svc.Handle(h.ctx, e))
	h.refresh("repeat")
	assert.Empty(t, h.log.take())
	h.assertConsistent("repeat", "c1")
}

func TestHandleRepublishesOnTheCustomersNextEvent(t *testing.T) {
	h, f := newFlakyHarness(t)
	enterRepeat(t, h, f)
	h.order("c1", 0, "10.00") // another order: c1 stays in
	events := h.log.all()
	require.Len(t, events, 1)
	assert.Equal(t, f.refused[0].ID, events[0].ID)
}

func TestHandleKeepsReportingWhileThePublisherFails(t *testing.T) {
	h, f := newFlakyHarness(t)
	e := enterRepeat(t, h, f)
	f.failNext(scrm.EventSegmentEntered, 1)
	err := h.bus.Publish(h.ctx, e)
	require.ErrorIs(t, err, scrm.ErrUnavailable, "the republish failed too: redeliver again")
	require.Len(t, f.refused, 2)
	assert.Equal(t, f.refused[0].ID, f.refused[1].ID)
	require.NoError(t, h.bus.Publish(h.ctx, e))
	assert.Equal(t, []string{"entered repeat c1"}, h.log.take())
}

func TestRefreshRepublishesWhatHandleLost(t *testing.T) {
	h, f := newFlakyHarness(t)
	enterRepeat(t, h, f)
	d := h.refresh("repeat")
	assert.Empty(t, d.Entered, "no membership change")
	assert.Equal(t, []string{"entered repeat c1"}, h.log.take())
	h.refresh("repeat")
	assert.Empty(t, h.log.take())
}

func TestStaticAddAgainRepublishes(t *testing.T) {
	h, f := newFlakyHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	f.failNext(scrm.EventSegmentEntered, 1)
	d, err := h.svc.Add(h.ctx, tenant, "list", "c1", "c2")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, d.Entered)
	require.Len(t, d.Unpublished, 1)
	assert.Equal(t, []string{"entered list c2"}, h.log.take())

	d, err = h.svc.Add(h.ctx, tenant, "list", "c1", "c2")
	require.NoError(t, err)
	assert.Empty(t, d.Entered)
	assert.Equal(t, []string{"entered list c1"}, h.log.take())
	_, err = h.svc.Add(h.ctx, tenant, "list", "c1", "c2")
	require.NoError(t, err)
	assert.Empty(t, h.log.take())
}

func TestRefreshAllRepublishesStaticSegments(t *testing.T) {
	h, f := newFlakyHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	_, err := h.svc.Add(h.ctx, tenant, "list", "c1")
	require.NoError(t, err)
	h.log.take()
	f.failNext(scrm.EventSegmentExited, 1)
	_, err = h.svc.Remove(h.ctx, tenant, "list", "c1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Empty(t, h.log.take())

	diffs, err := h.svc.RefreshAll(h.ctx, tenant)
	require.NoError(t, err)
	assert.Empty(t, diffs)
	assert.Equal(t, []string{"exited list c1"}, h.log.take())
}

func TestDeleteWaitsForItsEvents(t *testing.T) {
	h, f := newFlakyHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	_, err := h.svc.Add(h.ctx, tenant, "list", "c1", "c2")
	require.NoError(t, err)
	h.log.take()

	f.failNext(scrm.EventSegmentExited, 1)
	d, err := h.svc.Delete(h.ctx, tenant, "list")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, d.Exited)
	assert.Equal(t, []string{"exited list c2"}, h.log.take())
	_, err = h.svc.Get(h.ctx, tenant, "list")
	require.NoError(t, err, "the segment is kept while it owes an event")
	assert.Empty(t, h.members("list"))

	_, err = h.svc.Delete(h.ctx, tenant, "list")
	require.NoError(t, err)
	assert.Equal(t, []string{"exited list c1"}, h.log.take())
	_, err = h.svc.Get(h.ctx, tenant, "list")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}

// A Service that stopped between recording a change and publishing it
// left it unreported; another instance publishes it.
func TestRefreshPublishesChangesLeftByAStoppedService(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	h.attrs("c1", map[string]any{"city": "上海"})
	p := h.profile("c1")
	_, err := h.svc.Store().ApplyMembership(h.ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "list",
		Changes: []segment.MembershipChange{{Customer: "c1", In: true, Version: p.Version}},
		Report:  true, Source: segment.SourceAdd, At: t0})
	require.NoError(t, err)
	h.refresh("list")
	events := h.log.all()
	require.Len(t, events, 1)
	assert.Equal(t, segment.MembershipEvent(tenant, "list", "c1", true, p.Version, segment.SourceAdd, t0).ID, events[0].ID)
}

func TestMergeExitsStayUnannounced(t *testing.T) {
	h := newHarness(t)
	h.define(repeatBuyers())
	h.define(segment.Segment{ID: "list", Static: true})
	h.attrs("c1", map[string]any{"city": "上海"})
	h.order("c1", day, "10.00")
	h.order("c1", 0, "10.00")
	_, err := h.svc.Add(h.ctx, tenant, "list", "c1")
	require.NoError(t, err)
	h.log.take()
	require.NoError(t, h.bus.Publish(h.ctx, scrm.MergeEvent(tenant, "c1", "c2", h.clock.Now())))
	assert.ElementsMatch(t, []string{"entered list c2", "entered repeat c2"}, h.log.take())
	_, err = h.svc.RefreshAll(h.ctx, tenant)
	require.NoError(t, err)
	h.refresh("list")
	assert.Empty(t, h.log.take(), "the absorbed customer's exits are never announced")
}

// A Publisher that runs the handlers before returning (no queue, unlike
// the Dispatcher) gets each event once, even though Handle runs while the
// event is still unreported.
func TestSynchronousPublisherGetsEachEventOnce(t *testing.T) {
	log := &eventLog{}
	profiles := scrm.NewMemoryProfileStore()
	folder := scrm.NewProfiles(profiles, nil)
	var svc *segment.Service
	pub := scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
		if err := folder.Handle(ctx, e); err != nil {
			return err
		}
		if err := log.Handle(ctx, e); err != nil {
			return err
		}
		return svc.Handle(ctx, e)
	})
	svc = segment.New(segment.NewMemoryStore(), profiles, &segment.Options{Options: scrm.Options{Publisher: pub}})
	ctx := context.Background()
	for _, seg := range []segment.Segment{
		{Tenant: tenant, ID: "sh", When: rule.Attr("city").Eq("上海")},
		{Tenant: tenant, ID: "sh-again", When: rule.InSegment("sh")},
		{Tenant: tenant, ID: "sh-thrice", When: rule.InSegment("sh-again")},
	} {
		_, err := svc.Define(ctx, seg)
		require.NoError(t, err)
	}
	e := scrm.Event{ID: "a1", Tenant: tenant, Customer: "c1", Type: scrm.EventAttrsSet, Time: t0,
		Props: map[string]any{"attrs": map[string]any{"city": "上海"}}}
	require.NoError(t, pub.Publish(ctx, e))
	assert.Equal(t, []string{"entered sh c1", "entered sh-again c1", "entered sh-thrice c1"}, log.take())
}

// Racing Handles of one customer's events, with a Publisher failing now and
// then: every membership change the Store recorded is announced, once the
// failures are retried.
func TestEveryChangeIsAnnouncedEventually(t *testing.T) {
	h, f := newFlakyHarness(t)
	h.define(segment.Segment{ID: "sh", When: rule.Attr("city").Eq("上海")})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%5 == 0 {
				f.failNext(scrm.EventSegmentEntered, 1)
			}
			city := "上海"
			if i%2 == 1 {
				city = "杭州"
			}
			c := scrm.CustomerID(fmt.Sprintf("c%d", i%4))
			_ = h.bus.Publish(h.ctx, scrm.Event{ID: fmt.Sprintf("a%02d", i), Tenant: tenant, Customer: c, Type: scrm.EventAttrsSet,
				Time: t0, Props: map[string]any{"attrs": map[string]any{"city": city}}})
		}(i)
	}
	wg.Wait()
	f.failNext("", 0)
	h.refresh("sh")
	page, err := h.svc.Store().ListUnreported(h.ctx, segment.ListUnreportedParams{Tenant: tenant})
	require.NoError(t, err)
	assert.Empty(t, page.Changes, "nothing is left unreported")
	// Each customer's announced changes alternate and end where it is.
	byCustomer := map[scrm.CustomerID][]scrm.Event{}
	seen := map[string]bool{}
	for _, e := range h.log.all() {
		if !seen[e.ID] {
			seen[e.ID] = true
			byCustomer[e.Customer] = append(byCustomer[e.Customer], e)
		}
	}
	for i := range 4 {
		c := scrm.CustomerID(fmt.Sprintf("c%d", i))
		h.assertConsistent("sh", c)
		in, err := h.svc.Contains(h.ctx, tenant, "sh", c)
		require.NoError(t, err)
		evs := byCustomer[c]
		if !in && len(evs) == 0 {
			continue
		}
		require.NotEmpty(t, evs, "%s", c)
		sortByVersion(evs)
		for j, e := range evs {
			assert.Equal(t, j%2 == 0, e.Type == scrm.EventSegmentEntered, "%s: event %d of %v", c, j, evs)
		}
		assert.Equal(t, in, evs[len(evs)-1].Type == scrm.EventSegmentEntered, "%s ends where it is", c)
	}
}

func sortByVersion(evs []scrm.Event) {
	version := func(e scrm.Event) int64 { v, _ := e.Props["version"].(int64); return v }
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && version(evs[j]) < version(evs[j-1]); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}
