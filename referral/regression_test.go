package referral_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// A lottery group buy's losers must be refunded what they paid: the price
// their team opened with (Team.Price), which SaveGroupBuy promises to keep
// for teams already open. EventTeamFailed does so; EventLotteryLost uses
// the group buy's current price instead.
func TestLotteryLostRefundsTheTeamsPrice(t *testing.T) {
	r := newRig(t)
	end := t0.Add(time.Hour)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: end,
		Lottery: &referral.Lottery{Winners: 1}})
	for _, leader := range []scrm.CustomerID{"L1", "L2"} {
		team, err := r.svc.Open(r.ctx, tenant, "gb1", leader)
		require.NoError(t, err)
		team, err = r.svc.Join(r.ctx, tenant, team.ID, leader+"M")
		require.NoError(t, err)
		require.Equal(t, referral.TeamSucceeded, team.Status)
		require.True(t, team.Price.Equal(scrm.Yuan("1.00")), "each member paid ¥1.00")
	}
	// The merchant reprices the campaign for teams opened from now on.
	g.Price = scrm.Yuan("2.00")
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))

	r.clock.Set(end.Add(time.Hour))
	d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	require.Len(t, d.Losers(), 3)
	lost := r.events.Of(referral.EventLotteryLost)
	require.Len(t, lost, 3)
	for _, e := range lost {
		assert.Equal(t, "1.00", e.Amount.StringFixed(2), "loser %s is refunded the ¥1.00 they paid", e.Customer)
	}
}

// DrawGroupBuy is documented to draw "once every team has finished". A
// team opened under a longer Duration keeps its ExpiresAt when the group
// buy is saved again with a shorter one; the draw must not run (or must
// not leave the team out) while that team can still fill.
func TestLotteryDrawWaitsForEveryTeam(t *testing.T) {
	r := newRig(t)
	end := t0.Add(time.Hour)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: 48 * time.Hour, Price: scrm.Yuan("1.00"), End: end,
		Lottery: &referral.Lottery{Winners: 1}})
	team, err := r.svc.Open(r.ctx, tenant, "gb1", "L1")
	require.NoError(t, err)
	g.Duration = time.Hour
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))

	r.clock.Set(end.Add(time.Hour)) // End + the new Duration; the team runs until t0+48h
	_, err = r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	if err == nil {
		// The draw ran; the open team then fills and pays, but can never
		// be drawn: its members neither win nor get refunded.
		team, err = r.svc.Join(r.ctx, tenant, team.ID, "M1")
		require.NoError(t, err)
		require.Equal(t, referral.TeamSucceeded, team.Status)
		d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
		require.NoError(t, err)
		assert.NotEmpty(t, d.Entrants, "the team that filled in its time was left out of the draw")
		return
	}
	requireRefused(t, err, scrm.ErrForbidden, referral.ReasonDrawNotDue)
}

// BindRequest.IdempotencyKey: "Reusing it for a different request is an
// error matching scrm.ErrConflict." A key reused for another invitee is a
// different request.
func TestBindKeyReusedForAnotherInvitee(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviteeOnBind: []scrm.Reward{coupon("new-50")}})
	req := referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", Code: r.code("A"), IdempotencyKey: "k1"}
	_, err := r.svc.Bind(r.ctx, req)
	require.NoError(t, err)

	req.Invitee = "C"
	_, err = r.svc.Bind(r.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict, "same key, other invitee")
	_, err = r.svc.Binding(r.ctx, tenant, "C")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written for the conflicting request")
	assert.Len(t, r.rewards.Calls(), 1, "only B's bind reward")
}

// Two requests with one key race over the charge (as in
// TestLuckyDrawSameKeyRacesOverTheCharge): the inner one is refused and
// cancels the held draw, the outer one's charge is accepted. Before the
// outer one draws again under its paid charge, the customer's daily place
// is taken by another draw. Draw's doc: "a draw that cannot happen never
// takes points". Here the customer pays for key k and gets no draw for it.
func TestPaidChargeKeepsItsDrawPastTheDailyLimit(t *testing.T) {
	var charges []referral.PointsCharge
	accepted := map[string]bool{}
	var r *rig
	var innerErr, otherErr error
	r = newRig(t, func(o *referral.Options) {
		o.PointsSpender = referral.PointsSpenderFunc(func(_ context.Context, c referral.PointsCharge) error {
			charges = append(charges, c)
			switch len(charges) {
			case 1: // the outer request's charge for k: meanwhile ...
				_, innerErr = r.draw("c", "k")  // ... a retry of k is refused and cancels the held draw,
				_, otherErr = r.draw("c", "k2") // ... and the customer draws again with another key.
				accepted[c.IdempotencyKey] = true
				return nil
			case 2:
				return scrm.Errorf(scrm.ErrExhausted, "wallet", "not enough points (yet)")
			}
			accepted[c.IdempotencyKey] = true
			return nil
		})
	})
	l := luckyDraw()
	l.EntryCostPoints = 10
	l.PerCustomerPerDay = 1
	r.saveLottery(l)

	_, err := r.draw("c", "k")
	require.ErrorIs(t, innerErr, referral.ReasonEntryNotPaid)
	require.NoError(t, otherErr)
	require.True(t, accepted["referral:lottery:L1:k:entry"], "the charge for k went through")
	page, perr := r.svc.Results(r.ctx, referral.ResultsRequest{Tenant: tenant, Lottery: "L1", Customer: "c"})
	require.NoError(t, perr)
	keys := map[string]bool{}
	for _, d := range page.Results {
		keys[d.IdempotencyKey] = true
	}
	assert.True(t, keys["k"], "the customer paid for draw k (err %v), but it does not exist; draws: %v", err, keys)
}
