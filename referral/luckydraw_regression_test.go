package referral_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func chi2(counts []int, probs []float64, n int) float64 {
	s := 0.0
	for i, p := range probs {
		e := p * float64(n)
		d := float64(counts[i]) - e
		s += d * d / e
	}
	return s
}

func TestDrawDistributionBeforeAndAfterSoldOut(t *testing.T) {
	r := newRig(t)
	l := luckyDraw()
	l.PerCustomerPerDay = 0
	l.Keyword = ""
	l.Prizes[0].Stock = 300 // cash weight 1
	l.Prizes[1].Stock = 1_000_000
	r.saveLottery(l)
	const n = 6000
	var before, after [3]int
	soldAt := 0
	for i := range n {
		d := r.mustDraw(scrm.CustomerID(fmt.Sprintf("c%d", i%50)), fmt.Sprint("k", i))
		require.NoError(t, d.Audit())
		idx := 2
		switch d.Prize {
		case "cash":
			idx = 0
		case "coupon":
			idx = 1
		}
		if soldAt == 0 {
			before[idx]++
			if d.Prize == "cash" && d.Odds[0].Left == 1 {
				soldAt = i + 1
			}
		} else {
			after[idx]++
		}
	}
	t.Log(before, after, soldAt)
	assert.Equal(t, 300, before[0])
	assert.Zero(t, after[0])
	m := after[1] + after[2]
	x := chi2([]int{after[1], after[2]}, []float64{1.0 / 3, 2.0 / 3}, m)
	assert.Less(t, x, 20.0)
	m = before[0] + before[1] + before[2]
	x = chi2(before[:], []float64{0.25, 0.25, 0.5}, m)
	assert.Less(t, x, 20.0)
}

func TestDrawAuditAndPagesAfterLotteryEdits(t *testing.T) {
	r := newRig(t)
	l := luckyDraw()
	r.saveLottery(l)
	for i := range 20 {
		r.mustDraw(scrm.CustomerID(fmt.Sprint("a", i)), fmt.Sprint("a", i))
	}
	l.Prizes[0].Weight = 50
	l.Prizes[0].Stock = 2
	l.NoPrizeWeight = 0
	r.saveLottery(l)
	for i := range 20 {
		r.mustDraw(scrm.CustomerID(fmt.Sprint("b", i)), fmt.Sprint("b", i))
	}
	l.Prizes = l.Prizes[1:]
	r.saveLottery(l)
	for i := range 5 {
		r.mustDraw(scrm.CustomerID(fmt.Sprint("c", i)), fmt.Sprint("c", i))
	}
	l = luckyDraw()
	r.saveLottery(l)
	for i := range 5 {
		r.mustDraw(scrm.CustomerID(fmt.Sprint("d", i)), fmt.Sprint("d", i))
	}
	var all []referral.DrawResult
	cursor := ""
	for {
		p, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Cursor: cursor, Limit: 7})
		require.NoError(t, err)
		all = append(all, p.Results...)
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	require.Len(t, all, 50)
	cash := 0
	for i, d := range all {
		assert.Equal(t, int64(i+1), d.Seq)
		assert.NoError(t, d.Audit())
		if d.Prize == "cash" {
			cash++
		}
	}
	assert.LessOrEqual(t, cash, 5)
	var wins []referral.DrawResult
	cursor = ""
	for {
		p, err := r.svc.Winners(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Cursor: cursor, Limit: 2})
		require.NoError(t, err)
		wins = append(wins, p.Results...)
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	n := 0
	for _, d := range all {
		if d.Won() {
			require.Equal(t, d.Seq, wins[n].Seq)
			n++
		}
	}
	assert.Len(t, wins, n)
	// customer pages
	for i := range 3 {
		r.mustDraw("a1", fmt.Sprint("again", i))
	}
	var mine []referral.DrawResult
	cursor = ""
	for {
		p, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Customer: "a1", Cursor: cursor, Limit: 1})
		require.NoError(t, err)
		mine = append(mine, p.Results...)
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	assert.Len(t, mine, 4)
}

func TestDrawWindowEdges(t *testing.T) {
	r := newRig(t)
	l := luckyDraw()
	l.Start = t0.Add(time.Hour)
	l.End = t0.Add(2 * time.Hour)
	r.saveLottery(l)
	r.clock.Set(l.Start.Add(-time.Nanosecond))
	_, err := r.draw("a", "1")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
	r.clock.Set(l.Start)
	r.mustDraw("a", "2")
	r.clock.Set(l.End.Add(-time.Nanosecond))
	r.mustDraw("a", "3")
	r.clock.Set(l.End)
	_, err = r.draw("a", "4")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
}

func TestSaveLotteryInvalidWritesNothing(t *testing.T) {
	r := newRig(t)
	r.saveLottery(luckyDraw())
	for _, c := range []struct {
		field string
		edit  func(*referral.Lottery)
	}{
		{"Prizes", func(l *referral.Lottery) { l.Prizes[0].Weight = 0; l.Prizes[1].Weight = 0 }},
		{"Prizes[1].Stock", func(l *referral.Lottery) { l.Prizes[1].Stock = -1 }},
		{"Prizes[1].ID", func(l *referral.Lottery) { l.Prizes[1].ID = l.Prizes[0].ID }},
		{"Prizes[0].Weight", func(l *referral.Lottery) { l.Prizes[0].Weight = -1 }},
		{"Prizes[0].Reward.Template", func(l *referral.Lottery) { l.Prizes[0].Reward = scrm.Reward{Kind: scrm.RewardCoupon} }},
		{"Keyword", func(l *referral.Lottery) { l.Keyword = " x" }},
		{"NoPrizeWeight", func(l *referral.Lottery) { l.NoPrizeWeight = -1 }},
	} {
		l := luckyDraw()
		l.Keyword = "new"
		c.edit(&l)
		_, err := r.svc.SaveLottery(r.ctx, l)
		require.ErrorIs(t, err, scrm.ErrInvalid, c.field)
		assert.Equal(t, c.field, fieldOf(err))
		got, err := r.svc.Lottery(r.ctx, tenant, "L1")
		require.NoError(t, err)
		assert.Equal(t, "抽奖", got.Keyword)
	}
}

func TestKeywordConsecutiveLotteries(t *testing.T) {
	r := newRig(t)
	a := luckyDraw()
	a.End = t0.Add(time.Hour)
	r.saveLottery(a)
	b := luckyDraw()
	b.ID = "L2"
	b.Start = a.End
	b.End = a.End.Add(time.Hour)
	r.saveLottery(b)
	c := luckyDraw()
	c.ID = "L3"
	c.Start = a.End.Add(-time.Minute)
	_, err := r.svc.SaveLottery(r.ctx, c)
	require.ErrorIs(t, err, scrm.ErrConflict)
	_, err = r.svc.Lottery(r.ctx, tenant, "L3")
	require.ErrorIs(t, err, scrm.ErrNotFound)
	r.reply("x", "抽奖")
	r.clock.Set(a.End)
	r.reply("x", "抽奖")
	for _, id := range []string{"L1", "L2"} {
		p, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: id})
		require.NoError(t, err)
		assert.Len(t, p.Results, 1, id)
	}
	// b takes a's window: conflict, nothing written; b keeps its keyword
	b2 := b
	b2.Start = t0
	_, err = r.svc.SaveLottery(r.ctx, b2)
	require.ErrorIs(t, err, scrm.ErrConflict)
	got, _ := r.svc.Lottery(r.ctx, tenant, "L2")
	assert.Equal(t, b.Start, got.Start)
}

func TestKeywordRedeliveryReplaysOnEndedLottery(t *testing.T) {
	r := newRig(t)
	a := luckyDraw()
	a.Prizes[0].Weight, a.Prizes[1].Weight, a.NoPrizeWeight = 1, 0, 0 // always wins cash
	a.End = t0.Add(time.Hour)
	r.saveLottery(a)
	b := luckyDraw()
	b.ID = "L2"
	b.Start, b.End = a.End, a.End.Add(time.Hour)
	r.saveLottery(b)

	r.clock.Set(a.End.Add(-time.Minute))
	e := scrm.Event{ID: "msg1", Tenant: tenant, Customer: "alice", Type: scrm.EventMessageReplied,
		Time: r.clock.Now(), Props: map[string]any{"text": "抽奖"}}
	r.rewards.failNext(scrm.Errorf(scrm.ErrUnavailable, "coupon", "down"))
	require.ErrorIs(t, r.svc.Handle(r.ctx, e), scrm.ErrUnavailable, "grant failed: redeliver")

	// The redelivery comes two minutes later, after L2 (same keyword) began.
	r.clock.Set(a.End.Add(time.Minute))
	require.NoError(t, r.svc.Handle(r.ctx, e))

	assert.Empty(t, r.events.Of(referral.EventDrawRefused), "alice drew (and won) in L1: nothing was refused")
	p, err := r.svc.Winners(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	require.Len(t, p.Results, 1)
	assert.False(t, p.Results[0].GrantedAt.IsZero(), "the redelivery replays the draw and finishes its grant")
	assert.Len(t, r.rewards.For("alice"), 1)
}

func TestRemovedPrizeKeepsCounts(t *testing.T) {
	// A prize removed by a replacement (with a held draw of it cancelled
	// meanwhile) and brought back keeps the count of what it won.
	w := newWallet()
	r := newRig(t, func(o *referral.Options) { o.PointsSpender = w })
	l := luckyDraw()
	l.Prizes[0].Weight = 1_000_000_000
	l.Prizes[0].Stock = 5
	l.NoPrizeWeight = 0
	l.Prizes[1].Weight = 1
	r.saveLottery(l)
	for i := range 3 {
		d := r.mustDraw(scrm.CustomerID(fmt.Sprint("a", i)), fmt.Sprint("a", i))
		require.Equal(t, "cash", d.Prize)
	}
	l.EntryCostPoints = 1
	r.saveLottery(l)
	w.failNext(scrm.Errorf(scrm.ErrUnavailable, "w", "down"))
	_, err := r.draw("p", "p1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	l2 := l
	l2.Prizes = l.Prizes[1:]
	r.saveLottery(l2)
	_, err = r.draw("p", "p1") // no balance: cancelled
	require.ErrorIs(t, err, referral.ReasonEntryNotPaid)
	l.EntryCostPoints = 0
	r.saveLottery(l)
	cash := 0
	for i := range 10 {
		d := r.mustDraw(scrm.CustomerID(fmt.Sprint("b", i)), fmt.Sprint("b", i))
		require.NoError(t, d.Audit())
		if d.Prize == "cash" {
			cash++
		}
	}
	assert.Equal(t, 2, cash)
}

func TestConcurrentDailyLimitWithRefusedCharges(t *testing.T) {
	w := newWallet()
	r := newRig(t, func(o *referral.Options) { o.PointsSpender = w })
	l := luckyDraw()
	l.Prizes[0].Stock, l.Prizes[0].Weight = 7, 5
	l.Prizes[1].Stock, l.Prizes[1].Weight = 1000, 5
	l.NoPrizeWeight = 1
	l.EntryCostPoints = 3
	l.PerCustomerPerDay = 3
	r.saveLottery(l)
	const nc = 40
	for i := range nc {
		if i%3 != 0 {
			w.set(scrm.CustomerID(fmt.Sprint("c", i)), 100)
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range nc {
		for j := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, _ = r.draw(scrm.CustomerID(fmt.Sprint("c", i)), fmt.Sprint(i, "-", j))
			}()
		}
	}
	close(start)
	wg.Wait()
	p, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Limit: 1000})
	require.NoError(t, err)
	per := map[scrm.CustomerID]int{}
	won := map[string]int{}
	for _, d := range p.Results {
		require.NoError(t, d.Audit())
		per[d.Customer]++
		won[d.Prize]++
	}
	for i := range nc {
		c := scrm.CustomerID(fmt.Sprint("c", i))
		if i%3 == 0 {
			assert.Zero(t, per[c])
			continue
		}
		assert.Equal(t, 3, per[c], c)
		assert.Equal(t, int64(100-3*3), w.get(c), c)
	}
	// Never over the stock. Not exactly the stock: a draw of a customer
	// without points holds its prize until its charge is refused, and the
	// draws that would have taken the returned stock may all be over by
	// then.
	assert.LessOrEqual(t, won["cash"], 7)
}

func TestKeywordRedeliveryAfterLotteryEnded(t *testing.T) {
	// No lottery with the keyword runs at the redelivery: it still replays
	// the draw on the lottery it was made in and finishes its grant.
	r := newRig(t)
	a := luckyDraw()
	a.Prizes[0].Weight, a.Prizes[1].Weight, a.NoPrizeWeight = 1, 0, 0 // always wins cash
	a.End = t0.Add(time.Hour)
	r.saveLottery(a)

	r.clock.Set(a.End.Add(-time.Minute))
	e := scrm.Event{ID: "msg1", Tenant: tenant, Customer: "alice", Type: scrm.EventMessageReplied,
		Time: r.clock.Now(), Props: map[string]any{"text": "抽奖"}}
	r.rewards.failNext(scrm.Errorf(scrm.ErrUnavailable, "coupon", "down"))
	require.ErrorIs(t, r.svc.Handle(r.ctx, e), scrm.ErrUnavailable)

	r.clock.Set(a.End.Add(time.Minute))
	require.NoError(t, r.svc.Handle(r.ctx, e))
	assert.Empty(t, r.events.Of(referral.EventDrawRefused))
	p, err := r.svc.Winners(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	require.Len(t, p.Results, 1)
	assert.False(t, p.Results[0].GrantedAt.IsZero())
	assert.Len(t, r.rewards.For("alice"), 1)

	// A new reply after the end finds no lottery and draws nothing.
	e.ID = "msg2"
	require.NoError(t, r.svc.Handle(r.ctx, e))
	assert.Len(t, r.rewards.For("alice"), 1)
}

// tickingClock advances by a nanosecond at every reading.
type tickingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(time.Nanosecond)
	return t
}

func TestKeywordReplyAtLotteryEnd(t *testing.T) {
	// The lottery is found and drawn in at one reading of the clock: a
	// reply in the last nanosecond of the window draws, though the clock
	// moves past End between readings.
	a := luckyDraw()
	a.End = t0.Add(time.Hour)
	clock := &tickingClock{now: a.End.Add(-time.Nanosecond)}
	r := newRig(t, func(o *referral.Options) { o.Clock = clock })
	r.saveLottery(a)
	e := scrm.Event{ID: "msg1", Tenant: tenant, Customer: "alice", Type: scrm.EventMessageReplied,
		Time: a.End, Props: map[string]any{"text": "抽奖"}}
	require.NoError(t, r.svc.Handle(r.ctx, e))
	assert.Empty(t, r.events.Of(referral.EventDrawRefused))
	p, err := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1"})
	require.NoError(t, err)
	assert.Len(t, p.Results, 1)
}
