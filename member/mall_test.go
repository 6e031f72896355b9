package member_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// shop is an idempotent Rewarder standing in for the host's coupon service:
// it grants each key once, forwards points and growth to the member
// service, and can be told to fail.
type shop struct {
	mu      sync.Mutex
	granted map[string]scrm.Grant
	calls   int
	to      scrm.Rewarder
	// fail, when set, decides the outcome of each call.
	fail func(ctx context.Context, g scrm.Grant) error
}

func (r *shop) Grant(ctx context.Context, g scrm.Grant) error {
	r.mu.Lock()
	r.calls++
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(ctx, g); err != nil {
			return err
		}
	}
	r.mu.Lock()
	if prev, ok := r.granted[g.IdempotencyKey]; ok {
		r.mu.Unlock()
		if prev != g {
			return scrm.Errorf(scrm.ErrConflict, "shop", "key reused")
		}
		return nil
	}
	r.granted[g.IdempotencyKey] = g
	r.mu.Unlock()
	if r.to != nil && (g.Reward.Kind == scrm.RewardPoints || g.Reward.Kind == scrm.RewardGrowth) {
		return r.to.Grant(ctx, g)
	}
	return nil
}

func (r *shop) grants() []scrm.Grant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]scrm.Grant, 0, len(r.granted))
	for _, g := range r.granted {
		out = append(out, g)
	}
	return out
}

func (r *shop) setFail(f func(ctx context.Context, g scrm.Grant) error) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

type mallFixture struct {
	svc    *member.Service
	store  member.Store
	clock  *scrmtest.Clock
	events *events
	shop   *shop
}

func newMall(t testing.TB, store member.Store) *mallFixture {
	t.Helper()
	if store == nil {
		store = member.NewMemoryStore()
	}
	f := &mallFixture{store: store, clock: scrmtest.NewClock(start), events: &events{}, shop: &shop{granted: map[string]scrm.Grant{}}}
	f.svc = member.New(store, nil, &member.Options{Options: scrm.Options{Clock: f.clock, Publisher: f.events}, Rewarder: f.shop})
	f.shop.to = f.svc
	_, err := f.svc.PutProgram(context.Background(), standard())
	require.NoError(t, err)
	return f
}

// coffee is a coupon for 120 points, 100 in stock, one per customer.
func coffee() member.CatalogItem {
	return member.CatalogItem{Tenant: tenant, ID: "coffee", Name: "拿铁兑换券", Points: 120,
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "latte", Count: 1}, Stock: 100, PerCustomer: 1}
}

func (f *mallFixture) put(t testing.TB, it member.CatalogItem) member.CatalogItem {
	t.Helper()
	got, err := f.svc.PutCatalogItem(context.Background(), it)
	require.NoError(t, err)
	return got
}

// give imports points into lots expiring after the given numbers of days
// (0: never).
func (f *mallFixture) give(t testing.TB, c scrm.CustomerID, key string, lots map[int]int64) {
	t.Helper()
	var in []member.ImportLot
	for days, pts := range lots {
		l := member.ImportLot{Points: pts}
		if days > 0 {
			l.ExpiresAt = start.AddDate(0, 0, days)
		}
		in = append(in, l)
	}
	_, err := f.svc.Import(context.Background(), member.ImportRequest{Tenant: tenant, Customer: c, IdempotencyKey: key, Lots: in})
	require.NoError(t, err)
}

func (f *mallFixture) exchange(c scrm.CustomerID, item, key string) (member.ExchangeResult, error) {
	return f.svc.Exchange(context.Background(), member.ExchangeRequest{Tenant: tenant, Customer: c, Item: item, IdempotencyKey: key})
}

func (f *mallFixture) points(t testing.TB, c scrm.CustomerID) int64 {
	t.Helper()
	return f.account(t, c).Points
}

func (f *mallFixture) account(t testing.TB, c scrm.CustomerID) member.Account {
	t.Helper()
	a, err := f.svc.Account(context.Background(), tenant, c)
	require.NoError(t, err)
	return a
}

func (f *mallFixture) sold(t testing.TB, id string) int64 {
	t.Helper()
	it, err := f.svc.CatalogItem(context.Background(), tenant, id)
	require.NoError(t, err)
	return it.Sold
}

// checkJournal asserts that the journal explains the balance.
func (f *mallFixture) checkJournal(t testing.TB, c scrm.CustomerID) []member.Entry {
	t.Helper()
	var entries []member.Entry
	var after int64
	for {
		p, err := f.svc.Entries(context.Background(), member.ListEntriesParams{Tenant: tenant, Customer: c, After: after, Limit: 1000})
		require.NoError(t, err)
		entries = append(entries, p.Entries...)
		if p.Next == 0 {
			break
		}
		after = p.Next
	}
	var sum int64
	for _, e := range entries {
		sum += e.Points
	}
	assert.Equal(t, f.points(t, c), sum, "the journal explains the balance")
	return entries
}

func errField(err error) string {
	var se *scrm.Error
	if errors.As(err, &se) {
		return se.Field
	}
	return ""
}

func TestCatalogItemValidate(t *testing.T) {
	long := strings.Repeat("x", 1001)
	tests := []struct {
		name   string
		change func(it *member.CatalogItem)
		field  string
	}{
		{"ok", func(*member.CatalogItem) {}, ""},
		{"no tenant", func(it *member.CatalogItem) { it.Tenant = "" }, "Tenant"},
		{"no id", func(it *member.CatalogItem) { it.ID = "" }, "ID"},
		{"no name", func(it *member.CatalogItem) { it.Name = "" }, "Name"},
		{"long name", func(it *member.CatalogItem) { it.Name = long }, "Name"},
		{"bad utf-8 name", func(it *member.CatalogItem) { it.Name = "\xff" }, "Name"},
		{"free", func(it *member.CatalogItem) { it.Points = 0 }, "Points"},
		{"negative price", func(it *member.CatalogItem) { it.Points = -5 }, "Points"},
		{"no reward kind", func(it *member.CatalogItem) { it.Reward = scrm.Reward{} }, "Reward.Kind"},
		{"coupon without template", func(it *member.CatalogItem) { it.Reward.Template = "" }, "Reward.Template"},
		{"negative coupon count", func(it *member.CatalogItem) { it.Reward.Count = -1 }, "Reward.Count"},
		{"zero points reward", func(it *member.CatalogItem) { it.Reward = scrm.Reward{Kind: scrm.RewardPoints} }, "Reward.Points"},
		{"zero growth reward", func(it *member.CatalogItem) { it.Reward = scrm.Reward{Kind: scrm.RewardGrowth} }, "Reward.Points"},
		{"no stored value", func(it *member.CatalogItem) { it.Reward = scrm.Reward{Kind: scrm.RewardStoredValue} }, "Reward.Amount"},
		{"stored value below the fen", func(it *member.CatalogItem) {
			it.Reward = scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("1.005")}
		}, "Reward.Amount"},
		{"host kind with negative amount", func(it *member.CatalogItem) {
			it.Reward = scrm.Reward{Kind: "gift", Amount: dec("-1")}
		}, "Reward.Amount"},
		{"host kind", func(it *member.CatalogItem) { it.Reward = scrm.Reward{Kind: "gift", Note: "帆布袋"} }, ""},
		{"long note", func(it *member.CatalogItem) { it.Reward.Note = long }, "Reward.Note"},
		{"negative stock", func(it *member.CatalogItem) { it.Stock = -1 }, "Stock"},
		{"negative per customer", func(it *member.CatalogItem) { it.PerCustomer = -1 }, "PerCustomer"},
		{"empty tier", func(it *member.CatalogItem) { it.Tiers = []string{"gold", ""} }, "Tiers[1]"},
		{"tier twice", func(it *member.CatalogItem) { it.Tiers = []string{"gold", "silver", "gold"} }, "Tiers[2]"},
		{"end before start", func(it *member.CatalogItem) { it.Start, it.End = start, start.Add(-time.Second) }, "End"},
		{"end at start", func(it *member.CatalogItem) { it.Start, it.End = start, start }, "End"},
		{"open end", func(it *member.CatalogItem) { it.Start = start }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := coffee()
			tt.change(&it)
			err := it.Validate()
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, tt.field, errField(err))
		})
	}
}

func TestPutCatalogItem(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)

	it := f.put(t, coffee())
	assert.Equal(t, int64(1), it.Version)
	assert.Equal(t, start, it.CreatedAt)
	assert.Equal(t, start, it.UpdatedAt)
	left, limited := it.Left()
	assert.True(t, limited)
	assert.Equal(t, int64(100), left)

	// An update needs the stored version.
	f.clock.Advance(time.Hour)
	it.Points = 150
	it.Sold = 77 // ignored
	upd := f.put(t, it)
	assert.Equal(t, int64(2), upd.Version)
	assert.Equal(t, int64(150), upd.Points)
	assert.Zero(t, upd.Sold)
	assert.Equal(t, start, upd.CreatedAt)
	assert.Equal(t, start.Add(time.Hour), upd.UpdatedAt)
	_, err := f.svc.PutCatalogItem(ctx, it)
	assert.ErrorIs(t, err, scrm.ErrConflict, "version 1 is stale")
	_, err = f.svc.PutCatalogItem(ctx, coffee())
	assert.ErrorIs(t, err, scrm.ErrConflict, "version 0 creates only")

	got, err := f.svc.CatalogItem(ctx, tenant, "coffee")
	require.NoError(t, err)
	assert.Equal(t, upd, got)
	_, err = f.svc.CatalogItem(ctx, tenant, "tea")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = f.svc.CatalogItem(ctx, tenant, "")
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	// Tiers must be the program's.
	bad := coffee()
	bad.ID, bad.Tiers = "vip", []string{"gold", "platinum"}
	_, err = f.svc.PutCatalogItem(ctx, bad)
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Tiers[1]", errField(err))
	_, err = f.svc.CatalogItem(ctx, tenant, "vip")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written on error")

	// Without a Rewarder the service holds only points, growth and stored value.
	own := member.New(nil, nil, nil)
	_, err = own.PutCatalogItem(ctx, coffee())
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Reward.Kind", errField(err))
	pts := coffee()
	pts.Reward = scrm.Reward{Kind: scrm.RewardGrowth, Points: 50}
	_, err = own.PutCatalogItem(ctx, pts)
	assert.NoError(t, err)

	// The catalog lists every item by ID.
	for _, id := range []string{"tea", "bag", "cake"} {
		c := coffee()
		c.ID = id
		f.put(t, c)
	}
	var ids []string
	cursor := ""
	for {
		page, err := f.svc.CatalogItems(ctx, member.ListCatalogParams{Tenant: tenant, Cursor: cursor, Limit: 3})
		require.NoError(t, err)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	assert.Equal(t, []string{"bag", "cake", "coffee", "tea"}, ids)
	_, err = f.svc.CatalogItems(ctx, member.ListCatalogParams{})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestExchange(t *testing.T) {
	f := newMall(t, nil)
	f.put(t, coffee())
	// 50 points expiring in 10 days, 100 in 30 days, 200 never.
	f.give(t, "C1", "imp", map[int]int64{10: 50, 30: 100, 0: 200})

	r, err := f.exchange("C1", "coffee", "ex-1")
	require.NoError(t, err)
	assert.False(t, r.Replayed)
	assert.Equal(t, member.ExchangeDone, r.State)
	assert.Equal(t, int64(120), r.Points)
	assert.Equal(t, "拿铁兑换券", r.ItemName)
	assert.Equal(t, int64(1), r.ItemVersion)
	assert.Equal(t, scrm.RewardCoupon, r.Reward.Kind)
	assert.Equal(t, int64(230), r.Balance.Points)
	assert.Equal(t, start, r.CreatedAt)
	assert.Equal(t, start, r.SettledAt)

	// Soonest-expiring first: all 50 of the 10-day lot, 70 of the 30-day one.
	require.Len(t, r.Lots, 2)
	assert.Equal(t, int64(-50), r.Lots[0].Points)
	assert.Equal(t, start.AddDate(0, 0, 10).UTC(), r.Lots[0].ExpiresAt())
	assert.Equal(t, int64(-70), r.Lots[1].Points)
	assert.Equal(t, start.AddDate(0, 0, 30).UTC(), r.Lots[1].ExpiresAt())
	a := f.account(t, "C1")
	assert.Equal(t, int64(230), a.Points)
	require.Len(t, a.Lots, 2)
	assert.Equal(t, int64(30), a.Lots[0].Remaining)
	assert.Equal(t, int64(200), a.Lots[1].Remaining)

	// The reward went through the Rewarder once, under a derived key.
	gs := f.shop.grants()
	require.Len(t, gs, 1)
	assert.Equal(t, scrm.Grant{Tenant: tenant, Customer: "C1", Reward: coffee().Reward, IdempotencyKey: "mall:ex-1", Source: "mall:coffee"}, gs[0])
	assert.Equal(t, int64(1), f.sold(t, "coffee"))

	// The journal records the spend under the request's key.
	entries := f.checkJournal(t, "C1")
	last := entries[len(entries)-1]
	assert.Equal(t, member.EntrySpend, last.Kind)
	assert.Equal(t, int64(-120), last.Points)
	assert.Equal(t, "ex-1", last.Key)
	assert.Equal(t, "mall:coffee", last.Note)

	evs := f.events.ofType(member.EventPointsExchanged)
	require.Len(t, evs, 1)
	assert.Equal(t, "points.exchanged:ex-1", evs[0].ID)
	assert.Equal(t, scrm.CustomerID("C1"), evs[0].Customer)
	assert.Nil(t, evs[0].Props)
	assert.Equal(t, start, evs[0].Time)
	require.NoError(t, evs[0].Validate())

	got, err := f.svc.ExchangeByKey(context.Background(), tenant, "ex-1")
	require.NoError(t, err)
	assert.Equal(t, r.ExchangeRecord, got)
}

func TestExchangePointsReward(t *testing.T) {
	// Points for points (a growth reward, here) go through the Rewarder to
	// the service itself.
	f := newMall(t, nil)
	it := coffee()
	it.ID, it.Reward = "boost", scrm.Reward{Kind: scrm.RewardGrowth, Points: 600}
	f.put(t, it)
	f.give(t, "C1", "imp", map[int]int64{0: 500})
	r, err := f.exchange("C1", "boost", "ex-1")
	require.NoError(t, err)
	assert.Equal(t, member.ExchangeDone, r.State)
	a := f.account(t, "C1")
	assert.Equal(t, int64(380), a.Points)
	assert.Equal(t, int64(600), a.Growth)
	assert.Equal(t, "silver", a.Tier, "the growth upgraded the tier")
}

func TestExchangeRefused(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)
	f.give(t, "C1", "imp-1", map[int]int64{0: 1000})
	f.give(t, "POOR", "imp-2", map[int]int64{0: 119})

	put := func(id string, change func(it *member.CatalogItem)) {
		it := coffee()
		it.ID = id
		change(&it)
		f.put(t, it)
	}
	put("coffee", func(*member.CatalogItem) {})
	put("later", func(it *member.CatalogItem) { it.Start = start.Add(time.Hour) })
	put("gone", func(it *member.CatalogItem) { it.End = start })
	put("gold", func(it *member.CatalogItem) { it.Tiers = []string{"gold", "diamond"} })
	put("one", func(it *member.CatalogItem) { it.Stock = 1 })

	// Use up "one" and C1's "coffee".
	f.give(t, "C2", "imp-3", map[int]int64{0: 1000})
	_, err := f.exchange("C2", "one", "setup-1")
	require.NoError(t, err)
	_, err = f.exchange("C1", "coffee", "setup-2")
	require.NoError(t, err)
	grants := len(f.shop.grants())

	tests := []struct {
		name     string
		req      member.ExchangeRequest
		code     error
		field    string
		customer scrm.CustomerID
	}{
		{"no tenant", member.ExchangeRequest{Customer: "C1", Item: "coffee", IdempotencyKey: "k"}, scrm.ErrInvalid, "Tenant", ""},
		{"no customer", member.ExchangeRequest{Tenant: tenant, Item: "coffee", IdempotencyKey: "k"}, scrm.ErrInvalid, "Customer", ""},
		{"no item", member.ExchangeRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "k"}, scrm.ErrInvalid, "Item", ""},
		{"no key", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "coffee"}, scrm.ErrInvalid, "IdempotencyKey", ""},
		{"bad key", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "coffee", IdempotencyKey: "\xff"}, scrm.ErrInvalid, "IdempotencyKey", ""},
		{"unknown item", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "tea", IdempotencyKey: "k"}, scrm.ErrNotFound, "", "C1"},
		{"no program", member.ExchangeRequest{Tenant: "other", Customer: "C1", Item: "coffee", IdempotencyKey: "k"}, scrm.ErrNotFound, "", ""},
		{"not yet", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "later", IdempotencyKey: "k"}, scrm.ErrExpired, "Start", "C1"},
		{"ended", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "gone", IdempotencyKey: "k"}, scrm.ErrExpired, "End", "C1"},
		{"wrong tier", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "gold", IdempotencyKey: "k"}, scrm.ErrForbidden, "Tiers", "C1"},
		{"sold out", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "one", IdempotencyKey: "k"}, scrm.ErrExhausted, "Stock", "C1"},
		{"over the limit", member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "coffee", IdempotencyKey: "k"}, scrm.ErrExhausted, "PerCustomer", "C1"},
		{"short of points", member.ExchangeRequest{Tenant: tenant, Customer: "POOR", Item: "coffee", IdempotencyKey: "k"}, scrm.ErrExhausted, "Points", "POOR"},
		{"no account", member.ExchangeRequest{Tenant: tenant, Customer: "NEW", Item: "coffee", IdempotencyKey: "k"}, scrm.ErrExhausted, "Points", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before member.Account
			if tt.customer != "" {
				before = f.account(t, tt.customer)
			}
			soldBefore := map[string]int64{}
			for _, id := range []string{"coffee", "later", "gone", "gold", "one"} {
				soldBefore[id] = f.sold(t, id)
			}
			r, err := f.svc.Exchange(ctx, tt.req)
			require.ErrorIs(t, err, tt.code)
			assert.Equal(t, tt.field, errField(err))
			assert.Empty(t, r.Key)

			// Nothing written: balances, counts, grants, the key.
			if tt.customer != "" {
				assert.Equal(t, before, f.account(t, tt.customer))
			}
			for id, n := range soldBefore {
				assert.Equal(t, n, f.sold(t, id), id)
			}
			assert.Len(t, f.shop.grants(), grants)
			_, err = f.svc.ExchangeByKey(ctx, tenant, "k")
			if tt.req.Tenant == tenant {
				assert.ErrorIs(t, err, scrm.ErrNotFound)
			}
		})
	}
	_, err = f.svc.Account(ctx, tenant, "NEW")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "a refused exchange creates no account")

	// The key of a refused exchange stays free.
	f.give(t, "POOR", "imp-4", map[int]int64{0: 1})
	r, err := f.exchange("POOR", "coffee", "k")
	require.NoError(t, err)
	assert.Equal(t, int64(0), r.Balance.Points)
}

func TestExchangeTiers(t *testing.T) {
	f := newMall(t, nil)
	it := coffee()
	it.Tiers = []string{"silver", "gold"}
	f.put(t, it)
	f.give(t, "C1", "imp", map[int]int64{0: 1000})
	_, err := f.exchange("C1", "coffee", "k1")
	require.ErrorIs(t, err, scrm.ErrForbidden)
	assert.Contains(t, err.Error(), "the customer's tier is normal")

	// ¥600 makes C1 银卡.
	_, err = f.svc.Earn(context.Background(), member.EarnRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "pay", OrderID: "o1", Amount: dec("600.00")})
	require.NoError(t, err)
	r, err := f.exchange("C1", "coffee", "k1")
	require.NoError(t, err)
	assert.Equal(t, int64(1000+600-120), r.Balance.Points, "600 earned at the 普卡 rate")
}

func TestExchangeWindow(t *testing.T) {
	f := newMall(t, nil)
	it := coffee()
	it.PerCustomer = 0
	it.Start, it.End = start.Add(time.Hour), start.Add(2*time.Hour)
	f.put(t, it)
	f.give(t, "C1", "imp", map[int]int64{0: 1000})
	_, err := f.exchange("C1", "coffee", "k1")
	assert.ErrorIs(t, err, scrm.ErrExpired)
	f.clock.Set(it.Start)
	_, err = f.exchange("C1", "coffee", "k1")
	assert.NoError(t, err, "Start is included")
	f.clock.Set(it.End.Add(-time.Nanosecond))
	_, err = f.exchange("C1", "coffee", "k2")
	assert.NoError(t, err)
	f.clock.Set(it.End)
	_, err = f.exchange("C1", "coffee", "k3")
	require.ErrorIs(t, err, scrm.ErrExpired, "End is excluded")
	assert.Equal(t, "End", errField(err))

	// A replay after the window returns the exchange made in it.
	r, err := f.exchange("C1", "coffee", "k1")
	require.NoError(t, err)
	assert.True(t, r.Replayed)
}

func TestExchangeReplay(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)
	it := f.put(t, coffee())
	tea := coffee()
	tea.ID = "tea"
	f.put(t, tea)
	f.give(t, "C1", "imp-1", map[int]int64{0: 1000})
	f.give(t, "C2", "imp-2", map[int]int64{0: 1000})

	first, err := f.exchange("C1", "coffee", "k1")
	require.NoError(t, err)

	// The price changes; the replay is the exchange as made.
	it.Points = 10
	f.put(t, it)
	again, err := f.exchange("C1", "coffee", "k1")
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.ExchangeRecord, again.ExchangeRecord)
	assert.Equal(t, int64(880), f.points(t, "C1"), "charged once")
	assert.Equal(t, int64(1), f.sold(t, "coffee"))
	assert.Len(t, f.shop.grants(), 1)
	evs := f.events.ofType(member.EventPointsExchanged)
	require.Len(t, evs, 2, "the replay republishes, under the same ID")
	assert.Equal(t, evs[0].ID, evs[1].ID)

	for name, req := range map[string]member.ExchangeRequest{
		"another item":     {Tenant: tenant, Customer: "C1", Item: "tea", IdempotencyKey: "k1"},
		"another customer": {Tenant: tenant, Customer: "C2", Item: "coffee", IdempotencyKey: "k1"},
	} {
		_, err := f.svc.Exchange(ctx, req)
		assert.ErrorIs(t, err, scrm.ErrConflict, name)
		assert.Equal(t, "IdempotencyKey", errField(err), name)
	}
	assert.Equal(t, int64(1000), f.points(t, "C2"))
	assert.Zero(t, f.sold(t, "tea"))

	// The mall's keys are its own, apart from the ledger's.
	r, err := f.exchange("C2", "coffee", "imp-2")
	require.NoError(t, err)
	assert.Equal(t, int64(990), r.Balance.Points, "at the new price")
	_, err = f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "k1", OrderID: "o1", Amount: dec("10.00")})
	require.NoError(t, err)
	assert.Equal(t, int64(890), f.points(t, "C1"))
}

func TestExchangeGrantFails(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)
	f.put(t, coffee())
	f.give(t, "C1", "imp", map[int]int64{10: 50, 30: 100, 0: 200})
	before := f.account(t, "C1")
	refusal := scrm.Errorf(scrm.ErrExhausted, "coupon.Issue", "template latte is out of stock")
	f.shop.setFail(func(context.Context, scrm.Grant) error { return refusal })

	r, err := f.exchange("C1", "coffee", "k1")
	require.Error(t, err)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, refusal, "the Rewarder's error is wrapped")
	assert.Equal(t, member.ExchangeRefunded, r.State)
	assert.Equal(t, int64(120), r.Returned)
	assert.Zero(t, r.Forfeited)
	assert.Equal(t, int64(350), r.Balance.Points)
	assert.Equal(t, refusal.Error(), r.Reason)
	assert.Equal(t, start, r.SettledAt)

	// Points back in the lots they came from, stock and count given back.
	after := f.account(t, "C1")
	assert.Equal(t, before.Points, after.Points)
	require.Len(t, after.Lots, len(before.Lots))
	for i := range before.Lots {
		assert.Equal(t, before.Lots[i].ID, after.Lots[i].ID)
		assert.Equal(t, before.Lots[i].Remaining, after.Lots[i].Remaining)
		assert.Equal(t, before.Lots[i].Expiry, after.Lots[i].Expiry)
	}
	assert.Zero(t, f.sold(t, "coffee"))
	assert.Empty(t, f.shop.grants())
	assert.Empty(t, f.events.ofType(member.EventPointsExchanged))
	entries := f.checkJournal(t, "C1")
	require.GreaterOrEqual(t, len(entries), 2)
	spend, refund := entries[len(entries)-2], entries[len(entries)-1]
	assert.Equal(t, member.EntrySpend, spend.Kind)
	assert.Equal(t, member.EntryRefund, refund.Kind)
	assert.Equal(t, int64(120), refund.Points)
	assert.Equal(t, "k1", refund.Key)
	assert.Equal(t, "mall:coffee", refund.Note)

	// A replay returns the refunded exchange and its error again, and
	// changes nothing, even once the Rewarder works again.
	f.shop.setFail(nil)
	again, err := f.exchange("C1", "coffee", "k1")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.True(t, again.Replayed)
	assert.Equal(t, member.ExchangeRefunded, again.State)
	assert.Equal(t, int64(350), f.points(t, "C1"))
	assert.Empty(t, f.shop.grants())

	// The customer's count was given back: a new key exchanges.
	r, err = f.exchange("C1", "coffee", "k2")
	require.NoError(t, err)
	assert.Equal(t, member.ExchangeDone, r.State)
	assert.Equal(t, int64(230), r.Balance.Points)

	page, err := f.svc.Exchanges(ctx, member.ListExchangesParams{Tenant: tenant, Customer: "C1"})
	require.NoError(t, err)
	require.Len(t, page.Exchanges, 2)
	assert.Equal(t, "k2", page.Exchanges[0].Key)
	assert.Equal(t, member.ExchangeDone, page.Exchanges[0].State)
	assert.Equal(t, "k1", page.Exchanges[1].Key)
	assert.Equal(t, member.ExchangeRefunded, page.Exchanges[1].State)
}

func TestExchangeRefundForfeitsExpiredLots(t *testing.T) {
	// The grant fails after the lot the points came from expired: those
	// points are forfeited, as with order refunds.
	f := newMall(t, nil)
	f.put(t, coffee())
	f.give(t, "C1", "imp", map[int]int64{1: 100, 0: 100})
	f.shop.setFail(func(context.Context, scrm.Grant) error {
		f.clock.Advance(48 * time.Hour)
		return errors.New("coupon service said no")
	})
	r, err := f.exchange("C1", "coffee", "k1")
	require.ErrorIs(t, err, scrm.ErrUnavailable, "a plain error is a refusal too")
	assert.Equal(t, member.ExchangeRefunded, r.State)
	assert.Equal(t, int64(20), r.Returned)
	assert.Equal(t, int64(100), r.Forfeited)
	assert.Equal(t, int64(100), r.Balance.Points)
	assert.Equal(t, int64(100), f.points(t, "C1"))
	entries := f.checkJournal(t, "C1")
	assert.Equal(t, int64(100), entries[len(entries)-1].Forfeited)
	assert.Zero(t, f.sold(t, "coffee"))
}

// crashing wraps a Store so that chosen steps fail after (or instead of)
// doing their work, as a crash of the process between steps would.
type crashing struct {
	member.Store
	mu sync.Mutex
	// afterCharge: the charge is saved, then the call fails.
	afterCharge bool
	// complete: CompleteExchange fails without doing anything.
	complete bool
}

var errCrash = scrm.Errorf(scrm.ErrUnavailable, "test", "crashed")

func (c *crashing) ChargeExchange(ctx context.Context, p member.ChargeExchangeParams, fn func(tx *member.ExchangeTx) error) (member.ChargeExchangeResult, error) {
	res, err := c.Store.ChargeExchange(ctx, p, fn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && !res.Replayed && c.afterCharge {
		c.afterCharge = false
		return member.ChargeExchangeResult{}, errCrash
	}
	return res, err
}

func (c *crashing) CompleteExchange(ctx context.Context, p member.SettleExchangeParams) (member.ExchangeRecord, error) {
	c.mu.Lock()
	crash := c.complete
	c.complete = false
	c.mu.Unlock()
	if crash {
		return member.ExchangeRecord{}, errCrash
	}
	return c.Store.CompleteExchange(ctx, p)
}

func TestExchangeResumesAfterCrash(t *testing.T) {
	t.Run("BetweenChargeAndGrant", func(t *testing.T) {
		store := &crashing{Store: member.NewMemoryStore(), afterCharge: true}
		f := newMall(t, store)
		f.put(t, coffee())
		f.give(t, "C1", "imp", map[int]int64{0: 500})
		_, err := f.exchange("C1", "coffee", "k1")
		require.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.Equal(t, int64(380), f.points(t, "C1"), "charged")
		assert.Empty(t, f.shop.grants(), "not yet granted")

		// A retry within the lease finds it in progress.
		f.clock.Advance(10 * time.Second)
		r, err := f.exchange("C1", "coffee", "k1")
		require.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.NotErrorIs(t, err, scrm.ErrConflict, "in progress is not a reused key")
		assert.Equal(t, member.ExchangePending, r.State)
		assert.True(t, r.Replayed)

		// Once the lease ran out, the retry resumes and finishes it.
		f.clock.Advance(member.ExchangeLease)
		r, err = f.exchange("C1", "coffee", "k1")
		require.NoError(t, err)
		assert.True(t, r.Replayed)
		assert.Equal(t, member.ExchangeDone, r.State)
		assert.Equal(t, int64(2), r.Attempt)
		assert.Len(t, f.shop.grants(), 1)
		assert.Equal(t, int64(380), f.points(t, "C1"), "charged once")
		assert.Equal(t, int64(1), f.sold(t, "coffee"))
	})

	t.Run("BetweenGrantAndComplete", func(t *testing.T) {
		store := &crashing{Store: member.NewMemoryStore(), complete: true}
		f := newMall(t, store)
		f.put(t, coffee())
		f.give(t, "C1", "imp", map[int]int64{0: 500})
		r, err := f.exchange("C1", "coffee", "k1")
		require.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.Equal(t, member.ExchangePending, r.State)
		require.Len(t, f.shop.grants(), 1, "granted")

		f.clock.Advance(member.ExchangeLease)
		r, err = f.exchange("C1", "coffee", "k1")
		require.NoError(t, err)
		assert.Equal(t, member.ExchangeDone, r.State)
		assert.Equal(t, 2, f.shop.calls, "granted again under the same key")
		assert.Len(t, f.shop.grants(), 1, "which the Rewarder deduplicates")
		assert.Equal(t, int64(380), f.points(t, "C1"))
	})

	t.Run("ContextDoneDuringGrant", func(t *testing.T) {
		// The grant may be in flight when the caller gives up: the exchange
		// stays pending rather than being refunded.
		f := newMall(t, nil)
		f.put(t, coffee())
		f.give(t, "C1", "imp", map[int]int64{0: 500})
		ctx, cancel := context.WithCancel(context.Background())
		f.shop.setFail(func(context.Context, scrm.Grant) error {
			cancel()
			return ctx.Err()
		})
		r, err := f.svc.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "coffee", IdempotencyKey: "k1"})
		require.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.Equal(t, member.ExchangePending, r.State)
		assert.Equal(t, int64(380), f.points(t, "C1"))

		f.shop.setFail(nil)
		res, err := f.svc.ResumeExchanges(context.Background(), tenant)
		require.NoError(t, err)
		assert.Equal(t, member.ResumeResult{}, res, "nothing due while the lease runs")

		f.clock.Advance(member.ExchangeLease)
		res, err = f.svc.ResumeExchanges(context.Background(), tenant)
		require.NoError(t, err)
		assert.Equal(t, member.ResumeResult{Resumed: 1, Done: 1}, res)
		got, err := f.svc.ExchangeByKey(context.Background(), tenant, "k1")
		require.NoError(t, err)
		assert.Equal(t, member.ExchangeDone, got.State)
		assert.Len(t, f.shop.grants(), 1)
		res, err = f.svc.ResumeExchanges(context.Background(), tenant)
		require.NoError(t, err)
		assert.Equal(t, member.ResumeResult{}, res, "nothing left")

		// The retry of the key afterwards is a plain replay.
		r, err = f.exchange("C1", "coffee", "k1")
		require.NoError(t, err)
		assert.Equal(t, member.ExchangeDone, r.State)
		assert.True(t, r.Replayed)
	})

	t.Run("ResumeRefunds", func(t *testing.T) {
		store := &crashing{Store: member.NewMemoryStore(), afterCharge: true}
		f := newMall(t, store)
		f.put(t, coffee())
		f.give(t, "C1", "imp", map[int]int64{0: 500})
		_, err := f.exchange("C1", "coffee", "k1")
		require.ErrorIs(t, err, scrm.ErrUnavailable)
		f.shop.setFail(func(context.Context, scrm.Grant) error {
			return scrm.Errorf(scrm.ErrNotFound, "coupon", "no template latte")
		})
		f.clock.Advance(member.ExchangeLease)
		res, err := f.svc.ResumeExchanges(context.Background(), tenant)
		require.NoError(t, err)
		assert.Equal(t, member.ResumeResult{Resumed: 1, Refunded: 1}, res)
		assert.Equal(t, int64(500), f.points(t, "C1"))
		assert.Zero(t, f.sold(t, "coffee"))
		f.checkJournal(t, "C1")
	})
}

func TestExchangeStockRace(t *testing.T) {
	// Stock 100, 1,000 customers with enough points racing: exactly 100
	// exchanges, 100 × 120 points deducted, nobody charged without one.
	f := newMall(t, nil)
	f.put(t, coffee())
	const customers = 1000
	id := func(i int) scrm.CustomerID { return scrm.CustomerID(fmt.Sprintf("C%04d", i)) }
	for i := 0; i < customers; i++ {
		f.give(t, id(i), fmt.Sprintf("imp-%d", i), map[int]int64{30: 100, 0: 400})
	}
	var wg sync.WaitGroup
	results := make([]member.ExchangeResult, customers)
	errs := make([]error, customers)
	gate := make(chan struct{})
	for i := 0; i < customers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			results[i], errs[i] = f.exchange(id(i), "coffee", fmt.Sprintf("ex-%d", i))
		}()
	}
	close(gate)
	wg.Wait()

	var won int
	var charged int64
	for i := 0; i < customers; i++ {
		a := f.account(t, id(i))
		charged += 500 - a.Points
		switch {
		case errs[i] == nil:
			won++
			assert.Equal(t, member.ExchangeDone, results[i].State)
			assert.Equal(t, int64(380), a.Points)
			assert.Equal(t, int64(380), results[i].Balance.Points)
		case errors.Is(errs[i], scrm.ErrExhausted):
			assert.Equal(t, "Stock", errField(errs[i]))
			assert.Equal(t, int64(500), a.Points, "nobody is charged without an exchange")
			for _, e := range f.checkJournal(t, id(i)) {
				assert.NotEqual(t, member.EntrySpend, e.Kind, "a refused charge writes nothing")
			}
		default:
			t.Errorf("customer %d: unexpected error %v", i, errs[i])
		}
	}
	assert.Equal(t, 100, won)
	assert.Equal(t, int64(100*120), charged)
	assert.Equal(t, int64(100), f.sold(t, "coffee"))
	assert.Len(t, f.shop.grants(), 100)
	assert.Len(t, f.events.ofType(member.EventPointsExchanged), 100)
}

func TestExchangeConcurrentRetriesGrantOnce(t *testing.T) {
	// Many retries of one interrupted exchange race once its lease ran out:
	// one takes it over, grants and completes; the Rewarder sees one key.
	store := &crashing{Store: member.NewMemoryStore(), afterCharge: true}
	f := newMall(t, store)
	f.put(t, coffee())
	f.give(t, "C1", "imp", map[int]int64{0: 500})
	_, err := f.exchange("C1", "coffee", "k1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	f.clock.Advance(member.ExchangeLease)

	var wg sync.WaitGroup
	var mu sync.Mutex
	states := map[member.ExchangeState]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.exchange("C1", "coffee", "k1")
			if err != nil {
				assert.ErrorIs(t, err, scrm.ErrUnavailable, "in progress")
				assert.NotErrorIs(t, err, scrm.ErrConflict)
			}
			mu.Lock()
			states[r.State]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	assert.GreaterOrEqual(t, states[member.ExchangeDone], 1)
	assert.Len(t, f.shop.grants(), 1)
	got, err := f.svc.ExchangeByKey(context.Background(), tenant, "k1")
	require.NoError(t, err)
	assert.Equal(t, member.ExchangeDone, got.State)
	assert.Equal(t, int64(2), got.Attempt, "taken over once")
	assert.Equal(t, int64(380), f.points(t, "C1"))
}

func TestExchanges(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)
	it := coffee()
	it.PerCustomer, it.Points = 0, 10
	f.put(t, it)
	f.give(t, "C1", "imp", map[int]int64{0: 1000})
	for i := 1; i <= 5; i++ {
		f.clock.Advance(time.Minute)
		_, err := f.exchange("C1", "coffee", fmt.Sprintf("k%d", i))
		require.NoError(t, err)
	}
	var keys []string
	cursor := ""
	for {
		page, err := f.svc.Exchanges(ctx, member.ListExchangesParams{Tenant: tenant, Customer: "C1", Cursor: cursor, Limit: 2})
		require.NoError(t, err)
		for _, r := range page.Exchanges {
			keys = append(keys, r.Key)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	assert.Equal(t, []string{"k5", "k4", "k3", "k2", "k1"}, keys)
	_, err := f.svc.Exchanges(ctx, member.ListExchangesParams{Tenant: tenant})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	_, err = f.svc.Exchanges(ctx, member.ListExchangesParams{Tenant: tenant, Customer: "C1", Cursor: "x"})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	_, err = f.svc.ExchangeByKey(ctx, tenant, "nope")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = f.svc.ResumeExchanges(ctx, "")
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestExchangeExpiresDueLotsFirst(t *testing.T) {
	// Lots past their expiry expire before the charge: an exchange never
	// spends an expired point, and points.expired is published.
	f := newMall(t, nil)
	f.put(t, coffee())
	f.give(t, "C1", "imp", map[int]int64{1: 100, 0: 100})
	f.clock.Advance(48 * time.Hour)
	_, err := f.exchange("C1", "coffee", "k1")
	require.ErrorIs(t, err, scrm.ErrExhausted)
	assert.Equal(t, "Points", errField(err))
	assert.Equal(t, int64(100), f.points(t, "C1"))
	f.give(t, "C1", "imp-2", map[int]int64{0: 20})
	r, err := f.exchange("C1", "coffee", "k1")
	require.NoError(t, err)
	assert.Zero(t, r.Balance.Points)
	require.Len(t, f.events.ofType(member.EventPointsExpired), 1)
	f.checkJournal(t, "C1")
}

func TestExchangeTakenOverWhileGranting(t *testing.T) {
	// A slow grant outlives its lease: a retry takes the exchange over,
	// grants and completes it. The first call is then fenced off: whatever
	// its own grant said, it reports the exchange as it stands (done) and
	// neither completes nor refunds it.
	for _, firstRefused := range []bool{false, true} {
		t.Run(fmt.Sprintf("firstRefused=%v", firstRefused), func(t *testing.T) {
			f := newMall(t, nil)
			f.put(t, coffee())
			f.give(t, "C1", "imp", map[int]int64{0: 500})
			var retry member.ExchangeResult
			var retryErr error
			calls := 0
			f.shop.setFail(func(ctx context.Context, g scrm.Grant) error {
				calls++
				if calls > 1 {
					return nil // the retry's grant
				}
				f.clock.Advance(member.ExchangeLease + time.Second)
				f.shop.setFail(nil)
				retry, retryErr = f.exchange("C1", "coffee", "k1")
				f.shop.setFail(func(context.Context, scrm.Grant) error { return nil })
				if firstRefused {
					return errors.New("timed out")
				}
				return nil
			})
			r, err := f.exchange("C1", "coffee", "k1")
			require.NoError(t, retryErr)
			assert.Equal(t, member.ExchangeDone, retry.State)
			assert.Equal(t, int64(2), retry.Attempt)
			require.NoError(t, err)
			assert.Equal(t, member.ExchangeDone, r.State)
			assert.Equal(t, int64(2), r.Attempt)
			assert.Len(t, f.shop.grants(), 1)
			assert.Equal(t, int64(380), f.points(t, "C1"), "charged once, never refunded")
			assert.Equal(t, int64(1), f.sold(t, "coffee"))
			f.checkJournal(t, "C1")
		})
	}
}
