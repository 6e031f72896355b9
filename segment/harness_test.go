package segment_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/segment"
)

const tenant scrm.TenantID = "shop"

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// harness wires a segment Service the way a host does: a Dispatcher
// delivering to scrm.Profiles first, then the Service, then a log of the
// segment events.
type harness struct {
	t        *testing.T
	ctx      context.Context
	clock    *scrmtest.Clock
	profiles scrm.ProfileStore
	svc      *segment.Service
	bus      *scrm.Dispatcher
	log      *eventLog
	n        int
}

func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, scrm.NewMemoryProfileStore(), nil)
}

// newHarnessWith builds a harness over profiles; publisher, when set, wraps
// the Dispatcher the Service publishes to.
func newHarnessWith(t *testing.T, profiles scrm.ProfileStore, publisher func(scrm.Publisher) scrm.Publisher) *harness {
	h := &harness{t: t, ctx: context.Background(), clock: scrmtest.NewClock(t0), profiles: profiles, log: &eventLog{}}
	var svc *segment.Service
	h.bus = scrm.NewDispatcher(
		scrm.NewProfiles(profiles, nil),
		scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error { return svc.Handle(ctx, e) }),
		h.log,
	)
	var pub scrm.Publisher = h.bus
	if publisher != nil {
		pub = publisher(h.bus)
	}
	svc = segment.New(segment.NewMemoryStore(), profiles, &segment.Options{Options: scrm.Options{Clock: h.clock, Publisher: pub}})
	h.svc = svc
	return h
}

// publish feeds one event through the Dispatcher, at the clock's time minus
// ago.
func (h *harness) publish(c scrm.CustomerID, typ string, ago time.Duration, amount string, props map[string]any) scrm.Event {
	h.t.Helper()
	h.n++
	e := scrm.Event{ID: fmt.Sprintf("e%04d", h.n), Tenant: tenant, Customer: c, Type: typ, Time: h.clock.Now().Add(-ago), Props: props}
	if amount != "" {
		e.Amount = scrm.Yuan(amount)
	}
	require.NoError(h.t, h.bus.Publish(h.ctx, e))
	return e
}

func (h *harness) order(c scrm.CustomerID, ago time.Duration, amount string) scrm.Event {
	h.t.Helper()
	return h.publish(c, scrm.EventOrderPaid, ago, amount, nil)
}

func (h *harness) attrs(c scrm.CustomerID, attrs map[string]any) {
	h.t.Helper()
	h.publish(c, scrm.EventAttrsSet, 0, "", map[string]any{"attrs": attrs})
}

func (h *harness) define(seg segment.Segment) segment.Segment {
	h.t.Helper()
	seg.Tenant = tenant
	got, err := h.svc.Define(h.ctx, seg)
	require.NoError(h.t, err)
	return got
}

func (h *harness) refresh(id string) segment.Diff {
	h.t.Helper()
	d, err := h.svc.Refresh(h.ctx, tenant, id)
	require.NoError(h.t, err)
	return d
}

func (h *harness) profile(c scrm.CustomerID) *scrm.Profile {
	h.t.Helper()
	p, err := h.profiles.Get(h.ctx, tenant, c)
	require.NoError(h.t, err)
	return p
}

// members returns every member of a segment, paging through Members.
func (h *harness) members(seg string) []scrm.CustomerID {
	h.t.Helper()
	var out []scrm.CustomerID
	cursor := ""
	for {
		page, err := h.svc.Members(h.ctx, tenant, seg, cursor, 2)
		require.NoError(h.t, err)
		out = append(out, page.Customers...)
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// assertConsistent checks that the Store, the profiles' flags and, for a
// dynamic segment, the condition agree for every given customer.
func (h *harness) assertConsistent(seg string, customers ...scrm.CustomerID) {
	h.t.Helper()
	s, err := h.svc.Get(h.ctx, tenant, seg)
	require.NoError(h.t, err)
	for _, c := range customers {
		p := h.profile(c)
		in, err := h.svc.Contains(h.ctx, tenant, seg, c)
		require.NoError(h.t, err)
		assert.Equal(h.t, in, p.InSegment(seg), "%s: the Store and the profile disagree on %s", seg, c)
		if !s.Static {
			assert.Equal(h.t, evalAt(h.t, s, p, h.clock.Now()), in, "%s: membership of %s does not match the condition", seg, c)
		}
	}
}

// eventLog records the segment events that reach the Dispatcher.
type eventLog struct {
	mu     sync.Mutex
	events []scrm.Event
}

func (l *eventLog) Handle(_ context.Context, e scrm.Event) error {
	if e.Type != scrm.EventSegmentEntered && e.Type != scrm.EventSegmentExited {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return nil
}

// take returns the events logged since the last take, as "entered seg c1"
// lines.
func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		kind := "entered"
		if e.Type == scrm.EventSegmentExited {
			kind = "exited"
		}
		out = append(out, fmt.Sprintf("%s %s %s", kind, e.Prop("segment"), e.Customer))
	}
	l.events = nil
	return out
}

func (l *eventLog) all() []scrm.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]scrm.Event(nil), l.events...)
}

// requireField asserts err is an ErrInvalid naming field.
func requireField(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, scrm.ErrInvalid)
	var e *scrm.Error
	require.True(t, errors.As(err, &e), "want a *scrm.Error, got %T", err)
	assert.Equal(t, field, e.Field, "error: %v", err)
}

func yuan(s string) decimal.Decimal { return scrm.Yuan(s) }

const day = 24 * time.Hour

func evalAt(t *testing.T, s segment.Segment, p *scrm.Profile, now time.Time) bool {
	t.Helper()
	prog, err := rule.Compile(s.When, nil)
	require.NoError(t, err)
	return prog.Eval(p, now)
}
