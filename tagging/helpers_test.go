package tagging_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/tagging"
)

const tenant scrm.TenantID = "shop"

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, scrm.DefaultLocation())

const day = 24 * time.Hour

// harness wires a Service the way a host does: Profiles first in a
// Dispatcher that is also the Service's Publisher.
type harness struct {
	t        *testing.T
	ctx      context.Context
	clock    *scrmtest.Clock
	ps       scrm.ProfileStore
	profiles *scrm.Profiles
	store    tagging.Store
	svc      *tagging.Service
	d        *scrm.Dispatcher

	mu     sync.Mutex
	events []scrm.Event // every tag.applied / tag.removed delivered
	n      int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: scrmtest.NewClock(t0), ps: scrm.NewMemoryProfileStore(), store: tagging.NewMemoryStore()}
	h.profiles = scrm.NewProfiles(h.ps, nil)
	h.svc = tagging.New(h.store, h.ps, &tagging.Options{Options: scrm.Options{
		Clock:     h.clock,
		Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return h.d.Publish(ctx, e) }),
	}})
	h.d = scrm.NewDispatcher(h.profiles, h.svc, scrm.HandlerFunc(func(_ context.Context, e scrm.Event) error {
		if e.Type == scrm.EventTagApplied || e.Type == scrm.EventTagRemoved {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		}
		return nil
	}))
	return h
}

func (h *harness) group(id string, exclusive bool) {
	h.t.Helper()
	_, err := h.svc.PutGroup(h.ctx, tenant, tagging.Group{ID: id, Name: id, Exclusive: exclusive})
	require.NoError(h.t, err)
}

func (h *harness) tag(id, group string) {
	h.t.Helper()
	_, err := h.svc.PutTag(h.ctx, tenant, tagging.Tag{ID: id, Name: id, Group: group})
	require.NoError(h.t, err)
}

func (h *harness) rule(r tagging.Rule) {
	h.t.Helper()
	_, err := h.svc.PutRule(h.ctx, tenant, r)
	require.NoError(h.t, err)
}

// publish feeds one event at the clock's time and returns it.
func (h *harness) publish(c scrm.CustomerID, typ string, amount string, props map[string]any) scrm.Event {
	h.t.Helper()
	h.n++
	e := scrm.Event{ID: "e" + strconv.Itoa(h.n), Tenant: tenant, Customer: c, Type: typ, Time: h.clock.Now(), Props: props}
	if amount != "" {
		e.Amount = scrm.Yuan(amount)
	}
	require.NoError(h.t, h.d.Publish(h.ctx, e))
	return e
}

func (h *harness) profile(c scrm.CustomerID) *scrm.Profile {
	h.t.Helper()
	p, err := h.profiles.Get(h.ctx, tenant, c)
	require.NoError(h.t, err)
	return p
}

// tags returns the customer's tag IDs, sorted.
func (h *harness) tags(c scrm.CustomerID) []string {
	h.t.Helper()
	p, err := h.profiles.Get(h.ctx, tenant, c)
	if err != nil {
		return nil
	}
	var out []string
	for tag := range p.Tags() {
		out = append(out, tag)
	}
	slices.Sort(out)
	return out
}

func (h *harness) count(tag string) int {
	h.t.Helper()
	n, err := h.svc.Count(h.ctx, tenant, tag)
	require.NoError(h.t, err)
	return n
}

func (h *harness) taken() []scrm.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.events
	h.events = nil
	return out
}

// summary describes tag events as "applied 高 C1" lines.
func summary(es []scrm.Event) []string {
	var out []string
	for _, e := range es {
		verb := "applied"
		if e.Type == scrm.EventTagRemoved {
			verb = "removed"
		} else if r, _ := e.Props["refreshed"].(bool); r {
			verb = "refreshed"
		}
		out = append(out, verb+" "+e.Prop("tag")+" "+string(e.Customer))
	}
	return out
}
