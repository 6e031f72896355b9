package referraltest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// conflictOn asserts that err matches scrm.ErrConflict and names field.
func conflictOn(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, scrm.ErrConflict, "%v", err)
	var se *scrm.Error
	if assert.ErrorAs(t, err, &se) {
		assert.Equal(t, field, se.Field, "%v", err)
	}
}

func groupBuy(lottery bool) referral.GroupBuy {
	g := referral.GroupBuy{Tenant: tenant, ID: "g1", Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: t0.Add(48 * time.Hour)}
	if lottery {
		g.Lottery = &referral.Lottery{Winners: 1}
	}
	return g
}

func putGroupBuy(t *testing.T, s referral.Store, p referral.PutGroupBuyParams) referral.GroupBuy {
	t.Helper()
	require.NoError(t, s.PutGroupBuy(ctx, p))
	got, err := s.GetGroupBuy(ctx, p.GroupBuy.Tenant, p.GroupBuy.ID)
	require.NoError(t, err)
	return got
}

func lotteryTeam(id string, leader scrm.CustomerID) referral.Team {
	tm := team(id, leader, 2, t0)
	tm.Lottery = true
	return tm
}

// testGroupBuys covers what makes SaveGroupBuy, Open and DrawGroupBuy
// atomic with one another: PutGroupBuy conditional on the revision read and
// on the teams and draw found, OpenTeam and SaveDraw conditional on the
// revision read.
func testGroupBuys(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("PutIsConditional", func(t *testing.T) {
		s := newStore(t)
		g := groupBuy(true)
		conflictOn(t, s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: 1}), "Revision")
		_, err := s.GetGroupBuy(ctx, tenant, "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")

		g.Revision = 7 // ignored: the store sets it
		got := putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
		assert.Equal(t, int64(1), got.Revision, "1 when first stored")
		g.Price = scrm.Yuan("2.00")
		conflictOn(t, s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g}), "Revision")
		got = putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 1})
		assert.Equal(t, int64(2), got.Revision)
		g.Price = scrm.Yuan("3.00")
		conflictOn(t, s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: 1}), "Revision")
		got, err = s.GetGroupBuy(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Revision, "nothing written")
		assert.True(t, got.Price.Equal(scrm.Yuan("2.00")), "nothing written")

		// Teams, by the kind they were opened as, of this group buy only.
		other := lotteryTeam("t-g2", "L9")
		other.GroupBuy = "g2"
		_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: other, Now: t0})
		require.NoError(t, err)
		got = putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 2, NoLotteryTeams: true, NoRegularTeams: true, NotDrawn: true})
		assert.Equal(t, int64(3), got.Revision, "the teams of g2 do not count")
		_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-1", "L1"), Now: t0})
		require.NoError(t, err)
		conflictOn(t, s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: 3, NoLotteryTeams: true}), "NoLotteryTeams")
		got = putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 3, NoRegularTeams: true})
		assert.Equal(t, int64(4), got.Revision)
		_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-2", "L2", 2, t0), Now: t0})
		require.NoError(t, err)
		conflictOn(t, s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: 4, NoRegularTeams: true}), "NoRegularTeams")

		// The draw.
		got = putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 4, NotDrawn: true})
		assert.Equal(t, int64(5), got.Revision)
		_, _, err = s.SaveDraw(ctx, referral.Draw{Tenant: tenant, GroupBuy: "g1", Seed: 1, At: t0})
		require.NoError(t, err)
		g.Price = scrm.Yuan("4.00")
		conflictOn(t, s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: 5, NotDrawn: true}), "NotDrawn")
		got, err = s.GetGroupBuy(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, int64(5), got.Revision, "nothing written")
		assert.True(t, got.Price.Equal(scrm.Yuan("3.00")), "nothing written")
		got = putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 5})
		assert.Equal(t, int64(6), got.Revision)

		_, err = s.GetGroupBuy(ctx, "t2", "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		g.Tenant = "t2"
		got = putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
		assert.Equal(t, int64(1), got.Revision, "revisions are per tenant")
	})
	t.Run("OtherTenantsTeamsAndDrawDoNotCount", func(t *testing.T) {
		// Another tenant's group buy of the same ID, its teams of both
		// kinds and its draw never block this tenant's conditional put.
		s := newStore(t)
		g := groupBuy(true)
		putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
		og := g
		og.Tenant = other
		putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: og})
		for _, tm := range []referral.Team{lotteryTeam("o-1", "L1"), team("o-2", "L2", 2, t0)} {
			tm.Tenant = other
			_, _, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: tm, Now: t0})
			require.NoError(t, err)
		}
		_, _, err := s.SaveDraw(ctx, referral.Draw{Tenant: other, GroupBuy: "g1", Seed: 1, At: t0})
		require.NoError(t, err)
		got := putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 1, NoLotteryTeams: true, NoRegularTeams: true, NotDrawn: true})
		assert.Equal(t, int64(2), got.Revision, "only the tenant's own teams and draw count")
		_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-1", "L1"), Now: t0, GroupBuyRevision: 2})
		require.NoError(t, err, "another tenant's draw does not close this tenant's group buy")
	})
	t.Run("OpenTeamChecksTheGroupBuy", func(t *testing.T) {
		s := newStore(t)
		g := groupBuy(true)
		putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
		_, created, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-1", "L1"), Now: t0, GroupBuyRevision: 1})
		require.NoError(t, err)
		assert.True(t, created)
		putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 1})

		_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-2", "L2"), Now: t0, GroupBuyRevision: 1})
		conflictOn(t, err, "GroupBuyRevision")
		_, err = s.GetTeam(ctx, tenant, "t-2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		got, created, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-3", "L1"), Now: t0, GroupBuyRevision: 1})
		require.NoError(t, err, "the leader's open team is returned whatever the revision")
		assert.False(t, created)
		assert.Equal(t, "t-1", got.ID)
		_, created, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-2", "L2"), Now: t0, GroupBuyRevision: 2})
		require.NoError(t, err)
		assert.True(t, created)
		_, created, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-4", "L4"), Now: t0})
		require.NoError(t, err, "GroupBuyRevision 0: not checked")
		assert.True(t, created)
		unknown := lotteryTeam("t-5", "L5")
		unknown.GroupBuy = "nope"
		_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: unknown, Now: t0, GroupBuyRevision: 1})
		conflictOn(t, err, "GroupBuyRevision")

		// No team opens once the group buy is drawn, whatever the revision.
		_, _, err = s.SaveDraw(ctx, referral.Draw{Tenant: tenant, GroupBuy: "g1", Seed: 1, At: t0, GroupBuyRevision: 2})
		require.NoError(t, err)
		for _, rev := range []int64{0, 2} {
			_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam("t-6", "L6"), Now: t0, GroupBuyRevision: rev})
			refused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
		}
		_, err = s.GetTeam(ctx, tenant, "t-6")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
	})
	t.Run("SaveDrawChecksTheGroupBuy", func(t *testing.T) {
		s := newStore(t)
		g := groupBuy(true)
		putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
		putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g, Revision: 1})
		d := referral.Draw{Tenant: tenant, GroupBuy: "g1", Seed: 42, At: t0, GroupBuyRevision: 1}
		_, _, err := s.SaveDraw(ctx, d)
		conflictOn(t, err, "GroupBuyRevision")
		_, err = s.GetDraw(ctx, tenant, "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		d.GroupBuyRevision = 2
		got, created, err := s.SaveDraw(ctx, d)
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, int64(2), got.GroupBuyRevision)
		stored, err := s.GetDraw(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), stored.GroupBuyRevision)
		d.GroupBuyRevision, d.Seed = 1, 7
		got, created, err = s.SaveDraw(ctx, d)
		require.NoError(t, err, "a stored draw is returned first")
		assert.False(t, created)
		assert.Equal(t, uint64(42), got.Seed)
	})
	t.Run("ConcurrentPutsOneWins", func(t *testing.T) {
		s := newStore(t)
		g := groupBuy(true)
		putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
		n := race(20, func(i int) error {
			return s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: 1})
		}, func(err error) { conflictOn(t, err, "Revision") })
		assert.Equal(t, 1, n, "of puts over one revision, exactly one wins")
		got, err := s.GetGroupBuy(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Revision)
	})
	t.Run("ConcurrentPutAndOpenTeam", func(t *testing.T) {
		// Puts removing the Lottery, checked against no lottery team,
		// race with lottery teams opened over the same revision: either a
		// put wins and no team opens, or every team opens and no put wins.
		const teams, puts = 40, 10
		for round := range 5 {
			s := newStore(t)
			g := groupBuy(true)
			putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
			plain := groupBuy(false)
			ok := race(teams+puts, func(i int) error {
				if i < puts {
					return s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: plain, Revision: 1, NoLotteryTeams: true})
				}
				_, _, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: lotteryTeam(string(cid("t-%02d", i)), cid("L%02d", i)), Now: t0, GroupBuyRevision: 1})
				return err
			}, func(err error) { assert.ErrorIs(t, err, scrm.ErrConflict, "%v", err) })
			page, err := s.ListTeams(ctx, referral.ListTeamsParams{Tenant: tenant, GroupBuy: "g1", Limit: 1000})
			require.NoError(t, err)
			opened := len(page.Teams)
			put := ok - opened
			got, err := s.GetGroupBuy(ctx, tenant, "g1")
			require.NoError(t, err)
			switch put {
			case 0:
				assert.Equal(t, teams, opened, "round %d: no put won, so every team opened", round)
				assert.NotNil(t, got.Lottery, "round %d", round)
			case 1:
				assert.Zero(t, opened, "round %d: a put won over no lottery team, so none opened over its revision", round)
				assert.Nil(t, got.Lottery, "round %d", round)
			default:
				t.Errorf("round %d: %d puts over one revision won", round, put)
			}
		}
	})
	t.Run("ConcurrentPutAndSaveDraw", func(t *testing.T) {
		// Puts checked against no draw race with draws over the same
		// revision: either the draw is stored and no put wins, or a put
		// wins and no draw is stored.
		const n = 10
		for round := range 5 {
			s := newStore(t)
			g := groupBuy(true)
			putGroupBuy(t, s, referral.PutGroupBuyParams{GroupBuy: g})
			later := g
			later.End = g.End.Add(time.Hour)
			race(2*n, func(i int) error {
				if i%2 == 0 {
					return s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: later, Revision: 1, NotDrawn: true})
				}
				_, _, err := s.SaveDraw(ctx, referral.Draw{Tenant: tenant, GroupBuy: "g1", Seed: uint64(i), At: t0, GroupBuyRevision: 1})
				return err
			}, func(err error) { assert.ErrorIs(t, err, scrm.ErrConflict, "%v", err) })
			got, err := s.GetGroupBuy(ctx, tenant, "g1")
			require.NoError(t, err)
			_, derr := s.GetDraw(ctx, tenant, "g1")
			switch got.Revision {
			case 1:
				assert.NoError(t, derr, "round %d: no put won: the draw is stored", round)
			case 2:
				assert.ErrorIs(t, derr, scrm.ErrNotFound, "round %d: a put won over no draw: no draw is stored over its revision", round)
			default:
				t.Errorf("round %d: %d puts over one revision won", round, got.Revision-1)
			}
		}
	})
}
