package referraltest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func team(id string, leader scrm.CustomerID, size int, opened time.Time) referral.Team {
	return referral.Team{Tenant: tenant, ID: id, GroupBuy: "g1", Leader: leader, Size: size, Price: scrm.Yuan("9.90"),
		Members: []referral.Member{{Customer: leader, JoinedAt: opened}}, OpenedAt: opened, ExpiresAt: opened.Add(time.Hour),
		Status: referral.TeamOpen}
}

func join(s referral.Store, teamID string, c scrm.CustomerID, at time.Time) (referral.Team, error) {
	return s.JoinTeam(ctx, referral.JoinTeamParams{Tenant: tenant, Team: teamID, Customer: c, Now: at})
}

func testTeams(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("OpenReusesTheLeadersOpenTeam", func(t *testing.T) {
		s := newStore(t)
		got, created, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-1", "L", 3, t0), Now: t0})
		require.NoError(t, err)
		assert.True(t, created)
		assert.True(t, got.Price.Equal(scrm.Yuan("9.9")))
		got, created, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-2", "L", 3, t0), Now: t0.Add(time.Minute)})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, "t-1", got.ID)
		_, err = s.GetTeam(ctx, tenant, "t-2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		_, created, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-3", "L", 3, t0.Add(time.Hour)), Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.True(t, created, "the old team expired")
		_, _, err = s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-1", "M", 3, t0), Now: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict, "team IDs are unique")
		_, err = s.GetTeam(ctx, other, "t-1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("Join", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-1", "L", 3, t0), Now: t0})
		require.NoError(t, err)
		_, err = join(s, "nope", "A", t0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		got, err := join(s, "t-1", "A", t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, referral.TeamOpen, got.Status)
		_, err = join(s, "t-1", "A", t0.Add(time.Minute))
		refused(t, err, scrm.ErrConflict, referral.ReasonAlreadyJoined)
		_, err = join(s, "t-1", "L", t0.Add(time.Minute))
		refused(t, err, scrm.ErrConflict, referral.ReasonAlreadyJoined)
		got, err = join(s, "t-1", "B", t0.Add(2*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, referral.TeamSucceeded, got.Status)
		sameTime(t, t0.Add(2*time.Minute), got.ClosedAt)
		require.Len(t, got.Members, 3)
		assert.Equal(t, scrm.CustomerID("B"), got.Members[2].Customer)
		sameTime(t, t0.Add(2*time.Minute), got.Members[2].JoinedAt)
		_, err = join(s, "t-1", "C", t0.Add(3*time.Minute))
		refused(t, err, scrm.ErrExhausted, referral.ReasonTeamFull)

		got.Members[0].Customer = "changed"
		again, err := s.GetTeam(ctx, tenant, "t-1")
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("L"), again.Members[0].Customer, "copies, not aliases")
	})
	t.Run("LastPlaceRace", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-1", "L", 4, t0), Now: t0})
		require.NoError(t, err)
		_, err = join(s, "t-1", "A", t0)
		require.NoError(t, err)
		n := race(50, func(i int) error {
			_, err := join(s, "t-1", cid("X%02d", i), t0.Add(time.Minute))
			return err
		}, func(err error) { refused(t, err, scrm.ErrExhausted, referral.ReasonTeamFull) })
		assert.Equal(t, 2, n, "exactly the free places are taken")
		got, err := s.GetTeam(ctx, tenant, "t-1")
		require.NoError(t, err)
		assert.Len(t, got.Members, 4)
		assert.Equal(t, referral.TeamSucceeded, got.Status)
	})
	t.Run("ExpireListReport", func(t *testing.T) {
		s := newStore(t)
		for i, opened := range []time.Time{t0, t0.Add(10 * time.Minute), t0.Add(2 * time.Hour)} {
			_, _, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: team(string(cid("t-%d", i)), cid("L%d", i), 2, opened), Now: opened})
			require.NoError(t, err)
		}
		g2 := team("g2-team", "L9", 2, t0)
		g2.GroupBuy = "g2"
		_, _, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: g2, Now: t0})
		require.NoError(t, err)
		_, err = join(s, "t-1", "A", t0.Add(time.Hour+10*time.Minute))
		refused(t, err, scrm.ErrExpired, referral.ReasonTeamClosed)
		got, err := s.GetTeam(ctx, tenant, "t-1")
		require.NoError(t, err)
		assert.Equal(t, referral.TeamOpen, got.Status, "JoinTeam changes nothing")

		one, err := s.ExpireTeams(ctx, referral.ExpireTeamsParams{Tenant: tenant, Team: "t-0", Now: t0.Add(3 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, one, 1)
		assert.Equal(t, referral.TeamFailed, one[0].Status)
		sameTime(t, t0.Add(time.Hour), one[0].ClosedAt, "closed when it expired")

		// Concurrent sweeps fail each team once.
		failed := make([][]referral.Team, 10)
		race(10, func(i int) error {
			var err error
			failed[i], err = s.ExpireTeams(ctx, referral.ExpireTeamsParams{Tenant: tenant, GroupBuy: "g1", Now: t0.Add(90 * time.Minute)})
			return err
		}, func(err error) { t.Error(err) })
		var ids []string
		for _, f := range failed {
			for _, tm := range f {
				ids = append(ids, tm.ID)
			}
		}
		assert.Equal(t, []string{"t-1"}, ids, "t-0 was failed before, t-2 is still running, g2 is another group buy")
		_, err = join(s, "t-1", "A", t0)
		refused(t, err, scrm.ErrExpired, referral.ReasonTeamClosed)

		page, err := s.ListTeams(ctx, referral.ListTeamsParams{Tenant: tenant, Unreported: true})
		require.NoError(t, err)
		require.Len(t, page.Teams, 2)
		assert.Equal(t, "t-0", page.Teams[0].ID)
		require.NoError(t, s.MarkTeamReported(ctx, tenant, "t-0"))
		assert.ErrorIs(t, s.MarkTeamReported(ctx, tenant, "nope"), scrm.ErrNotFound)
		page, err = s.ListTeams(ctx, referral.ListTeamsParams{Tenant: tenant, Unreported: true})
		require.NoError(t, err)
		require.Len(t, page.Teams, 1)
		assert.Equal(t, "t-1", page.Teams[0].ID)
		got, err = s.GetTeam(ctx, tenant, "t-0")
		require.NoError(t, err)
		assert.True(t, got.Reported)

		var all []string
		cursor := ""
		for {
			page, err := s.ListTeams(ctx, referral.ListTeamsParams{Tenant: tenant, GroupBuy: "g1", Cursor: cursor, Limit: 2})
			require.NoError(t, err)
			for _, tm := range page.Teams {
				all = append(all, tm.ID)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		assert.Equal(t, []string{"t-0", "t-1", "t-2"}, all)
		open, err := s.ListTeams(ctx, referral.ListTeamsParams{Tenant: tenant, Status: referral.TeamOpen})
		require.NoError(t, err)
		assert.Len(t, open.Teams, 2)
	})
	t.Run("ClosedAtItsExpiresAt", func(t *testing.T) {
		// A team closes at its ExpiresAt: no one joins it then, and a
		// sweep then fails it.
		s := newStore(t)
		_, _, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: team("t-1", "L", 2, t0), Now: t0})
		require.NoError(t, err)
		_, err = join(s, "t-1", "A", t0.Add(time.Hour))
		refused(t, err, scrm.ErrExpired, referral.ReasonTeamClosed)
		got, err := s.GetTeam(ctx, tenant, "t-1")
		require.NoError(t, err)
		assert.Equal(t, referral.TeamOpen, got.Status, "JoinTeam changes nothing")
		assert.Len(t, got.Members, 1)
		failed, err := s.ExpireTeams(ctx, referral.ExpireTeamsParams{Tenant: tenant, Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, failed, 1, "expired at its ExpiresAt")
	})
	t.Run("TenantsAreIsolated", func(t *testing.T) {
		// Team IDs are per tenant: joining, failing, listing and marking
		// one tenant's team never touches another's of the same ID.
		s := newStore(t)
		for _, tn := range []scrm.TenantID{tenant, other} {
			tm := team("t-1", "L", 3, t0)
			tm.Tenant = tn
			_, created, err := s.OpenTeam(ctx, referral.OpenTeamParams{Team: tm, Now: t0})
			require.NoError(t, err)
			require.True(t, created, "%s", tn)
		}
		_, err := s.JoinTeam(ctx, referral.JoinTeamParams{Tenant: other, Team: "t-1", Customer: "A", Now: t0})
		require.NoError(t, err)
		failed, err := s.ExpireTeams(ctx, referral.ExpireTeamsParams{Tenant: other, Now: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, failed, 1)
		assert.Equal(t, other, failed[0].Tenant)
		mine, err := s.GetTeam(ctx, tenant, "t-1")
		require.NoError(t, err)
		assert.Equal(t, referral.TeamOpen, mine.Status, "not failed by the other tenant's sweep")
		assert.Len(t, mine.Members, 1, "not joined through the other tenant")

		page, err := s.ListTeams(ctx, referral.ListTeamsParams{Tenant: other})
		require.NoError(t, err)
		require.Len(t, page.Teams, 1)
		assert.Equal(t, other, page.Teams[0].Tenant)
		require.NoError(t, s.MarkTeamReported(ctx, other, "t-1"))

		failed, err = s.ExpireTeams(ctx, referral.ExpireTeamsParams{Tenant: tenant, Now: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, failed, 1)
		page, err = s.ListTeams(ctx, referral.ListTeamsParams{Tenant: tenant, Unreported: true})
		require.NoError(t, err)
		require.Len(t, page.Teams, 1, "not marked reported by the other tenant's mark")
		assert.Equal(t, tenant, page.Teams[0].Tenant)
		assert.False(t, page.Teams[0].Reported)
	})
	t.Run("DrawOnce", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetDraw(ctx, tenant, "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		d := referral.Draw{Tenant: tenant, GroupBuy: "g1", Seed: 42, At: t0,
			Entrants: []referral.Entrant{{Team: "t", Customer: "a"}, {Team: "t", Customer: "b"}},
			Winners:  []referral.Entrant{{Team: "t", Customer: "b"}}}
		got, created, err := s.SaveDraw(ctx, d)
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, uint64(42), got.Seed)
		d2 := d
		d2.Seed = 7
		got, created, err = s.SaveDraw(ctx, d2)
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, uint64(42), got.Seed, "the first draw stands")
		stored, err := s.GetDraw(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, d.Entrants, stored.Entrants)
		assert.Equal(t, d.Winners, stored.Winners)
		sameTime(t, t0, stored.At)
		_, err = s.GetDraw(ctx, other, "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
}

func session(id string, owner scrm.CustomerID, start time.Time) referral.Session {
	terms := referral.Bargain{Tenant: tenant, ID: "b1", Price: scrm.Yuan("10.00"), Floor: scrm.Yuan("1.00"), Helpers: 3, Duration: time.Hour}
	return referral.Session{Tenant: tenant, ID: id, Bargain: "b1", Owner: owner, Seed: 99, Terms: terms, Price: terms.Price,
		StartedAt: start, ExpiresAt: start.Add(time.Hour)}
}

func help(s referral.Store, id string, index int, helper scrm.CustomerID, amount, price string, at time.Time) (referral.Session, error) {
	return s.Help(ctx, referral.HelpParams{Tenant: tenant, Session: id, Now: at,
		Cut: referral.Cut{Index: index, Helper: helper, Amount: scrm.Yuan(amount), At: at, Price: scrm.Yuan(price)}})
}

func testSessions(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("StartReusesTheOwnersSession", func(t *testing.T) {
		s := newStore(t)
		got, created, err := s.StartSession(ctx, referral.StartSessionParams{Session: session("s1", "O", t0), Now: t0})
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, uint64(99), got.Seed)
		assert.True(t, got.Terms.Floor.Equal(scrm.Yuan("1")))
		got, created, err = s.StartSession(ctx, referral.StartSessionParams{Session: session("s2", "O", t0), Now: t0.Add(time.Minute)})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, "s1", got.ID)
		_, created, err = s.StartSession(ctx, referral.StartSessionParams{Session: session("s3", "O", t0.Add(time.Hour)), Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.True(t, created, "the first expired")
		_, _, err = s.StartSession(ctx, referral.StartSessionParams{Session: session("s1", "P", t0), Now: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = s.GetSession(ctx, other, "s1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("Help", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.StartSession(ctx, referral.StartSessionParams{Session: session("s1", "O", t0), Now: t0})
		require.NoError(t, err)
		at := t0.Add(time.Minute)
		_, err = help(s, "nope", 1, "A", "1", "9", at)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = help(s, "s1", 1, "O", "1", "9", at)
		refused(t, err, scrm.ErrForbidden, referral.ReasonSelfHelp)
		_, err = help(s, "s1", 2, "A", "1", "9", at)
		assert.ErrorIs(t, err, scrm.ErrConflict, "not the next help")
		assert.Empty(t, referral.ReasonOf(err))
		_, err = help(s, "s1", 1, "A", "8.99", "1.01", at)
		assert.ErrorIs(t, err, scrm.ErrInvalid, "leaves less than a fen for each help to come")
		_, err = help(s, "s1", 1, "A", "0.001", "9.999", at)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = help(s, "s1", 1, "A", "1", "8", at)
		assert.ErrorIs(t, err, scrm.ErrInvalid, "Price must be the price after the cut")

		got, err := help(s, "s1", 1, "A", "3.33", "6.67", at)
		require.NoError(t, err)
		assert.True(t, got.Price.Equal(scrm.Yuan("6.67")))
		require.Len(t, got.Cuts, 1)
		_, err = help(s, "s1", 2, "A", "1", "5.67", at)
		refused(t, err, scrm.ErrConflict, referral.ReasonAlreadyHelped)
		got, err = help(s, "s1", 2, "B", "2.00", "4.67", at)
		require.NoError(t, err)
		_, err = help(s, "s1", 3, "C", "3.00", "1.67", at)
		assert.ErrorIs(t, err, scrm.ErrInvalid, "the last help must reach the floor exactly")
		got, err = help(s, "s1", 3, "C", "3.67", "1.00", at)
		require.NoError(t, err)
		assert.True(t, got.Completed())
		sameTime(t, at, got.CompletedAt)
		_, err = help(s, "s1", 4, "D", "0.01", "0.99", at)
		refused(t, err, scrm.ErrExhausted, referral.ReasonBargainComplete)

		stored, err := s.GetSession(ctx, tenant, "s1")
		require.NoError(t, err)
		require.Len(t, stored.Cuts, 3)
		assert.True(t, stored.Cuts[2].Amount.Equal(scrm.Yuan("3.67")))
		stored.Cuts[0].Helper = "changed"
		again, err := s.GetSession(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("A"), again.Cuts[0].Helper, "copies, not aliases")
	})
	t.Run("CompletionReported", func(t *testing.T) {
		s := newStore(t)
		for i, owner := range []scrm.CustomerID{"O1", "O2", "O3"} {
			sess := session(fmt.Sprintf("s%d", i+1), owner, t0)
			if i == 2 {
				sess.Bargain = "b2"
			}
			_, _, err := s.StartSession(ctx, referral.StartSessionParams{Session: sess, Now: t0})
			require.NoError(t, err)
		}
		at := t0.Add(time.Minute)
		unreported := func() []string {
			t.Helper()
			page, err := s.ListSessions(ctx, referral.ListSessionsParams{Tenant: tenant, Unreported: true})
			require.NoError(t, err)
			var ids []string
			for _, sess := range page.Sessions {
				ids = append(ids, sess.ID)
			}
			return ids
		}
		_, err := help(s, "s1", 1, "A", "3.00", "7.00", at)
		require.NoError(t, err)
		assert.Empty(t, unreported(), "a running session has nothing to report")
		_, err = help(s, "s1", 2, "B", "3.00", "4.00", at)
		require.NoError(t, err)
		done, err := help(s, "s1", 3, "C", "3.00", "1.00", at)
		require.NoError(t, err)
		require.True(t, done.Completed())
		assert.False(t, done.Reported, "completed, not yet reported")
		assert.Equal(t, []string{"s1"}, unreported())

		assert.ErrorIs(t, s.MarkSessionReported(ctx, tenant, "nope"), scrm.ErrNotFound)
		assert.ErrorIs(t, s.MarkSessionReported(ctx, other, "s1"), scrm.ErrNotFound)
		page, err := s.ListSessions(ctx, referral.ListSessionsParams{Tenant: other, Unreported: true})
		require.NoError(t, err)
		assert.Empty(t, page.Sessions)
		assert.Equal(t, []string{"s1"}, unreported(), "nothing written")

		require.NoError(t, s.MarkSessionReported(ctx, tenant, "s1"))
		require.NoError(t, s.MarkSessionReported(ctx, tenant, "s1"), "marking twice changes nothing")
		assert.Empty(t, unreported())
		got, err := s.GetSession(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.True(t, got.Reported)
		assert.True(t, got.Completed())

		var all []string
		cursor := ""
		for {
			page, err := s.ListSessions(ctx, referral.ListSessionsParams{Tenant: tenant, Bargain: "b1", Cursor: cursor, Limit: 1})
			require.NoError(t, err)
			require.LessOrEqual(t, len(page.Sessions), 1)
			for _, sess := range page.Sessions {
				all = append(all, sess.ID)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		assert.Equal(t, []string{"s1", "s2"}, all, "s3 is of another bargain")
	})
	t.Run("Expired", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.StartSession(ctx, referral.StartSessionParams{Session: session("s1", "O", t0), Now: t0})
		require.NoError(t, err)
		_, err = help(s, "s1", 1, "A", "1", "9", t0.Add(time.Hour))
		refused(t, err, scrm.ErrExpired, referral.ReasonSessionExpired)
		got, err := s.GetSession(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.Empty(t, got.Cuts)
	})
	t.Run("ConcurrentHelpsTakeOnePlaceEach", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.StartSession(ctx, referral.StartSessionParams{Session: session("s1", "O", t0), Now: t0})
		require.NoError(t, err)
		n := race(30, func(i int) error {
			_, err := help(s, "s1", 1, cid("H%02d", i), "1.00", "9.00", t0)
			return err
		}, func(err error) {
			assert.ErrorIs(t, err, scrm.ErrConflict)
		})
		assert.Equal(t, 1, n, "one help takes place 1")
		got, err := s.GetSession(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.Len(t, got.Cuts, 1)
		assert.True(t, got.Price.Equal(scrm.Yuan("9")))
	})
}

func testCancelled(t *testing.T, newStore func(t *testing.T) referral.Store) {
	s := newStore(t)
	mustBind(t, s, binding("bob", "alice", t0))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	check := func(name string, err error) {
		t.Helper()
		assert.ErrorIs(t, err, scrm.ErrUnavailable, name)
		assert.True(t, errors.Is(err, context.Canceled), "%s: %v", name, err)
	}
	check("PutProgram", s.PutProgram(cctx, sampleProgram()))
	_, err := s.GetProgram(cctx, tenant, "p1")
	check("GetProgram", err)
	if rs, ok := s.(referral.ProgramRevisioner); ok {
		_, err = rs.ProgramRevision(cctx, tenant)
		check("ProgramRevision", err)
	}
	_, err = s.PutCode(cctx, referral.CodeRecord{Tenant: tenant, Code: "C", Owner: referral.Owner{Customer: "x"}})
	check("PutCode", err)
	_, err = s.GetCode(cctx, tenant, "C")
	check("GetCode", err)
	_, err = s.OwnerCode(cctx, tenant, referral.Owner{Customer: "x"})
	check("OwnerCode", err)
	check("AddSignals", s.AddSignals(cctx, tenant, "x", referral.Signals{Device: "d"}))
	_, err = s.GetSignals(cctx, tenant, "x")
	check("GetSignals", err)
	_, err = s.Bind(cctx, referral.BindParams{Binding: binding("carol", "alice", t0)})
	check("Bind", err)
	_, err = s.GetBinding(cctx, tenant, "bob")
	check("GetBinding", err)
	_, err = s.Review(cctx, referral.ReviewParams{Tenant: tenant, Invitee: "bob", Approve: true})
	check("Review", err)
	_, _, err = s.Qualify(cctx, referral.QualifyParams{Qualification: qual("bob", "e1")})
	check("Qualify", err)
	_, err = s.GetQualification(cctx, tenant, "p1", "bob")
	check("GetQualification", err)
	_, err = s.AddEntries(cctx, tenant, []referral.Entry{entry("e1", "bob", "o", "1", t0)})
	check("AddEntries", err)
	_, err = s.ReverseOrder(cctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o", At: t0})
	check("ReverseOrder", err)
	_, err = s.ListEntries(cctx, referral.ListEntriesParams{Tenant: tenant, Status: referral.EntryPending})
	check("ListEntries", err)
	_, err = s.SetEntryStatus(cctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e1", From: referral.EntryPending, To: referral.EntrySettling})
	check("SetEntryStatus", err)
	_, err = s.ClaimGrants(cctx, referral.ClaimGrantsParams{Tenant: tenant, Records: []referral.GrantRecord{grantRecord("k", "fp")}, Now: t0, Until: t0})
	check("ClaimGrants", err)
	check("CompleteGrants", s.CompleteGrants(cctx, tenant, []string{"k"}, t0))
	check("ReleaseGrants", s.ReleaseGrants(cctx, tenant, []string{"k"}))
	_, err = s.Stats(cctx, referral.StatsParams{Tenant: tenant, Program: "p1"})
	check("Stats", err)
	_, err = s.Leaderboard(cctx, referral.LeaderboardParams{Tenant: tenant, Program: "p1"})
	check("Leaderboard", err)
	check("PutGroupBuy", s.PutGroupBuy(cctx, referral.PutGroupBuyParams{GroupBuy: referral.GroupBuy{Tenant: tenant, ID: "g1", Size: 2, Duration: time.Hour}}))
	_, err = s.GetGroupBuy(cctx, tenant, "g1")
	check("GetGroupBuy", err)
	_, _, err = s.OpenTeam(cctx, referral.OpenTeamParams{Team: team("t1", "L", 2, t0), Now: t0})
	check("OpenTeam", err)
	_, err = s.JoinTeam(cctx, referral.JoinTeamParams{Tenant: tenant, Team: "t1", Customer: "A", Now: t0})
	check("JoinTeam", err)
	_, err = s.GetTeam(cctx, tenant, "t1")
	check("GetTeam", err)
	_, err = s.ExpireTeams(cctx, referral.ExpireTeamsParams{Tenant: tenant, Now: t0})
	check("ExpireTeams", err)
	_, err = s.ListTeams(cctx, referral.ListTeamsParams{Tenant: tenant})
	check("ListTeams", err)
	check("MarkTeamReported", s.MarkTeamReported(cctx, tenant, "t1"))
	_, _, err = s.SaveDraw(cctx, referral.Draw{Tenant: tenant, GroupBuy: "g1"})
	check("SaveDraw", err)
	_, err = s.GetDraw(cctx, tenant, "g1")
	check("GetDraw", err)
	check("PutBargain", s.PutBargain(cctx, referral.Bargain{Tenant: tenant, ID: "b1"}))
	_, err = s.GetBargain(cctx, tenant, "b1")
	check("GetBargain", err)
	_, _, err = s.StartSession(cctx, referral.StartSessionParams{Session: session("s1", "O", t0), Now: t0})
	check("StartSession", err)
	_, err = s.GetSession(cctx, tenant, "s1")
	check("GetSession", err)
	_, err = s.Help(cctx, referral.HelpParams{Tenant: tenant, Session: "s1", Now: t0})
	check("Help", err)
	_, err = s.ListSessions(cctx, referral.ListSessionsParams{Tenant: tenant})
	check("ListSessions", err)
	check("MarkSessionReported", s.MarkSessionReported(cctx, tenant, "s1"))

	// Nothing was written.
	_, err = s.GetProgram(ctx, tenant, "p1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.GetBinding(ctx, tenant, "carol")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.GetQualification(ctx, tenant, "p1", "bob")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.GetTeam(ctx, tenant, "t1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.GetSession(ctx, tenant, "s1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	sig, err := s.GetSignals(ctx, tenant, "x")
	require.NoError(t, err)
	assert.Empty(t, sig.Devices)
}
