package referral_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func saveGroupBuy(t *testing.T, r *rig, g referral.GroupBuy) referral.GroupBuy {
	t.Helper()
	g.Tenant = tenant
	if g.ID == "" {
		g.ID = "gb1"
	}
	if g.Size == 0 {
		g.Size = 3
	}
	if g.Duration == 0 {
		g.Duration = 24 * time.Hour
	}
	if g.Price.IsZero() {
		g.Price = scrm.Yuan("9.90")
	}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	return g
}

func TestGroupBuySucceeds(t *testing.T) {
	r := newRig(t)
	saveGroupBuy(t, r, referral.GroupBuy{})
	team, err := r.svc.Open(r.ctx, tenant, "gb1", "L")
	require.NoError(t, err)
	again, err := r.svc.Open(r.ctx, tenant, "gb1", "L")
	require.NoError(t, err)
	assert.Equal(t, team.ID, again.ID, "a leader's open team is reused")
	assert.Equal(t, referral.TeamOpen, team.Status)
	assert.Equal(t, t0.Add(24*time.Hour), team.ExpiresAt)

	r.clock.Advance(time.Hour)
	team, err = r.svc.Join(r.ctx, tenant, team.ID, "M1")
	require.NoError(t, err)
	assert.Equal(t, referral.TeamOpen, team.Status)
	_, err = r.svc.Join(r.ctx, tenant, team.ID, "M1")
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonAlreadyJoined)
	_, err = r.svc.Join(r.ctx, tenant, team.ID, "L")
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonAlreadyJoined)

	team, err = r.svc.Join(r.ctx, tenant, team.ID, "M2")
	require.NoError(t, err)
	assert.Equal(t, referral.TeamSucceeded, team.Status)
	assert.Equal(t, r.clock.Now(), team.ClosedAt)
	assert.Len(t, r.events.Of(referral.EventTeamSucceeded), 3)

	_, err = r.svc.Join(r.ctx, tenant, team.ID, "M3")
	requireRefused(t, err, scrm.ErrExhausted, referral.ReasonTeamFull)
	got, err := r.svc.Team(r.ctx, tenant, team.ID)
	require.NoError(t, err)
	assert.True(t, got.Reported)
	assert.Len(t, got.Members, 3)

	next, err := r.svc.Open(r.ctx, tenant, "gb1", "L")
	require.NoError(t, err)
	assert.NotEqual(t, team.ID, next.ID, "a new team once the last one finished")
}

func TestGroupBuyFailsWhenTimeRunsOut(t *testing.T) {
	r := newRig(t)
	saveGroupBuy(t, r, referral.GroupBuy{})
	lazy, err := r.svc.Open(r.ctx, tenant, "gb1", "L1")
	require.NoError(t, err)
	_, err = r.svc.Join(r.ctx, tenant, lazy.ID, "M1")
	require.NoError(t, err)
	swept, err := r.svc.Open(r.ctx, tenant, "gb1", "L2")
	require.NoError(t, err)

	r.clock.Advance(24 * time.Hour)
	_, err = r.svc.Join(r.ctx, tenant, lazy.ID, "M2")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonTeamClosed)
	got, err := r.svc.Team(r.ctx, tenant, lazy.ID)
	require.NoError(t, err)
	assert.Equal(t, referral.TeamFailed, got.Status)
	assert.Equal(t, lazy.ExpiresAt, got.ClosedAt)
	failed := r.events.Of(referral.EventTeamFailed)
	require.Len(t, failed, 2, "every member is reported for a refund")
	assert.True(t, failed[0].Amount.Equal(scrm.Yuan("9.90")))

	res, err := r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, swept.ID, res.Failed[0].ID)
	assert.Equal(t, 1, res.Reported)
	assert.Len(t, r.events.Of(referral.EventTeamFailed), 3)

	res, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Empty(t, res.Failed)
	assert.Zero(t, res.Reported)
}

func TestGroupBuySweepRepublishesAfterPublishFailure(t *testing.T) {
	fail := true
	inner := &events{}
	r := newRig(t, func(o *referral.Options) {
		o.Publisher = scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
			if fail && e.Type == referral.EventTeamFailed {
				return fmt.Errorf("bus down")
			}
			return inner.Publish(ctx, e)
		})
	})
	saveGroupBuy(t, r, referral.GroupBuy{})
	_, err := r.svc.Open(r.ctx, tenant, "gb1", "L")
	require.NoError(t, err)
	r.clock.Advance(48 * time.Hour)
	res, err := r.svc.Sweep(r.ctx, tenant)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Len(t, res.Failed, 1)
	fail = false
	res, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Reported)
	assert.Len(t, inner.Of(referral.EventTeamFailed), 1)
}

func TestGroupBuyLastPlaceRace(t *testing.T) {
	r := newRig(t)
	saveGroupBuy(t, r, referral.GroupBuy{Size: 5})
	team, err := r.svc.Open(r.ctx, tenant, "gb1", "L")
	require.NoError(t, err)
	for i := range 3 {
		_, err := r.svc.Join(r.ctx, tenant, team.ID, scrm.CustomerID(fmt.Sprintf("M%d", i)))
		require.NoError(t, err)
	}
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.svc.Join(r.ctx, tenant, team.ID, scrm.CustomerID(fmt.Sprintf("X%02d", i)))
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
				return
			}
			assert.ErrorIs(t, err, referral.ReasonTeamFull)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, won)
	got, err := r.svc.Team(r.ctx, tenant, team.ID)
	require.NoError(t, err)
	assert.Len(t, got.Members, 5)
	assert.Equal(t, referral.TeamSucceeded, got.Status)
}

func TestGroupBuyValidation(t *testing.T) {
	tests := []struct {
		name  string
		g     referral.GroupBuy
		field string
	}{
		{"size 1", referral.GroupBuy{ID: "g", Size: 1, Duration: time.Hour}, "Size"},
		{"size 0", referral.GroupBuy{ID: "g", Duration: time.Hour}, "Size"},
		{"no duration", referral.GroupBuy{ID: "g", Size: 2}, "Duration"},
		{"negative price", referral.GroupBuy{ID: "g", Size: 2, Duration: time.Hour, Price: scrm.Yuan("-1")}, "Price"},
		{"lottery without winners", referral.GroupBuy{ID: "g", Size: 2, Duration: time.Hour, End: t0, Lottery: &referral.Lottery{}}, "Lottery.Winners"},
		{"lottery without end", referral.GroupBuy{ID: "g", Size: 2, Duration: time.Hour, Lottery: &referral.Lottery{Winners: 1}}, "End"},
		{"bad consolation", referral.GroupBuy{ID: "g", Size: 2, Duration: time.Hour, End: t0, Lottery: &referral.Lottery{Winners: 1, Consolation: []scrm.Reward{{}}}}, "Lottery.Consolation[0].Kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			tt.g.Tenant = tenant
			err := r.svc.SaveGroupBuy(r.ctx, tt.g)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field)
			_, err = r.svc.GroupBuy(r.ctx, tenant, "g")
			assert.ErrorIs(t, err, scrm.ErrNotFound)
		})
	}
	r := newRig(t)
	_, err := r.svc.Open(r.ctx, tenant, "none", "L")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = r.svc.Join(r.ctx, tenant, "none", "L")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	saveGroupBuy(t, r, referral.GroupBuy{Start: t0.Add(time.Hour)})
	_, err = r.svc.Open(r.ctx, tenant, "gb1", "L")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
}

func TestLotteryDraw(t *testing.T) {
	r := newRig(t, func(o *referral.Options) { o.Seed = func() uint64 { return 20260501 } })
	end := t0.Add(2 * 24 * time.Hour)
	saveGroupBuy(t, r, referral.GroupBuy{Size: 10, Price: scrm.Yuan("1.00"), End: end,
		Lottery: &referral.Lottery{Winners: 5, Consolation: []scrm.Reward{coupon("sorry-5")}}})
	// Three full teams of 10 and one that never fills.
	for tm := range 4 {
		team, err := r.svc.Open(r.ctx, tenant, "gb1", scrm.CustomerID(fmt.Sprintf("L%d", tm)))
		require.NoError(t, err)
		members := 9
		if tm == 3 {
			members = 4
		}
		for m := range members {
			_, err := r.svc.Join(r.ctx, tenant, team.ID, scrm.CustomerID(fmt.Sprintf("T%dM%d", tm, m)))
			require.NoError(t, err)
		}
	}
	_, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	requireRefused(t, err, scrm.ErrForbidden, referral.ReasonDrawNotDue)

	r.clock.Set(end.Add(24 * time.Hour))
	d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	assert.Equal(t, uint64(20260501), d.Seed)
	assert.Len(t, d.Entrants, 30, "members of the failed team do not enter")
	require.Len(t, d.Winners, 5)
	assert.Equal(t, d.Winners, referral.DrawWinners(d.Seed, d.Entrants, 5), "auditable from the recorded seed")
	assert.Len(t, d.Losers(), 25)
	for _, w := range d.Winners {
		assert.True(t, d.Won(w))
	}
	assert.Len(t, r.events.Of(referral.EventLotteryWon), 5)
	lost := r.events.Of(referral.EventLotteryLost)
	require.Len(t, lost, 25)
	assert.True(t, lost[0].Amount.Equal(scrm.Yuan("1.00")), "losers are refunded their price")
	assert.Len(t, r.events.Of(referral.EventTeamFailed), 5, "the team that did not fill is refunded")
	consolations := 0
	for _, g := range r.rewards.Calls() {
		assert.Equal(t, "sorry-5", g.Reward.Template)
		assert.False(t, d.Won(referral.Entrant{Team: teamOf(d, g.Customer), Customer: g.Customer}))
		consolations++
	}
	assert.Equal(t, 25, consolations)

	again, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	assert.Equal(t, d, again, "drawn once")
	assert.Len(t, r.rewards.Calls(), 25)
}

func teamOf(d referral.Draw, c scrm.CustomerID) string {
	for _, e := range d.Entrants {
		if e.Customer == c {
			return e.Team
		}
	}
	return ""
}

func TestDrawWinnersReproducible(t *testing.T) {
	entrants := make([]referral.Entrant, 100)
	for i := range entrants {
		entrants[i] = referral.Entrant{Team: fmt.Sprintf("T%d", i/10), Customer: scrm.CustomerID(fmt.Sprintf("C%03d", i))}
	}
	a := referral.DrawWinners(7, entrants, 50)
	assert.Equal(t, a, referral.DrawWinners(7, entrants, 50))
	assert.NotEqual(t, a, referral.DrawWinners(8, entrants, 50))
	seen := map[referral.Entrant]bool{}
	for _, w := range a {
		assert.False(t, seen[w], "no entrant wins twice")
		seen[w] = true
	}
	assert.Equal(t, a[:10], referral.DrawWinners(7, entrants, 10), "drawing fewer gives a prefix")
	assert.Len(t, referral.DrawWinners(7, entrants[:3], 50), 3)
	assert.Empty(t, referral.DrawWinners(7, nil, 5))

	// Each entrant wins about equally often across seeds.
	wins := make([]int, 10)
	for seed := range uint64(20000) {
		for _, w := range referral.DrawWinners(seed, entrants[:10], 3) {
			wins[w.Customer[3]-'0']++
		}
	}
	for i, n := range wins {
		assert.InDelta(t, 6000, n, 400, "entrant %d won %d times", i, n)
	}
}

func TestDrawNotALottery(t *testing.T) {
	r := newRig(t)
	saveGroupBuy(t, r, referral.GroupBuy{})
	_, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestLotteryDrawEntersATeamThatOutlivedAShorterDuration(t *testing.T) {
	// A team opened under a 48h Duration, shortened to 1h afterwards: the
	// draw waits for it, then enters it once it filled in its time.
	r := newRig(t)
	end := t0.Add(time.Hour)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: 48 * time.Hour, Price: scrm.Yuan("1.00"), End: end,
		Lottery: &referral.Lottery{Winners: 1}})
	long, err := r.svc.Open(r.ctx, tenant, "gb1", "L1")
	require.NoError(t, err)
	g.Duration = time.Hour
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	short, err := r.svc.Open(r.ctx, tenant, "gb1", "L2")
	require.NoError(t, err)
	_, err = r.svc.Join(r.ctx, tenant, short.ID, "M2")
	require.NoError(t, err)

	r.clock.Set(t0.Add(47 * time.Hour))
	_, err = r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	requireRefused(t, err, scrm.ErrForbidden, referral.ReasonDrawNotDue)
	long, err = r.svc.Join(r.ctx, tenant, long.ID, "M1")
	require.NoError(t, err)
	require.Equal(t, referral.TeamSucceeded, long.Status)

	d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err, "no team is open any more")
	assert.ElementsMatch(t, []referral.Entrant{{Team: long.ID, Customer: "L1"}, {Team: long.ID, Customer: "M1"},
		{Team: short.ID, Customer: "L2"}, {Team: short.ID, Customer: "M2"}}, d.Entrants)
	assert.Len(t, r.events.Of(referral.EventLotteryLost), 3)
}
