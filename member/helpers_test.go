package member_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

const tenant scrm.TenantID = "shop"

var shanghai = scrm.DefaultLocation()

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// events records what a service publishes.
type events struct {
	mu  sync.Mutex
	all []scrm.Event
}

func (r *events) Publish(_ context.Context, e scrm.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, e)
	return nil
}

func (r *events) ofType(typ string) []scrm.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []scrm.Event
	for _, e := range r.all {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// grants records what a service grants through Options.Rewarder, and
// forwards points and growth to the service.
type grants struct {
	mu  sync.Mutex
	all []scrm.Grant
	to  scrm.Rewarder
}

func (g *grants) Grant(ctx context.Context, gr scrm.Grant) error {
	g.mu.Lock()
	g.all = append(g.all, gr)
	to := g.to
	g.mu.Unlock()
	if to != nil && (gr.Reward.Kind == scrm.RewardPoints || gr.Reward.Kind == scrm.RewardGrowth) {
		return to.Grant(ctx, gr)
	}
	return nil
}

func (g *grants) list() []scrm.Grant {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]scrm.Grant(nil), g.all...)
}

type fixture struct {
	svc      *member.Service
	store    member.Store
	clock    *scrmtest.Clock
	events   *events
	grants   *grants
	profiles scrm.ProfileStore
}

// start is a Monday, 10:00 in Shanghai.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)

func newFixture(t testing.TB, p member.Program) *fixture {
	t.Helper()
	f := &fixture{store: member.NewMemoryStore(), clock: scrmtest.NewClock(start), events: &events{}, grants: &grants{},
		profiles: scrm.NewMemoryProfileStore()}
	f.svc = member.New(f.store, f.profiles, &member.Options{
		Options:  scrm.Options{Clock: f.clock, Publisher: f.events},
		Rewarder: f.grants,
	})
	f.grants.to = f.svc
	if p.Tenant == "" {
		p.Tenant = tenant
	}
	_, err := f.svc.PutProgram(context.Background(), p)
	require.NoError(t, err)
	return f
}

// standard is the program of the issue: 普卡 0, 银卡 500, 金卡 2000, 钻卡 5000
// growth, 1 growth and 1 point per yuan, 100 points = ¥1 with a minimum of
// 100, at most 50% of the order, in steps of 100.
func standard() member.Program {
	return member.Program{
		Tenant: tenant,
		Tiers: []member.Tier{
			{ID: "normal", Name: "普卡"},
			{ID: "silver", Name: "银卡", Threshold: 500, PointsMultiplier: dec("1.2"), Deduction: 300},
			{ID: "gold", Name: "金卡", Threshold: 2000, PointsMultiplier: dec("1.5"), Deduction: 1000},
			{ID: "diamond", Name: "钻卡", Threshold: 5000, PointsMultiplier: dec("2"), Deduction: 3000},
		},
		Growth: member.GrowthRule{PerYuan: dec("1")},
		Earn:   member.EarnRule{PointsPerYuan: dec("1")},
		Redeem: member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: dec("0.5"), Step: 100},
	}
}

func (f *fixture) earn(t testing.TB, customer scrm.CustomerID, key, amount string) member.EarnResult {
	t.Helper()
	r, err := f.svc.Earn(context.Background(), member.EarnRequest{Tenant: tenant, Customer: customer,
		IdempotencyKey: key, OrderID: key, Amount: dec(amount)})
	require.NoError(t, err)
	return r
}

func (f *fixture) account(t testing.TB, customer scrm.CustomerID) member.Account {
	t.Helper()
	a, err := f.svc.Account(context.Background(), tenant, customer)
	require.NoError(t, err)
	return a
}

func (f *fixture) journal(t testing.TB, customer scrm.CustomerID) []member.Entry {
	t.Helper()
	var out []member.Entry
	var after int64
	for {
		p, err := f.svc.Entries(context.Background(), member.ListEntriesParams{Tenant: tenant, Customer: customer, After: after, Limit: 1000})
		require.NoError(t, err)
		out = append(out, p.Entries...)
		if p.Next == 0 {
			return out
		}
		after = p.Next
	}
}
