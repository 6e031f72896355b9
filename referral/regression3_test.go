package referral_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// drawnLottery stores a lottery group buy (teams of 2 at ¥1, 1 winner, a
// 10-point consolation) ending at end, fills one team (A and B) and draws
// it after End + Duration.
func drawnLottery(t *testing.T, r *rig, end time.Time) (referral.GroupBuy, referral.Draw) {
	t.Helper()
	g := referral.GroupBuy{Tenant: tenant, ID: "gb1", Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: end,
		Lottery: &referral.Lottery{Winners: 1, Consolation: []scrm.Reward{points(10)}}}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	tm, err := r.svc.Open(r.ctx, tenant, "gb1", "A")
	require.NoError(t, err)
	_, err = r.svc.Join(r.ctx, tenant, tm.ID, "B")
	require.NoError(t, err)
	r.clock.Set(end.Add(time.Hour))
	d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	return g, d
}

// requireConflictOn asserts err is an ErrConflict naming field.
func requireConflictOn(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, scrm.ErrConflict)
	var se *scrm.Error
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, field, se.Field, "%v", err)
}

// TestLotteryGroupBuyTakesNoTeamAfterItsDraw: a lottery group buy (抽奖团)
// is drawn once, after End + Duration, over every member of every
// successful team, and non-winners are refunded (GroupBuy, DrawGroupBuy,
// issue 7). The draw is final, so no team may join it afterwards: its
// members would pay and be neither entered, nor told they lost, nor
// refunded. SaveGroupBuy refuses to move End past a drawn lottery's, and
// Open refuses a new team of a drawn lottery even when its End was moved
// (as a save racing with the draw could).
func TestLotteryGroupBuyTakesNoTeamAfterItsDraw(t *testing.T) {
	r := newRig(t)
	end := t0.Add(48 * time.Hour)
	g, d := drawnLottery(t, r, end)

	// The merchant extends the campaign.
	g.End = end.Add(72 * time.Hour)
	requireConflictOn(t, r.svc.SaveGroupBuy(r.ctx, g), "End")
	stored, err := r.svc.GroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	assert.True(t, stored.End.Equal(end), "nothing written")

	require.NoError(t, r.store.PutGroupBuy(r.ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: stored.Revision}))
	_, err = r.svc.Open(r.ctx, tenant, "gb1", "C")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
	page, err := r.store.ListTeams(r.ctx, referral.ListTeamsParams{Tenant: tenant, GroupBuy: "gb1"})
	require.NoError(t, err)
	assert.Len(t, page.Teams, 1, "no team opened after the draw")

	r.clock.Set(g.End.Add(2 * time.Hour))
	again, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	assert.Equal(t, d.Entrants, again.Entrants)
	assert.Len(t, r.events.Of(referral.EventLotteryWon), 1)
	assert.Len(t, r.events.Of(referral.EventLotteryLost), 1)
}

// TestDrawnLotteryGroupBuyKeepsItsTerms: once a lottery group buy is
// drawn, SaveGroupBuy refuses, naming the field and writing nothing, what
// would let new teams in or change what the draw was made on (a retried
// consolation grant must grant what was drawn; removing the Lottery would
// strand it), and stores any other change.
func TestDrawnLotteryGroupBuyKeepsItsTerms(t *testing.T) {
	end := t0.Add(48 * time.Hour)
	refused := []struct {
		field  string
		change func(g *referral.GroupBuy)
	}{
		{"End", func(g *referral.GroupBuy) { g.End = g.End.Add(time.Minute) }},
		{"Duration", func(g *referral.GroupBuy) { g.Duration = 2 * time.Hour }},
		{"Lottery", func(g *referral.GroupBuy) { g.Lottery = nil }},
		{"Lottery.Winners", func(g *referral.GroupBuy) {
			g.Lottery = &referral.Lottery{Winners: 2, Consolation: g.Lottery.Consolation}
		}},
		{"Lottery.Consolation", func(g *referral.GroupBuy) {
			g.Lottery = &referral.Lottery{Winners: 1, Consolation: []scrm.Reward{points(20)}}
		}},
		{"Lottery.Consolation", func(g *referral.GroupBuy) { g.Lottery = &referral.Lottery{Winners: 1} }},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.field, func(t *testing.T) {
			r := newRig(t)
			g, _ := drawnLottery(t, r, end)
			tt.change(&g)
			requireConflictOn(t, r.svc.SaveGroupBuy(r.ctx, g), tt.field)
			stored, err := r.svc.GroupBuy(r.ctx, tenant, "gb1")
			require.NoError(t, err)
			require.NotNil(t, stored.Lottery, "nothing written")
			assert.Equal(t, 1, stored.Lottery.Winners, "nothing written")
			assert.Equal(t, []scrm.Reward{points(10)}, stored.Lottery.Consolation, "nothing written")
			assert.True(t, stored.End.Equal(end), "nothing written")
			assert.Equal(t, time.Hour, stored.Duration, "nothing written")
		})
	}
	t.Run("stores other changes", func(t *testing.T) {
		r := newRig(t)
		g, _ := drawnLottery(t, r, end)
		require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g), "the same group buy again")
		g.Price, g.Size, g.Duration, g.End = scrm.Yuan("2.00"), 3, 30*time.Minute, end.Add(-time.Hour)
		require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
		stored, err := r.svc.GroupBuy(r.ctx, tenant, "gb1")
		require.NoError(t, err)
		assert.True(t, stored.Price.Equal(scrm.Yuan("2.00")))
	})
	t.Run("not drawn yet", func(t *testing.T) {
		r := newRig(t)
		g := referral.GroupBuy{Tenant: tenant, ID: "gb1", Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: end,
			Lottery: &referral.Lottery{Winners: 1}}
		require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
		g.End, g.Lottery = end.Add(time.Hour), &referral.Lottery{Winners: 3, Consolation: []scrm.Reward{points(5)}}
		require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	})
}

// TestLotteryTeamEventsSayLottery: a host fulfilling orders on
// EventTeamSucceeded must not fulfil a lottery team's losers, so the team
// events of a lottery group buy carry Props "lottery" true; those of a
// plain group buy carry no "lottery".
func TestLotteryTeamEventsSayLottery(t *testing.T) {
	r := newRig(t)
	plain := referral.GroupBuy{Tenant: tenant, ID: "gb2", Size: 2, Duration: time.Hour, Price: scrm.Yuan("9.90")}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, plain))
	tm, err := r.svc.Open(r.ctx, tenant, "gb2", "E")
	require.NoError(t, err)
	_, err = r.svc.Join(r.ctx, tenant, tm.ID, "F")
	require.NoError(t, err)
	end := t0.Add(48 * time.Hour)
	lone := referral.GroupBuy{Tenant: tenant, ID: "gb3", Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: end,
		Lottery: &referral.Lottery{Winners: 1}}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, lone))
	_, err = r.svc.Open(r.ctx, tenant, "gb3", "G") // nobody joins: it fails
	require.NoError(t, err)
	drawnLottery(t, r, end)
	_, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)

	succeeded := r.events.Of(referral.EventTeamSucceeded)
	require.Len(t, succeeded, 4)
	for _, e := range succeeded {
		if e.Props["group_buy"] == "gb1" {
			assert.Equal(t, true, e.Props["lottery"], "%s", e.Customer)
		} else {
			assert.NotContains(t, e.Props, "lottery", "%s", e.Customer)
		}
	}
	failed := r.events.Of(referral.EventTeamFailed)
	require.Len(t, failed, 1)
	assert.Equal(t, "gb3", failed[0].Props["group_buy"])
	assert.Equal(t, true, failed[0].Props["lottery"], "a failed lottery team says so too")
}

// TestBindLimitByInviterCountsTheLimitsValue: Store.Bind promises that for
// each of p.Limits "the bindings of the tenant whose field (By) equals
// Value ... number fewer than Max", else ErrForbidden with the limit's
// Reason, whatever the new binding's own field is. So with alice at 2
// bindings, a limit {inviter, alice, Max 2} refuses a binding under bob's
// code, as it does a device or IP limit on another value than the
// binding's.
func TestBindLimitByInviterCountsTheLimitsValue(t *testing.T) {
	ctx := t.Context()
	s := referral.NewMemoryStore()
	bind := func(invitee, inviter scrm.CustomerID, limits ...referral.BindLimit) error {
		_, err := s.Bind(ctx, referral.BindParams{Binding: referral.Binding{Tenant: tenant, Program: "p1",
			Invitee: invitee, Inviter: inviter, Code: "CODE", At: t0, Status: referral.StatusActive}, Limits: limits})
		return err
	}
	require.NoError(t, bind("b1", "alice"))
	require.NoError(t, bind("b2", "alice"))
	err := bind("b3", "bob", referral.BindLimit{By: referral.LimitByInviter, Value: "alice", Max: 2, Reason: referral.ReasonInviterRate})
	require.Error(t, err, "alice has 2 bindings: a limit of 2 on inviter alice is reached")
	assert.True(t, errors.Is(err, referral.ReasonInviterRate), "%v", err)
}
