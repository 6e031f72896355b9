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

// fillTeam opens a team of group buy gb with leader and has joiner fill it
// (teams of 2).
func fillTeam(t *testing.T, r *rig, gb string, leader, joiner scrm.CustomerID) referral.Team {
	t.Helper()
	tm, err := r.svc.Open(r.ctx, tenant, gb, leader)
	require.NoError(t, err)
	tm, err = r.svc.Join(r.ctx, tenant, tm.ID, joiner)
	require.NoError(t, err)
	require.Equal(t, referral.TeamSucceeded, tm.Status)
	return tm
}

// TestLotteryStaysOnceLotteryTeamsOpened: EventTeamSucceeded carries Props
// "lottery" for a team of a lottery group buy, "whose members are not all
// fulfilled: only the winners of its draw (EventLotteryWon), the others
// are refunded (EventLotteryLost)" (events.go), so a host holds those
// members' goods until the draw. Once such a team was opened, SaveGroupBuy
// refuses (ErrConflict naming the field, nothing written) to remove the
// Lottery, or to change its Winners or Consolation, before the draw as
// after it: removed, DrawGroupBuy would refuse ("not a lottery") and the
// members of the lottery teams, who paid, would be neither drawn, nor
// fulfilled, nor refunded. The draw then runs for them.
func TestLotteryStaysOnceLotteryTeamsOpened(t *testing.T) {
	r := newRig(t)
	end := t0.Add(48 * time.Hour)
	g := referral.GroupBuy{Tenant: tenant, ID: "gb1", Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: end,
		Lottery: &referral.Lottery{Winners: 1, Consolation: []scrm.Reward{points(10)}}}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	fillTeam(t, r, "gb1", "A", "B")
	succ := r.events.Of(referral.EventTeamSucceeded)
	require.Len(t, succ, 2)
	require.Equal(t, true, succ[0].Props["lottery"], "the host is told to wait for the draw")

	for _, tt := range []struct {
		field   string
		lottery *referral.Lottery
	}{
		{"Lottery", nil},
		{"Lottery.Winners", &referral.Lottery{Winners: 2, Consolation: []scrm.Reward{points(10)}}},
		{"Lottery.Consolation", &referral.Lottery{Winners: 1}},
	} {
		changed := g
		changed.Lottery = tt.lottery
		requireConflictOn(t, r.svc.SaveGroupBuy(r.ctx, changed), tt.field)
	}
	stored, err := r.svc.GroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	require.NotNil(t, stored.Lottery, "nothing written")
	assert.Equal(t, 1, stored.Lottery.Winners, "nothing written")
	assert.Equal(t, []scrm.Reward{points(10)}, stored.Lottery.Consolation, "nothing written")
	g.Price = scrm.Yuan("2.00")
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g), "other changes are stored")

	r.clock.Set(end.Add(2 * time.Hour))
	_, err = r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err, "the lottery team's members are drawn")
	assert.Len(t, append(r.events.Of(referral.EventLotteryWon), r.events.Of(referral.EventLotteryLost)...), 2)
}

// TestLotteryDrawEntersOnlyLotteryTeams: a regular group buy's team that
// succeeded is reported without Props "lottery", which (events.go) tells
// the host to fulfil every member. So SaveGroupBuy refuses (ErrConflict
// naming "Lottery", nothing written) to turn a group buy with such a team
// into a lottery, and should the group buy have become one anyway (stored
// so before this check, or saved while the team was opening),
// DrawGroupBuy enters only the teams opened as lottery teams
// (Team.Lottery): the regular team's members, already fulfilled, can
// neither lose the draw (a refund of ¥1.00 and the consolation) nor take a
// prize.
func TestLotteryDrawEntersOnlyLotteryTeams(t *testing.T) {
	r := newRig(t)
	end := t0.Add(48 * time.Hour)
	g := referral.GroupBuy{Tenant: tenant, ID: "gb1", Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: end}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	regular := fillTeam(t, r, "gb1", "A", "B")
	require.False(t, regular.Lottery)
	for _, e := range r.events.Of(referral.EventTeamSucceeded) {
		require.Nil(t, e.Props["lottery"], "a regular team: its members are fulfilled")
	}

	g.Lottery = &referral.Lottery{Winners: 1}
	requireConflictOn(t, r.svc.SaveGroupBuy(r.ctx, g), "Lottery")
	stored, err := r.svc.GroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	assert.Nil(t, stored.Lottery, "nothing written")

	require.NoError(t, r.store.PutGroupBuy(r.ctx, referral.PutGroupBuyParams{GroupBuy: g, Revision: stored.Revision})) // past the check
	lottery := fillTeam(t, r, "gb1", "C", "D")
	require.True(t, lottery.Lottery)
	r.clock.Set(end.Add(2 * time.Hour))
	d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	require.Len(t, d.Entrants, 2, "the lottery team's members")
	for _, e := range d.Entrants {
		assert.Equal(t, lottery.ID, e.Team, "%s of the regular team %s was fulfilled, yet entered the draw", e.Customer, e.Team)
	}
	assert.Len(t, append(r.events.Of(referral.EventLotteryWon), r.events.Of(referral.EventLotteryLost)...), 2)
}

// TestGroupBuyWithoutTeamsChangesKind: without teams, a group buy may
// become a lottery and stop being one.
func TestGroupBuyWithoutTeamsChangesKind(t *testing.T) {
	r := newRig(t)
	g := referral.GroupBuy{Tenant: tenant, ID: "gb1", Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"), End: t0.Add(48 * time.Hour)}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	g.Lottery = &referral.Lottery{Winners: 1}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	g.Lottery = &referral.Lottery{Winners: 3, Consolation: []scrm.Reward{points(5)}}
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	g.Lottery = nil
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
}

// refundingStore refunds part of B's order o1 (once) right after Settle's
// first listing of pending entries: a refund event handled by another
// goroutine while Settle works through its page.
type refundingStore struct {
	referral.Store
	refund *referral.ReverseParams
}

func (s *refundingStore) ListEntries(ctx context.Context, p referral.ListEntriesParams) (referral.EntryPage, error) {
	page, err := s.Store.ListEntries(ctx, p)
	if err == nil && p.Status == referral.EntryPending && s.refund != nil {
		_, rerr := s.Store.ReverseOrder(ctx, *s.refund)
		s.refund = nil
		if rerr != nil {
			return page, rerr
		}
	}
	return page, err
}

// TestSettleResultReportsWhatWasPaid: Settle pays an entry's Amount as
// stored when it takes it (what partial refunds left of it), and
// SettleResult.Amount is what the grants paid. A refund dated before the
// entries' DueAt but delivered once they are due still reduces them while
// they are pending (Store.ReverseOrder), so it can land between Settle's
// ListEntries and its claim of the entry: the grants then pay the reduced
// amounts (¥90 + ¥27 + ¥45 = ¥162), and SettleResult.Amount reports those,
// not the listed ones (¥180).
func TestSettleResultReportsWhatWasPaid(t *testing.T) {
	st := &refundingStore{Store: referral.NewMemoryStore()}
	r := newRig(t)
	r.store = st
	r.svc = referral.New(st, r.pstore, &referral.Options{
		Options:  scrm.Options{Clock: r.clock, Publisher: r.events},
		Rewarder: r.rewards, CodeSecret: func(scrm.TenantID) []byte { return []byte("test secret, 32 bytes long......") },
	})
	r.dispatch = scrm.NewDispatcher(scrm.NewProfiles(r.pstore, &scrm.Options{Clock: r.clock}), r.svc)
	r.save(partialProgram())
	r.mustBind("A", "Z")
	r.mustBind("B", "A")
	r.clock.Advance(day)
	pay := r.pay("B", "1000.00", "o1")
	r.clock.Advance(8 * day) // all three entries are due
	st.refund = &referral.ReverseParams{Tenant: tenant, Invitee: "B", OrderID: "o1", At: pay.Time.Add(day),
		Amount: scrm.Yuan("100.00"), RefundID: "late-refund"}

	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, 3, res.Settled)
	paid := r.rewards.sum("A", scrm.RewardStoredValue).Add(r.rewards.sum("Z", scrm.RewardStoredValue))
	require.True(t, paid.Equal(scrm.Yuan("162.00")), "paid %s", paid)
	assert.True(t, res.Amount.Equal(paid), "SettleResult.Amount %s, but the grants paid %s", res.Amount, paid)
}

// TestNegativeRefundAmountCountsAsRefund: a host that books refunds as
// negative numbers sends order.refunded with Amount −100; Handle takes its
// absolute value, so the entries are reduced as by a refund of ¥100 (and
// a redelivery counts once), rather than Handle failing on every delivery
// and the commission being paid in full.
func TestNegativeRefundAmountCountsAsRefund(t *testing.T) {
	r := partialRig(t)
	refund := r.refundOf("-100.00")
	r.deliver(refund)
	pendingAmounts(t, r, "90.00", "27.00", "45.00")
	r.deliver(refund)
	pendingAmounts(t, r, "90.00", "27.00", "45.00")
	reduced := r.events.Of(referral.EventReduced)
	require.NotEmpty(t, reduced)
	for _, e := range reduced {
		assert.Equal(t, "100", e.Prop("refunded"), e.ID)
	}

	r.clock.Advance(30 * day)
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.True(t, res.Amount.Equal(scrm.Yuan("162.00")), "paid %s", res.Amount)
}

// TestRefundRoundingToNoFenLeavesReducedAtZero: a partial refund too small
// to take a fen off an entry (¥0.01 of a ¥1,000 order, on ¥100: 0.1 fen)
// counts in Refunded but reduces nothing, so ReducedAt stays zero (Entry)
// and no EventReduced is published.
func TestRefundRoundingToNoFenLeavesReducedAtZero(t *testing.T) {
	r := partialRig(t)
	r.deliver(r.refundOf("0.01"))
	pendingAmounts(t, r, "100.00", "30.00", "50.00")
	for _, e := range r.entries(referral.EntryPending) {
		assert.True(t, e.ReducedAt.IsZero(), "%s: ReducedAt %s", e.ID, e.ReducedAt)
		assert.True(t, e.Refunded.Equal(scrm.Yuan("0.01")), "%s: Refunded %s", e.ID, e.Refunded)
	}
	assert.Empty(t, r.events.Of(referral.EventReduced))
}

// A refund that takes no further fen off a reduced entry (¥0.01 of a
// ¥1,000 order on a ¥90 commission: 0.09 fen) publishes no new
// EventReduced: its ID counts the amount taken off, not the refunds
// counted, so a host notifying the inviter on each one no longer told them
// twice of one reduction.
func TestRefundTakingNoFenOffPublishesNoNewReduction(t *testing.T) {
	r := partialRig(t)
	r.deliver(r.refundOf("100.00"))
	pendingAmounts(t, r, "90.00", "27.00", "45.00")
	before := len(r.events.Of(referral.EventReduced))
	require.Equal(t, 3, before)
	r.clock.Advance(time.Hour)
	r.deliver(r.refundOf("0.01"))
	pendingAmounts(t, r, "90.00", "27.00", "45.00") // nothing more taken off
	after := r.events.Of(referral.EventReduced)
	for _, ev := range after[before:] {
		t.Errorf("EventReduced %s published for a refund that reduced nothing: Amount %s, amount %v, Time %s",
			ev.ID, ev.Amount, ev.Props["amount"], ev.Time)
	}
}
