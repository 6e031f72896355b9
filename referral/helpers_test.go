package referral_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

const tenant scrm.TenantID = "t1"

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, scrm.DefaultLocation())

// rewarder records every grant that reaches it, and deduplicates by key as
// the Rewarder contract asks, so tests can count both calls and effects.
type rewarder struct {
	mu    sync.Mutex
	calls []scrm.Grant
	seen  map[string]string
	fail  []error
}

func (r *rewarder) Grant(_ context.Context, g scrm.Grant) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.fail) > 0 {
		err := r.fail[0]
		r.fail = r.fail[1:]
		return err
	}
	r.calls = append(r.calls, g)
	if r.seen == nil {
		r.seen = map[string]string{}
	}
	fp := scrm.Fingerprint(g)
	if old, ok := r.seen[g.IdempotencyKey]; ok {
		return scrm.CheckReplay("rewarder", g.IdempotencyKey, old, fp)
	}
	r.seen[g.IdempotencyKey] = fp
	return nil
}

func (r *rewarder) failNext(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = append(r.fail, err)
}

// Calls returns every grant the rewarder received.
func (r *rewarder) Calls() []scrm.Grant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]scrm.Grant(nil), r.calls...)
}

// For returns the grants to one customer.
func (r *rewarder) For(c scrm.CustomerID) []scrm.Grant {
	var out []scrm.Grant
	for _, g := range r.Calls() {
		if g.Customer == c {
			out = append(out, g)
		}
	}
	return out
}

// sum returns the total Amount granted to c.
func (r *rewarder) sum(c scrm.CustomerID, kind scrm.RewardKind) decimal.Decimal {
	total := decimal.Zero
	for _, g := range r.For(c) {
		if g.Reward.Kind == kind {
			total = total.Add(g.Reward.Amount)
		}
	}
	return total
}

// events records what the Service publishes.
type events struct {
	mu  sync.Mutex
	all []scrm.Event
}

func (e *events) Publish(_ context.Context, ev scrm.Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	return nil
}

// Of returns the distinct events (by ID) of a type, in publish order.
func (e *events) Of(typ string) []scrm.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var out []scrm.Event
	for _, ev := range e.all {
		if ev.Type == typ && !seen[ev.ID] {
			seen[ev.ID] = true
			out = append(out, ev)
		}
	}
	return out
}

type rig struct {
	t        *testing.T
	ctx      context.Context
	clock    *scrmtest.Clock
	pstore   scrm.ProfileStore
	store    referral.Store
	svc      *referral.Service
	rewards  *rewarder
	events   *events
	dispatch *scrm.Dispatcher
	seq      int
}

func newRig(t *testing.T, opts ...func(*referral.Options)) *rig {
	t.Helper()
	r := &rig{t: t, ctx: context.Background(), clock: scrmtest.NewClock(t0), pstore: scrm.NewMemoryProfileStore(),
		store: referral.NewMemoryStore(), rewards: &rewarder{}, events: &events{}}
	ids := 0
	o := &referral.Options{
		Options: scrm.Options{Clock: r.clock, Publisher: r.events,
			NewID: func() string { ids++; return fmt.Sprintf("id%04d", ids) }},
		Rewarder:   r.rewards,
		CodeSecret: func(scrm.TenantID) []byte { return []byte("test secret, 32 bytes long......") },
		Seed:       func() uint64 { return 42 },
	}
	for _, f := range opts {
		f(o)
	}
	r.svc = referral.New(r.store, r.pstore, o)
	r.dispatch = scrm.NewDispatcher(scrm.NewProfiles(r.pstore, &scrm.Options{Clock: r.clock}), r.svc)
	return r
}

func (r *rig) save(p referral.Program) referral.Program {
	r.t.Helper()
	if p.Tenant == "" {
		p.Tenant = tenant
	}
	if p.ID == "" {
		p.ID = "p1"
	}
	require.NoError(r.t, r.svc.SaveProgram(r.ctx, p))
	return p
}

func (r *rig) code(c scrm.CustomerID) string {
	r.t.Helper()
	code, err := r.svc.Code(r.ctx, tenant, c)
	require.NoError(r.t, err)
	return code
}

func (r *rig) bind(invitee, inviter scrm.CustomerID, sig ...referral.Signals) (referral.Binding, error) {
	req := referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: invitee, Code: r.code(inviter)}
	if len(sig) > 0 {
		req.Signals = sig[0]
	}
	return r.svc.Bind(r.ctx, req)
}

func (r *rig) mustBind(invitee, inviter scrm.CustomerID, sig ...referral.Signals) referral.Binding {
	r.t.Helper()
	b, err := r.bind(invitee, inviter, sig...)
	require.NoError(r.t, err)
	return b
}

// event publishes a host event through the dispatcher (profiles, then the
// service) and returns it.
func (r *rig) event(c scrm.CustomerID, typ, amount, order string) scrm.Event {
	r.t.Helper()
	r.seq++
	e := scrm.Event{ID: fmt.Sprintf("ev%04d", r.seq), Tenant: tenant, Customer: c, Type: typ, Time: r.clock.Now()}
	if amount != "" {
		e.Amount = scrm.Yuan(amount)
	}
	if order != "" {
		e.Props = map[string]any{"order_id": order}
	}
	require.NoError(r.t, r.dispatch.Publish(r.ctx, e))
	return e
}

func (r *rig) pay(c scrm.CustomerID, amount, order string) scrm.Event {
	r.t.Helper()
	return r.event(c, scrm.EventOrderPaid, amount, order)
}

func coupon(template string) scrm.Reward {
	return scrm.Reward{Kind: scrm.RewardCoupon, Template: template}
}

func points(n int64) scrm.Reward { return scrm.Reward{Kind: scrm.RewardPoints, Points: n} }

func rates(rs ...string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(rs))
	for i, r := range rs {
		out[i] = scrm.Yuan(r)
	}
	return out
}

// requireRefused asserts err matches both sentinel and reason.
func requireRefused(t *testing.T, err error, sentinel error, reason referral.Reason) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, sentinel, "%v", err)
	require.True(t, errors.Is(err, reason), "want reason %s, got %v (reason %q)", reason, err, referral.ReasonOf(err))
}

func templates(gs []scrm.Grant) []string {
	var out []string
	for _, g := range gs {
		switch {
		case g.Reward.Template != "":
			out = append(out, g.Reward.Template)
		case g.Reward.Points != 0:
			out = append(out, fmt.Sprintf("%s:%d", g.Reward.Kind, g.Reward.Points))
		default:
			out = append(out, fmt.Sprintf("%s:%s", g.Reward.Kind, g.Reward.Amount.StringFixed(2)))
		}
	}
	return out
}
