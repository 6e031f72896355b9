package referral_test

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

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// wallet is a PointsSpender over per-customer balances. It is idempotent
// by key, as the contract asks, writes nothing on error, and can be told
// to fail.
type wallet struct {
	mu      sync.Mutex
	balance map[scrm.CustomerID]int64
	seen    map[string]referral.PointsCharge
	calls   int
	fail    []error
}

func newWallet() *wallet {
	return &wallet{balance: map[scrm.CustomerID]int64{}, seen: map[string]referral.PointsCharge{}}
}

func (w *wallet) SpendPoints(_ context.Context, c referral.PointsCharge) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if len(w.fail) > 0 {
		err := w.fail[0]
		w.fail = w.fail[1:]
		return err
	}
	if old, ok := w.seen[c.IdempotencyKey]; ok {
		if old != c {
			return scrm.Errorf(scrm.ErrConflict, "wallet", "key reused")
		}
		return nil
	}
	if w.balance[c.Customer] < c.Points {
		return scrm.Errorf(scrm.ErrExhausted, "wallet", "%s has %d points, needs %d", c.Customer, w.balance[c.Customer], c.Points)
	}
	w.balance[c.Customer] -= c.Points
	w.seen[c.IdempotencyKey] = c
	return nil
}

func (w *wallet) set(c scrm.CustomerID, points int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.balance[c] = points
}

func (w *wallet) get(c scrm.CustomerID) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.balance[c]
}

func (w *wallet) failNext(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fail = append(w.fail, err)
}

// luckyDraw is a lottery running from t0 for 30 days: a ¥8.80 stored-value
// prize (stock 5), a coupon (stock 100), and nothing, weighted 1:1:2.
func luckyDraw() referral.Lottery {
	return referral.Lottery{
		Tenant: tenant, ID: "L1", Name: "五一转盘",
		Prizes: []referral.Prize{
			{ID: "cash", Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("8.80")}, Stock: 5, Weight: 1},
			{ID: "coupon", Reward: coupon("c-10"), Stock: 100, Weight: 1},
		},
		NoPrizeWeight: 2,
		Keyword:       "抽奖",
		Start:         t0, End: t0.Add(30 * 24 * time.Hour),
	}
}

func (r *rig) saveLottery(l referral.Lottery) referral.Lottery {
	r.t.Helper()
	got, err := r.svc.SaveLottery(r.ctx, l)
	require.NoError(r.t, err)
	return got
}

func (r *rig) draw(c scrm.CustomerID, key string) (referral.DrawResult, error) {
	return r.svc.Draw(r.ctx, referral.DrawRequest{Tenant: tenant, Customer: c, Lottery: "L1", IdempotencyKey: key})
}

func (r *rig) mustDraw(c scrm.CustomerID, key string) referral.DrawResult {
	r.t.Helper()
	d, err := r.draw(c, key)
	require.NoError(r.t, err)
	return d
}

// reply publishes a message.replied event with text through the dispatcher.
func (r *rig) reply(c scrm.CustomerID, text string) scrm.Event {
	r.t.Helper()
	r.seq++
	e := scrm.Event{ID: fmt.Sprintf("msg%04d", r.seq), Tenant: tenant, Customer: c, Type: scrm.EventMessageReplied,
		Time: r.clock.Now(), Props: map[string]any{"text": text, "message_id": fmt.Sprint(r.seq)}}
	require.NoError(r.t, r.dispatch.Publish(r.ctx, e))
	return e
}

func fieldOf(err error) string {
	var se *scrm.Error
	if errors.As(err, &se) {
		return se.Field
	}
	return ""
}

func TestLotteryValidation(t *testing.T) {
	many := make([]referral.Prize, 101)
	for i := range many {
		many[i] = referral.Prize{ID: fmt.Sprint(i), Reward: coupon("c"), Stock: 1, Weight: 1}
	}
	tests := []struct {
		name  string
		edit  func(l *referral.Lottery)
		field string
	}{
		{"no tenant", func(l *referral.Lottery) { l.Tenant = "" }, "Tenant"},
		{"no ID", func(l *referral.Lottery) { l.ID = "" }, "ID"},
		{"group-buy winners", func(l *referral.Lottery) { l.Winners = 3 }, "Winners"},
		{"group-buy consolation", func(l *referral.Lottery) { l.Consolation = []scrm.Reward{coupon("c")} }, "Consolation"},
		{"no prizes", func(l *referral.Lottery) { l.Prizes = nil }, "Prizes"},
		{"too many prizes", func(l *referral.Lottery) { l.Prizes = many }, "Prizes"},
		{"prize without ID", func(l *referral.Lottery) { l.Prizes[1].ID = "" }, "Prizes[1].ID"},
		{"duplicate prize", func(l *referral.Lottery) { l.Prizes[1].ID = "cash" }, "Prizes[1].ID"},
		{"no stock", func(l *referral.Lottery) { l.Prizes[0].Stock = 0 }, "Prizes[0].Stock"},
		{"negative weight", func(l *referral.Lottery) { l.Prizes[1].Weight = -1 }, "Prizes[1].Weight"},
		{"huge weight", func(l *referral.Lottery) { l.Prizes[1].Weight = 2_000_000_000 }, "Prizes[1].Weight"},
		{"prize without reward", func(l *referral.Lottery) { l.Prizes[0].Reward = scrm.Reward{} }, "Prizes[0].Reward.Kind"},
		{"coupon without template", func(l *referral.Lottery) { l.Prizes[1].Reward.Template = "" }, "Prizes[1].Reward.Template"},
		{"sub-fen amount", func(l *referral.Lottery) { l.Prizes[0].Reward.Amount = scrm.Yuan("8.888") }, "Prizes[0].Reward.Amount"},
		{"all prize weights zero", func(l *referral.Lottery) { l.Prizes[0].Weight, l.Prizes[1].Weight = 0, 0 }, "Prizes"},
		{"negative no-prize weight", func(l *referral.Lottery) { l.NoPrizeWeight = -1 }, "NoPrizeWeight"},
		{"negative cost", func(l *referral.Lottery) { l.EntryCostPoints = -10 }, "EntryCostPoints"},
		{"negative daily limit", func(l *referral.Lottery) { l.PerCustomerPerDay = -1 }, "PerCustomerPerDay"},
		{"no end", func(l *referral.Lottery) { l.End = time.Time{} }, "End"},
		{"end before start", func(l *referral.Lottery) { l.End = l.Start }, "End"},
		{"keyword with spaces", func(l *referral.Lottery) { l.Keyword = " 抽奖" }, "Keyword"},
		{"long keyword", func(l *referral.Lottery) { l.Keyword = strings.Repeat("抽", 30) }, "Keyword"},
		{"cost without spender", func(l *referral.Lottery) { l.EntryCostPoints = 10 }, "EntryCostPoints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			l := luckyDraw()
			tt.edit(&l)
			_, err := r.svc.SaveLottery(r.ctx, l)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, tt.field, fieldOf(err), "%v", err)
			_, err = r.svc.Lottery(r.ctx, tenant, "L1")
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		})
	}
	t.Run("group buy with lucky-draw fields", func(t *testing.T) {
		r := newRig(t)
		err := r.svc.SaveGroupBuy(r.ctx, referral.GroupBuy{Tenant: tenant, ID: "g", Size: 2, Duration: time.Hour, End: t0,
			Lottery: &referral.Lottery{Winners: 1, Prizes: luckyDraw().Prizes}})
		require.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Equal(t, "Lottery.Prizes", fieldOf(err))
	})
	t.Run("keyword taken", func(t *testing.T) {
		r := newRig(t)
		r.saveLottery(luckyDraw())
		l := luckyDraw()
		l.ID = "L2"
		_, err := r.svc.SaveLottery(r.ctx, l)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		l.Start = l.End
		l.End = l.Start.Add(time.Hour)
		r.saveLottery(l)
	})
}

func TestLuckyDrawGrantsOnceAndReplays(t *testing.T) {
	r := newRig(t)
	saved := r.saveLottery(luckyDraw())
	assert.Equal(t, uint64(42), saved.Seed, "from Options.Seed")

	var results []referral.DrawResult
	for i := range 20 {
		d := r.mustDraw(scrm.CustomerID(fmt.Sprintf("c%02d", i)), fmt.Sprintf("k%02d", i))
		assert.Equal(t, int64(i+1), d.Seq)
		assert.Equal(t, referral.DrawSettled, d.Status)
		require.NoError(t, d.Audit())
		if d.Won() {
			assert.False(t, d.GrantedAt.IsZero(), "granted at once")
		}
		results = append(results, d)
	}
	won := 0
	for _, d := range results {
		grants := r.rewards.For(d.Customer)
		if !d.Won() {
			assert.Empty(t, grants)
			continue
		}
		won++
		require.Len(t, grants, 1)
		assert.Equal(t, d.Reward, grants[0].Reward)
		assert.Equal(t, "referral:lottery:L1:"+d.IdempotencyKey+":prize", grants[0].IdempotencyKey)
		assert.Equal(t, "referral:lottery:L1", grants[0].Source)
	}
	require.Positive(t, won)
	require.Less(t, won, 20, "some draws win nothing")

	// Replays: the recorded draw, nothing granted again.
	calls := len(r.rewards.Calls())
	for _, d := range results {
		again := r.mustDraw(d.Customer, d.IdempotencyKey)
		assert.Equal(t, d.Seq, again.Seq)
		assert.Equal(t, d.Prize, again.Prize)
	}
	assert.Len(t, r.rewards.Calls(), calls)
	_, err := r.draw("someone else", "k00")
	assert.ErrorIs(t, err, scrm.ErrConflict)

	drawn := r.events.Of(referral.EventDrawn)
	require.Len(t, drawn, 20)
	assert.Equal(t, results[3].Prize, drawn[3].Props["prize"])
	assert.Equal(t, "L1", drawn[3].Props["lottery"])

	// Results and Winners, paged.
	var seqs []int64
	cursor := ""
	for {
		page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Cursor: cursor, Limit: 7})
		require.NoError(t, err)
		for _, d := range page.Results {
			seqs = append(seqs, d.Seq)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	assert.Len(t, seqs, 20)
	winners, err := r.svc.Winners(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Len(t, winners.Results, won)
	for _, d := range winners.Results {
		assert.True(t, d.Won())
	}
	mine, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Customer: "c03"})
	require.NoError(t, err)
	require.Len(t, mine.Results, 1)
	assert.Equal(t, results[3].Prize, mine.Results[0].Prize)
	_, err = r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "nope"})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = r.svc.Winners(r.ctx, referral.ResultsRequest{Tenant: tenant})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestLuckyDrawRequestErrors(t *testing.T) {
	r := newRig(t)
	r.saveLottery(luckyDraw())
	tests := []struct {
		name  string
		req   referral.DrawRequest
		field string
	}{
		{"no tenant", referral.DrawRequest{Customer: "c", Lottery: "L1", IdempotencyKey: "k"}, "Tenant"},
		{"no customer", referral.DrawRequest{Tenant: tenant, Lottery: "L1", IdempotencyKey: "k"}, "Customer"},
		{"no lottery", referral.DrawRequest{Tenant: tenant, Customer: "c", IdempotencyKey: "k"}, "Lottery"},
		{"no key", referral.DrawRequest{Tenant: tenant, Customer: "c", Lottery: "L1"}, "IdempotencyKey"},
		{"long key", referral.DrawRequest{Tenant: tenant, Customer: "c", Lottery: "L1", IdempotencyKey: strings.Repeat("k", 129)}, "IdempotencyKey"},
	}
	for _, tt := range tests {
		_, err := r.svc.Draw(r.ctx, tt.req)
		require.ErrorIs(t, err, scrm.ErrInvalid, tt.name)
		assert.Equal(t, tt.field, fieldOf(err), tt.name)
	}
	_, err := r.svc.Draw(r.ctx, referral.DrawRequest{Tenant: tenant, Customer: "c", Lottery: "nope", IdempotencyKey: "k"})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	r.clock.Set(t0.Add(-time.Minute))
	_, err = r.draw("c", "k")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
	r.clock.Set(t0.Add(30 * 24 * time.Hour))
	_, err = r.draw("c", "k")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
	page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Empty(t, page.Results, "nothing written")
}

func TestLuckyDrawStockAndSoldOut(t *testing.T) {
	r := newRig(t)
	l := luckyDraw()
	// The cash prize would win nearly every draw, but there are 2.
	l.Prizes[0].Stock, l.Prizes[0].Weight = 2, 1_000_000
	l.Prizes[1].Stock = 3
	l.NoPrizeWeight = 0
	r.saveLottery(l)
	var prizes []string
	for i := range 5 {
		d := r.mustDraw(scrm.CustomerID(fmt.Sprint(i)), fmt.Sprint(i))
		prizes = append(prizes, d.Prize)
		if i >= 2 {
			assert.Equal(t, 0, d.Odds[0].Left, "out of stock: it drops out of the pick")
		}
	}
	assert.Equal(t, []string{"cash", "cash", "coupon", "coupon", "coupon"}, prizes)
	_, err := r.draw("late", "late")
	requireRefused(t, err, scrm.ErrExhausted, referral.ReasonSoldOut)
	winners, err := r.svc.Winners(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Len(t, winners.Results, 5)

	// More stock brings it back.
	l.Prizes[1].Stock = 4
	r.saveLottery(l)
	assert.Equal(t, "coupon", r.mustDraw("late", "late").Prize)
}

func TestLuckyDrawDailyLimitIsLocal(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name             string
		loc              *time.Location
		first            time.Time // two draws here
		sameDay, nextDay time.Time
	}{
		{"Shanghai", scrm.DefaultLocation(),
			time.Date(2026, 5, 2, 23, 30, 0, 0, scrm.DefaultLocation()),
			time.Date(2026, 5, 2, 23, 59, 59, 0, scrm.DefaultLocation()),
			time.Date(2026, 5, 3, 0, 0, 0, 0, scrm.DefaultLocation())},
		// 2026-11-01 has 25 hours in New York: 23:30 is 24.5 hours after
		// midnight, and still the same day.
		{"New York, DST ends", newYork,
			time.Date(2026, 11, 1, 0, 10, 0, 0, newYork),
			time.Date(2026, 11, 1, 23, 30, 0, 0, newYork),
			time.Date(2026, 11, 2, 0, 0, 0, 0, newYork)},
		// 2026-03-08 has 23 hours in New York.
		{"New York, DST starts", newYork,
			time.Date(2026, 3, 7, 23, 30, 0, 0, newYork),
			time.Date(2026, 3, 7, 23, 59, 0, 0, newYork),
			time.Date(2026, 3, 8, 0, 0, 0, 0, newYork)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(o *referral.Options) {
				o.TenantLocation = func(scrm.TenantID) *time.Location { return tt.loc }
			})
			l := luckyDraw()
			l.PerCustomerPerDay = 2
			l.Start, l.End = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
			r.saveLottery(l)
			r.clock.Set(tt.first)
			r.mustDraw("c1", "k1")
			r.mustDraw("c1", "k2")
			r.clock.Set(tt.sameDay)
			_, err := r.draw("c1", "k3")
			requireRefused(t, err, scrm.ErrExhausted, referral.ReasonDailyLimit)
			r.mustDraw("c2", "k4") // others are not limited
			r.clock.Set(tt.nextDay)
			d := r.mustDraw("c1", "k3")
			assert.Equal(t, tt.nextDay.Format(time.DateOnly), d.Day)
		})
	}
}

func TestLuckyDrawEntryCost(t *testing.T) {
	w := newWallet()
	r := newRig(t, func(o *referral.Options) { o.PointsSpender = w })
	l := luckyDraw()
	l.EntryCostPoints = 100
	l.PerCustomerPerDay = 1
	l.Prizes[0].Stock = 1
	l.Prizes[0].Weight = 1_000_000
	r.saveLottery(l)
	w.set("rich", 250)
	w.set("poor", 50)

	// Not enough points: refused, nothing held, nothing charged.
	_, err := r.draw("poor", "p1")
	require.ErrorIs(t, err, scrm.ErrExhausted, "the PointsSpender's error")
	require.ErrorIs(t, err, referral.ReasonEntryNotPaid)
	assert.Equal(t, int64(50), w.get("poor"))
	assert.Empty(t, r.rewards.Calls())

	// The poor customer's draw held the cash prize and the daily place, and
	// gave both back: the rich one wins it, and the poor one, topped up,
	// may still draw today with the same key.
	d := r.mustDraw("rich", "r1")
	assert.Equal(t, "cash", d.Prize)
	assert.Equal(t, int64(2), d.Seq, "the cancelled draw keeps its number")
	assert.Equal(t, int64(100), d.Cost)
	assert.Equal(t, int64(150), w.get("rich"))
	require.Len(t, r.rewards.For("rich"), 1)
	ch := w.seen["referral:lottery:L1:r1:entry"]
	assert.Equal(t, referral.PointsCharge{Tenant: tenant, Customer: "rich", Points: 100, Lottery: "L1",
		IdempotencyKey: "referral:lottery:L1:r1:entry", Ref: "lottery:L1:r1"}, ch)

	again := r.mustDraw("rich", "r1")
	assert.Equal(t, d.Seq, again.Seq)
	assert.Equal(t, int64(150), w.get("rich"), "a replay charges nothing")
	assert.Len(t, r.rewards.For("rich"), 1)
	_, err = r.draw("rich", "r2")
	requireRefused(t, err, scrm.ErrExhausted, referral.ReasonDailyLimit)
	assert.Equal(t, int64(150), w.get("rich"), "refused before charging")

	w.set("poor", 100)
	d = r.mustDraw("poor", "p1")
	assert.Equal(t, int64(3), d.Seq)
	assert.NotEqual(t, "cash", d.Prize, "out of stock")
	assert.Equal(t, int64(0), w.get("poor"))
}

func TestLuckyDrawChargeRetries(t *testing.T) {
	w := newWallet()
	r := newRig(t, func(o *referral.Options) { o.PointsSpender = w })
	l := luckyDraw()
	l.EntryCostPoints = 10
	l.Prizes[0].Weight, l.Prizes[1].Weight, l.NoPrizeWeight = 1, 0, 0 // always cash, 5 in stock
	r.saveLottery(l)
	for _, c := range []scrm.CustomerID{"a", "b", "c"} {
		w.set(c, 10)
	}

	// A passing failure holds the draw; the same key finishes it.
	w.failNext(scrm.Errorf(scrm.ErrUnavailable, "wallet", "timeout"))
	_, err := r.draw("a", "a1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Empty(t, page.Results, "held, not a result yet")
	assert.Empty(t, r.rewards.Calls(), "the outcome waits for the charge")
	d := r.mustDraw("a", "a1")
	assert.Equal(t, "cash", d.Prize)
	assert.Equal(t, int64(0), w.get("a"))
	assert.Len(t, r.rewards.For("a"), 1)

	// Left held, Sweep finishes it after the grant lease; unclassified
	// errors count as passing.
	w.failNext(errors.New("connection reset"))
	_, err = r.draw("b", "b1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	res, err := r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Zero(t, res.Draws, "within the lease")
	r.clock.Advance(2 * time.Minute)
	res, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Draws)
	assert.Equal(t, int64(0), w.get("b"))
	assert.Len(t, r.rewards.For("b"), 1)

	// A held draw whose charge is then refused is cancelled by Sweep.
	w.failNext(scrm.Errorf(scrm.ErrUnavailable, "wallet", "timeout"))
	_, err = r.draw("c", "c1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	w.set("c", 0)
	r.clock.Advance(2 * time.Minute)
	res, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.DrawsCancelled)
	assert.Empty(t, r.rewards.For("c"))
	winners, err := r.svc.Winners(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Len(t, winners.Results, 2)
	res, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, referral.SweepResult{}, res, "nothing left")
}

func TestLuckyDrawNoSpender(t *testing.T) {
	// A lottery with a cost saved by a service that had a PointsSpender,
	// drawn by one that has none: refused, and nothing held.
	store := referral.NewMemoryStore()
	r := newRig(t, func(o *referral.Options) { o.PointsSpender = newWallet() })
	l := luckyDraw()
	l.EntryCostPoints = 10
	saved, err := referral.New(store, r.pstore, &referral.Options{PointsSpender: newWallet()}).SaveLottery(r.ctx, l)
	require.NoError(t, err)
	svc := referral.New(store, r.pstore, &referral.Options{Options: scrm.Options{Clock: r.clock}})
	_, err = svc.Draw(r.ctx, referral.DrawRequest{Tenant: tenant, Customer: "c", Lottery: saved.ID, IdempotencyKey: "k"})
	require.ErrorIs(t, err, scrm.ErrForbidden)
	require.ErrorIs(t, err, referral.ReasonEntryNotPaid)
	un, err := store.ListUnfinishedLotteryDraws(r.ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.Empty(t, un.Results)
}

func TestLuckyDrawGrantFailureStands(t *testing.T) {
	r := newRig(t)
	l := luckyDraw()
	l.Prizes[0].Weight, l.Prizes[1].Weight, l.NoPrizeWeight = 1, 0, 0
	r.saveLottery(l)
	r.rewards.failNext(scrm.Errorf(scrm.ErrUnavailable, "coupon", "down"))
	d, err := r.draw("c", "k")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, "cash", d.Prize, "the draw stands")
	assert.True(t, d.GrantedAt.IsZero())
	assert.Empty(t, r.rewards.Calls())

	again := r.mustDraw("c", "k")
	assert.Equal(t, d.Seq, again.Seq)
	assert.False(t, again.GrantedAt.IsZero())
	assert.Len(t, r.rewards.For("c"), 1)
	r.mustDraw("c", "k")
	assert.Len(t, r.rewards.For("c"), 1, "granted once")

	// Sweep completes a failed grant nobody retried.
	r.rewards.failNext(scrm.Errorf(scrm.ErrUnavailable, "coupon", "down"))
	_, err = r.draw("d", "k2")
	require.Error(t, err)
	r.clock.Advance(2 * time.Minute)
	res, err := r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Draws)
	assert.Len(t, r.rewards.For("d"), 1)
}

func TestLuckyDrawKeyword(t *testing.T) {
	r := newRig(t)
	l := luckyDraw()
	l.PerCustomerPerDay = 1
	r.saveLottery(l)

	e := r.reply("alice", "  抽奖\n")
	page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Customer: "alice"})
	require.NoError(t, err)
	require.Len(t, page.Results, 1, "an unbound customer enters by replying the keyword")
	d := page.Results[0]
	assert.Equal(t, e.ID, d.IdempotencyKey, "keyed by the event")
	require.NoError(t, r.dispatch.Publish(r.ctx, e)) // redelivered
	page, err = r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Len(t, page.Results, 1, "drawn once")
	assert.Len(t, r.events.Of(referral.EventDrawn), 1)

	r.reply("alice", "抽奖")
	refusals := r.events.Of(referral.EventDrawRefused)
	require.Len(t, refusals, 1, "the daily limit")
	assert.Equal(t, "daily_limit", refusals[0].Props["reason"])
	assert.Equal(t, scrm.CustomerID("alice"), refusals[0].Customer)

	r.reply("bob", "抽奖吧")
	r.reply("bob", "")
	r.reply("bob", "hello")
	r.clock.Set(l.End)
	r.reply("bob", "抽奖")
	page, err = r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Len(t, page.Results, 1, "other texts, and the keyword after End, draw nothing")
	assert.Len(t, r.events.Of(referral.EventDrawRefused), 1)
}

func TestLuckyDrawKeywordAlsoQualifies(t *testing.T) {
	// A program that qualifies on replies still sees the keyword reply.
	r := newRig(t)
	r.save(referral.Program{Qualify: referral.Qualify{Event: scrm.EventMessageReplied}, InviterRewards: []scrm.Reward{points(5)}})
	r.mustBind("bob", "alice")
	r.saveLottery(luckyDraw())
	r.reply("bob", "抽奖")
	assert.Equal(t, []string{"points:5"}, templates(r.rewards.For("alice")))
	page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Customer: "bob"})
	require.NoError(t, err)
	assert.Len(t, page.Results, 1)
}

func TestLuckyDrawConcurrentStock(t *testing.T) {
	// 500 customers draw at once; the big prize (stock 10) would win nearly
	// every draw: exactly 10 win it, and each is granted once.
	w := newWallet()
	r := newRig(t, func(o *referral.Options) { o.PointsSpender = w })
	l := luckyDraw()
	l.Prizes[0] = referral.Prize{ID: "big", Reward: coupon("big"), Stock: 10, Weight: 1_000_000}
	l.Prizes[1] = referral.Prize{ID: "small", Reward: coupon("small"), Stock: 10_000, Weight: 1}
	l.NoPrizeWeight = 1
	l.EntryCostPoints = 5
	r.saveLottery(l)
	for i := range 500 {
		w.set(scrm.CustomerID(fmt.Sprintf("c%03d", i)), 5)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]referral.DrawResult, 500)
	errs := make([]error, 500)
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = r.draw(scrm.CustomerID(fmt.Sprintf("c%03d", i)), fmt.Sprint(i))
		}()
	}
	close(start)
	wg.Wait()
	big := 0
	for i, d := range results {
		require.NoError(t, errs[i])
		require.NoError(t, d.Audit())
		if d.Prize == "big" {
			big++
		}
		assert.Equal(t, int64(0), w.get(d.Customer), "each paid once")
	}
	assert.Equal(t, 10, big)
	grants := 0
	for _, g := range r.rewards.Calls() {
		if g.Reward.Template == "big" {
			grants++
		}
	}
	assert.Equal(t, 10, grants)
}

func TestPickPrize(t *testing.T) {
	odds := []referral.PrizeOdds{{Prize: "a", Weight: 1, Left: 10}, {Prize: "b", Weight: 3, Left: 10}, {Prize: "gone", Weight: 100, Left: 0}}
	counts := map[int]int{}
	const n = 40_000
	for seq := range int64(n) {
		i := referral.PickPrize(99, seq, odds, 4)
		assert.Equal(t, i, referral.PickPrize(99, seq, odds, 4), "reproducible")
		counts[i]++
	}
	assert.Zero(t, counts[2], "out of stock drops out")
	// Weights 1 : 3 : 4 (nothing) of 8.
	assert.InDelta(t, n/8, counts[0], n/100, "a")
	assert.InDelta(t, 3*n/8, counts[1], n/100, "b")
	assert.InDelta(t, n/2, counts[-1], n/100, "nothing")

	assert.Equal(t, -1, referral.PickPrize(1, 1, odds[2:], 0), "nothing to win")
	assert.Equal(t, -1, referral.PickPrize(1, 1, nil, 0))
	assert.Equal(t, 0, referral.PickPrize(1, 1, odds[:1], 0))

	// These outcomes pin the algorithm (PCG-DXSM seeded with seed^"lucky"
	// and the sequence number, Lemire's bounded integers): recorded draws
	// are audited by recomputing them, so they must never change.
	var got []int
	for seq := range int64(24) {
		got = append(got, referral.PickPrize(20260501, seq+1, odds, 4))
	}
	assert.Equal(t, pinnedPicks, got)
}

func TestDrawResultAudit(t *testing.T) {
	r := newRig(t)
	r.saveLottery(luckyDraw())
	d := r.mustDraw("c", "k")
	require.NoError(t, d.Audit())
	assert.Equal(t, d.Prize, d.Recompute())
	forged := d
	if d.Won() {
		forged.Prize = ""
	} else {
		forged.Prize = "cash"
	}
	assert.ErrorIs(t, forged.Audit(), scrm.ErrConflict)
	other := d
	other.Seq++
	for other.Recompute() == d.Prize {
		other.Seq++
	}
	assert.ErrorIs(t, (referral.DrawResult{Seed: d.Seed, Seq: other.Seq, Odds: d.Odds, NoPrizeWeight: d.NoPrizeWeight, Prize: d.Prize}).Audit(), scrm.ErrConflict,
		"another number gives another outcome")
}

// pinnedPicks are PickPrize(20260501, 1…24, the odds of TestPickPrize, 4).
var pinnedPicks = []int{-1, 1, -1, -1, 1, -1, 1, -1, 1, -1, -1, -1, 1, 0, -1, -1, 1, -1, -1, -1, -1, -1, 1, 1}

// FuzzLuckyDrawInput feeds outside input to a lucky draw: the text of a
// customer's reply, and a results cursor from a client. A reply draws
// exactly when its text, trimmed, is the keyword; a cursor is a page or an
// ErrInvalid, never a panic.
func FuzzLuckyDrawInput(f *testing.F) {
	for _, seed := range [][2]string{{"抽奖", ""}, {" 抽奖\n", "1"}, {"\u3000抽奖\u3000", "-1"}, {"抽 奖", "x"},
		{"", "99999999999999999999"}, {"\xff", "0"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, text, cursor string) {
		r := newRig(t)
		r.saveLottery(luckyDraw())
		e := scrm.Event{ID: "m1", Tenant: tenant, Customer: "c", Type: scrm.EventMessageReplied, Time: t0,
			Props: map[string]any{"text": text}}
		require.NoError(t, r.svc.Handle(r.ctx, e))
		page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
		require.NoError(t, err)
		want := 0
		if strings.TrimSpace(text) == "抽奖" {
			want = 1
		}
		assert.Len(t, page.Results, want)
		_, err = r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Cursor: cursor})
		if err != nil {
			assert.ErrorIs(t, err, scrm.ErrInvalid)
		}
	})
}

func TestLuckyDrawSameKeyRacesOverTheCharge(t *testing.T) {
	// Two requests with one key, whose charges get different answers
	// because the balance changed in between. The spender makes the second
	// request run inside the first one's charge, to fix the interleaving.
	setup := func(t *testing.T, answers ...error) (*rig, *[]referral.PointsCharge, func() (referral.DrawResult, error)) {
		var charges []referral.PointsCharge
		var r *rig
		var inner func() (referral.DrawResult, error)
		var innerResult referral.DrawResult
		var innerErr error
		r = newRig(t, func(o *referral.Options) {
			o.PointsSpender = referral.PointsSpenderFunc(func(_ context.Context, c referral.PointsCharge) error {
				charges = append(charges, c)
				n := len(charges)
				if n == 1 {
					innerResult, innerErr = inner()
				}
				if n <= len(answers) {
					return answers[n-1]
				}
				return nil
			})
		})
		inner = func() (referral.DrawResult, error) { return r.draw("c", "k") }
		l := luckyDraw()
		l.EntryCostPoints = 10
		l.PerCustomerPerDay = 1
		r.saveLottery(l)
		return r, &charges, func() (referral.DrawResult, error) { return innerResult, innerErr }
	}
	exhausted := scrm.Errorf(scrm.ErrExhausted, "wallet", "not enough points")

	t.Run("the other request paid", func(t *testing.T) {
		// The first request's charge is refused, the second's (inside it)
		// accepted: the draw stands, for both.
		r, charges, inner := setup(t, exhausted, nil)
		d, err := r.draw("c", "k")
		require.NoError(t, err)
		innerD, innerErr := inner()
		require.NoError(t, innerErr)
		assert.Equal(t, innerD.Seq, d.Seq)
		assert.Equal(t, referral.DrawSettled, d.Status)
		assert.Len(t, *charges, 2)
		assert.Len(t, r.rewards.For("c"), btoi(d.Won()))
	})
	t.Run("the other request was refused", func(t *testing.T) {
		// The second request's charge (inside the first's) is refused and
		// cancels the held draw; the first one's goes through, so it draws
		// again under the same charge key, which the spender replays.
		r, charges, inner := setup(t, nil, exhausted, nil)
		d, err := r.draw("c", "k")
		require.NoError(t, err)
		_, innerErr := inner()
		require.ErrorIs(t, innerErr, referral.ReasonEntryNotPaid)
		assert.Equal(t, int64(2), d.Seq, "drawn again")
		require.Len(t, *charges, 3)
		for _, c := range *charges {
			assert.Equal(t, "referral:lottery:L1:k:entry", c.IdempotencyKey, "one charge key: the customer pays once")
		}
		page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
		require.NoError(t, err)
		assert.Len(t, page.Results, 1)
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestLuckyDrawConcurrentReplaysGrantOnce(t *testing.T) {
	r := newRig(t)
	l := luckyDraw()
	l.Prizes[0].Weight, l.Prizes[1].Weight, l.NoPrizeWeight = 1, 0, 0
	r.saveLottery(l)
	r.rewards.failNext(scrm.Errorf(scrm.ErrUnavailable, "coupon", "down"))
	_, err := r.draw("c", "k")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := r.draw("c", "k")
			assert.NoError(t, err)
			assert.Equal(t, "cash", d.Prize)
		}()
	}
	wg.Wait()
	assert.Len(t, r.rewards.Calls(), 1, "one call to the Rewarder")
	d := r.mustDraw("c", "k")
	assert.False(t, d.GrantedAt.IsZero())
}

func TestLuckyDrawPaidChargeKeepsItsDrawWhenStockIsGone(t *testing.T) {
	// As in TestLuckyDrawSameKeyRacesOverTheCharge: a retry of k is
	// refused and cancels the held draw while the first request's charge
	// goes through; meanwhile another customer wins the last prize. The
	// customer paid for k, so k is drawn, and wins nothing.
	var charges []referral.PointsCharge
	var r *rig
	var innerErr, otherErr error
	r = newRig(t, func(o *referral.Options) {
		o.PointsSpender = referral.PointsSpenderFunc(func(_ context.Context, c referral.PointsCharge) error {
			charges = append(charges, c)
			switch len(charges) {
			case 1:
				_, innerErr = r.draw("c", "k")
				_, otherErr = r.draw("d", "d1")
			case 2:
				return scrm.Errorf(scrm.ErrExhausted, "wallet", "not enough points (yet)")
			}
			return nil
		})
	})
	l := luckyDraw()
	l.EntryCostPoints = 10
	l.Prizes[0].Stock, l.Prizes[1].Weight, l.NoPrizeWeight = 1, 0, 0 // the one cash prize, then sold out
	r.saveLottery(l)

	d, err := r.draw("c", "k")
	require.NoError(t, err)
	require.ErrorIs(t, innerErr, referral.ReasonEntryNotPaid)
	require.NoError(t, otherErr)
	assert.Equal(t, referral.DrawSettled, d.Status)
	assert.Empty(t, d.Prize, "the last prize went to d meanwhile")
	assert.NoError(t, d.Audit())
	assert.Empty(t, r.rewards.For("c"))
	assert.Len(t, r.rewards.For("d"), 1)
	require.Len(t, charges, 4)
	assert.Equal(t, charges[0], charges[3], "the paid charge is replayed: the customer pays once")
	_, err = r.draw("e", "e1")
	requireRefused(t, err, scrm.ErrExhausted, referral.ReasonSoldOut)
	page, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Customer: "c"})
	require.NoError(t, err)
	require.Len(t, page.Results, 1)
	assert.Equal(t, "k", page.Results[0].IdempotencyKey)
}
