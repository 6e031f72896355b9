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

const day1, day2 = "2026-05-01", "2026-05-02"

// lottery is a lucky draw running from t0 for a week whose first prize
// ("A", stock 3) is always won while it lasts, then "B" (stock 100).
func lottery(id string) referral.Lottery {
	return referral.Lottery{
		Tenant: tenant, ID: id, Name: "五一抽奖",
		Prizes: []referral.Prize{
			{ID: "A", Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("8.80")}, Stock: 3, Weight: 1},
			{ID: "B", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "c-5"}, Stock: 100, Weight: 0},
		},
		Keyword: "抽奖", Start: t0, End: t0.Add(7 * 24 * time.Hour), Seed: 7,
	}
}

func putLottery(t *testing.T, s referral.Store, l referral.Lottery) referral.Lottery {
	t.Helper()
	got, err := s.PutLottery(ctx, l)
	require.NoError(t, err)
	return got
}

func enter(s referral.Store, lottery string, c scrm.CustomerID, key, day string, at time.Time) (referral.DrawResult, bool, error) {
	return s.EnterLottery(ctx, referral.EnterLotteryParams{Tenant: tenant, Lottery: lottery, Customer: c,
		IdempotencyKey: key, ID: lottery + "/" + key, Day: day, Now: at})
}

func mustEnter(t *testing.T, s referral.Store, lottery string, c scrm.CustomerID, key, day string, at time.Time) referral.DrawResult {
	t.Helper()
	d, created, err := enter(s, lottery, c, key, day, at)
	require.NoError(t, err)
	require.True(t, created)
	return d
}

func settle(key string, at time.Time) referral.SettleLotteryDrawParams {
	return referral.SettleLotteryDrawParams{Tenant: tenant, Key: key, At: at, GrantUntil: at.Add(time.Minute)}
}

func grantClaim(key string, now time.Time) referral.ClaimLotteryGrantParams {
	return referral.ClaimLotteryGrantParams{Tenant: tenant, Key: key, Now: now, Until: now.Add(time.Minute)}
}

func testLotteries(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetLottery(ctx, tenant, "L1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		in := lottery("L1")
		in.Start = in.Start.In(time.FixedZone("CST", 8*3600))
		got := putLottery(t, s, in)
		assert.Equal(t, uint64(7), got.Seed)
		stored, err := s.GetLottery(ctx, tenant, "L1")
		require.NoError(t, err)
		assert.Equal(t, "五一抽奖", stored.Name)
		assert.Equal(t, "抽奖", stored.Keyword)
		sameTime(t, t0, stored.Start)
		sameTime(t, t0.Add(7*24*time.Hour), stored.End)
		require.Len(t, stored.Prizes, 2)
		assert.True(t, stored.Prizes[0].Reward.Amount.Equal(scrm.Yuan("8.8")))
		assert.Equal(t, referral.Prize{ID: "B", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "c-5"}, Stock: 100}, stored.Prizes[1])

		in.Prizes[0].ID = "changed"
		stored.Prizes[1].ID = "changed"
		again, err := s.GetLottery(ctx, tenant, "L1")
		require.NoError(t, err)
		assert.Equal(t, "A", again.Prizes[0].ID, "copies in")
		assert.Equal(t, "B", again.Prizes[1].ID, "copies out")

		_, err = s.GetLottery(ctx, other, "L1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "tenants are isolated")
	})
	t.Run("ReplaceKeepsSeedAndCounts", func(t *testing.T) {
		s := newStore(t)
		putLottery(t, s, lottery("L1"))
		mustEnter(t, s, "L1", "c1", "k1", day1, t0)
		l := lottery("L1")
		l.Seed = 99
		l.Prizes[0].Stock = 2
		got := putLottery(t, s, l)
		assert.Equal(t, uint64(7), got.Seed, "the stored seed stays")
		d := mustEnter(t, s, "L1", "c2", "k2", day1, t0)
		assert.Equal(t, uint64(7), d.Seed)
		assert.Equal(t, int64(2), d.Seq)
		assert.Equal(t, 1, d.Odds[0].Left, "won counts survive a replacement: stock 2, one won")
		assert.Equal(t, "A", d.Prize)

		// A prize taken out and put back keeps what it had given.
		l.Prizes = l.Prizes[1:]
		l.Prizes[0].Weight = 1
		putLottery(t, s, l)
		d = mustEnter(t, s, "L1", "c3", "k3", day1, t0)
		assert.Equal(t, []referral.PrizeOdds{{Prize: "B", Weight: 1, Left: 100}}, d.Odds)
		l = lottery("L1")
		l.Prizes[0].Stock = 4
		putLottery(t, s, l)
		d = mustEnter(t, s, "L1", "c4", "k4", day1, t0)
		assert.Equal(t, 2, d.Odds[0].Left, "stock 4, two won")
		assert.Equal(t, 99, d.Odds[1].Left)
	})
	t.Run("KeywordsAreUniqueAtATime", func(t *testing.T) {
		s := newStore(t)
		putLottery(t, s, lottery("L1"))
		overlap := lottery("L2")
		overlap.Start, overlap.End = t0.Add(6*24*time.Hour), t0.Add(30*24*time.Hour)
		_, err := s.PutLottery(ctx, overlap)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = s.GetLottery(ctx, tenant, "L2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")

		later := lottery("L2")
		later.Start, later.End = t0.Add(7*24*time.Hour), t0.Add(30*24*time.Hour)
		putLottery(t, s, later)
		putLottery(t, s, lottery("L1")) // replacing itself is no conflict
		otherTenant := lottery("L3")
		otherTenant.Tenant = other
		putLottery(t, s, otherTenant)

		found, err := s.FindLottery(ctx, tenant, "抽奖", t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, "L1", found.ID)
		found, err = s.FindLottery(ctx, tenant, "抽奖", t0.Add(7*24*time.Hour))
		require.NoError(t, err)
		assert.Equal(t, "L2", found.ID, "End is exclusive, Start inclusive")
		_, err = s.FindLottery(ctx, tenant, "抽奖", t0.Add(-time.Second))
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.FindLottery(ctx, tenant, "other", t0.Add(time.Hour))
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		renamed := lottery("L1")
		renamed.Keyword = "转盘"
		putLottery(t, s, renamed)
		_, err = s.FindLottery(ctx, tenant, "抽奖", t0.Add(time.Hour))
		assert.ErrorIs(t, err, scrm.ErrNotFound, "the old keyword is gone")
		found, err = s.FindLottery(ctx, tenant, "转盘", t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, "L1", found.ID)
		overlap.Keyword = "抽奖"
		overlap.End = t0.Add(7 * 24 * time.Hour)
		putLottery(t, s, overlap) // L1 no longer has the keyword
	})
}

func testLotteryDraws(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("Enter", func(t *testing.T) {
		s := newStore(t)
		_, _, err := enter(s, "L1", "c1", "k0", day1, t0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		putLottery(t, s, lottery("L1"))
		_, _, err = enter(s, "L1", "c1", "k0", day1, t0.Add(-time.Second))
		refused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
		_, _, err = enter(s, "L1", "c1", "k0", day1, t0.Add(7*24*time.Hour))
		refused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)

		for i := 1; i <= 3; i++ {
			at := t0.Add(time.Duration(i) * time.Minute)
			d := mustEnter(t, s, "L1", cid("c%d", i), fmt.Sprintf("k%d", i), day1, at)
			assert.Equal(t, "L1/"+fmt.Sprintf("k%d", i), d.ID)
			assert.Equal(t, int64(i), d.Seq, "numbered 1, 2, 3: refusals take no number")
			assert.Equal(t, uint64(7), d.Seed)
			assert.Equal(t, []referral.PrizeOdds{{Prize: "A", Weight: 1, Left: 4 - i}, {Prize: "B", Weight: 0, Left: 100}}, d.Odds)
			assert.Equal(t, "A", d.Prize)
			assert.True(t, d.Reward.Amount.Equal(scrm.Yuan("8.8")))
			assert.Equal(t, referral.DrawSettled, d.Status, "free draws settle at once")
			assert.Equal(t, day1, d.Day)
			sameTime(t, at, d.At)
			sameTime(t, at, d.SettledAt)
			assert.True(t, d.GrantedAt.IsZero())
			assert.NoError(t, d.Audit())
		}
		_, _, err = enter(s, "L1", "c9", "k9", day1, t0)
		refused(t, err, scrm.ErrExhausted, referral.ReasonSoldOut)

		again, created, err := enter(s, "L1", "c2", "k2", day2, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, created, "the key replays")
		assert.Equal(t, int64(2), again.Seq)
		sameTime(t, t0.Add(2*time.Minute), again.At)
		_, _, err = enter(s, "L1", "someone else", "k2", day1, t0)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, _, err = enter(s, "L2", "c2", "k2", day1, t0)
		assert.ErrorIs(t, err, scrm.ErrConflict, "the key drew in another lottery")
		_, _, err = enter(s, "L1", "c2", "k2", day1, t0) // after a conflict, still a replay
		require.NoError(t, err)

		got, err := s.GetLotteryDraw(ctx, tenant, "k2")
		require.NoError(t, err)
		assert.Equal(t, again, got, "found by its key, as EnterLottery replays it")
		_, err = s.GetLotteryDraw(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.GetLotteryDraw(ctx, other, "k2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "tenants are isolated")

		again.Odds[0].Prize = "changed"
		page, err := s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Customer: "c2"})
		require.NoError(t, err)
		require.Len(t, page.Results, 1)
		assert.Equal(t, "A", page.Results[0].Odds[0].Prize, "copies, not aliases")

		_, _, err = s.EnterLottery(ctx, referral.EnterLotteryParams{Tenant: other, Lottery: "L1", Customer: "c1",
			IdempotencyKey: "k1", ID: "x", Day: day1, Now: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "tenants are isolated")
	})
	t.Run("PickPrize", func(t *testing.T) {
		s := newStore(t)
		l := lottery("L1")
		l.Prizes[0].Stock, l.Prizes[0].Weight = 50, 3
		l.Prizes[1].Weight = 2
		l.NoPrizeWeight = 5
		putLottery(t, s, l)
		outcomes := map[string]int{}
		for i := range 60 {
			d := mustEnter(t, s, "L1", cid("c%d", i), fmt.Sprint(i), day1, t0)
			want := ""
			if j := referral.PickPrize(7, d.Seq, d.Odds, 5); j >= 0 {
				want = d.Odds[j].Prize
			}
			assert.Equal(t, want, d.Prize, "the outcome is PickPrize of the recorded seed, seq and odds")
			outcomes[d.Prize]++
		}
		assert.Len(t, outcomes, 3, "A, B and nothing all occur: %v", outcomes)
	})
	t.Run("DailyLimit", func(t *testing.T) {
		s := newStore(t)
		l := lottery("L1")
		l.PerCustomerPerDay = 2
		l.Prizes[0].Stock = 100
		putLottery(t, s, l)
		mustEnter(t, s, "L1", "c1", "k1", day1, t0)
		mustEnter(t, s, "L1", "c1", "k2", day1, t0)
		_, _, err := enter(s, "L1", "c1", "k3", day1, t0)
		refused(t, err, scrm.ErrExhausted, referral.ReasonDailyLimit)
		mustEnter(t, s, "L1", "c2", "k3", day1, t0)
		d := mustEnter(t, s, "L1", "c1", "k4", day2, t0.Add(24*time.Hour))
		assert.Equal(t, int64(4), d.Seq)
	})
	t.Run("PendingSettleCancel", func(t *testing.T) {
		s := newStore(t)
		l := lottery("L1")
		l.EntryCostPoints = 100
		l.PerCustomerPerDay = 1
		l.Prizes[0].Stock = 1
		l.NoPrizeWeight = 0
		l.Prizes[1].Weight = 1
		putLottery(t, s, l)
		d := mustEnter(t, s, "L1", "c1", "k1", day1, t0)
		assert.Equal(t, referral.DrawPending, d.Status)
		assert.Equal(t, int64(100), d.Cost)
		assert.True(t, d.SettledAt.IsZero())
		_, _, err := enter(s, "L1", "c1", "k2", day1, t0)
		refused(t, err, scrm.ErrExhausted, referral.ReasonDailyLimit) // a held draw counts
		page, err := s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1"})
		require.NoError(t, err)
		assert.Empty(t, page.Results, "held draws are not results")
		un, err := s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0})
		require.NoError(t, err)
		require.Len(t, un.Results, 1)
		assert.Equal(t, d.ID, un.Results[0].ID)
		un, err = s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0.Add(-time.Second)})
		require.NoError(t, err)
		assert.Empty(t, un.Results, "only those at or before Before")

		assert.ErrorIs(t, s.MarkLotteryDrawGranted(ctx, tenant, d.IdempotencyKey, t0), scrm.ErrConflict, "not settled yet")
		assert.ErrorIs(t, s.CancelLotteryDraw(ctx, tenant, "nope"), scrm.ErrNotFound)
		require.NoError(t, s.CancelLotteryDraw(ctx, tenant, d.IdempotencyKey))
		assert.ErrorIs(t, s.CancelLotteryDraw(ctx, tenant, d.IdempotencyKey), scrm.ErrNotFound)
		_, _, err = s.SettleLotteryDraw(ctx, settle(d.IdempotencyKey, t0))
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a cancelled draw is gone")
		_, err = s.GetLotteryDraw(ctx, tenant, d.IdempotencyKey)
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a cancelled draw is gone")
		un, err = s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0})
		require.NoError(t, err)
		assert.Empty(t, un.Results)

		// Its key, its daily place and its prize are free again; its Seq
		// is not reused.
		d2 := mustEnter(t, s, "L1", "c1", "k1", day1, t0.Add(time.Minute))
		assert.Equal(t, int64(2), d2.Seq)
		want := ""
		if j := referral.PickPrize(7, 2, d2.Odds, 0); j >= 0 {
			want = d2.Odds[j].Prize
		}
		assert.Equal(t, want, d2.Prize)
		assert.Equal(t, 1, d2.Odds[0].Left, "the cancelled draw's prize is back in stock")

		settledAt, claimed, err := s.SettleLotteryDraw(ctx, settle(d2.IdempotencyKey, t0.Add(2*time.Minute)))
		require.NoError(t, err)
		sameTime(t, t0.Add(2*time.Minute), settledAt)
		assert.True(t, claimed, "settling a draw that won claims its grant")
		settledAt, claimed, err = s.SettleLotteryDraw(ctx, settle(d2.IdempotencyKey, t0.Add(time.Hour)))
		require.NoError(t, err)
		sameTime(t, t0.Add(2*time.Minute), settledAt, "settling twice changes nothing")
		assert.False(t, claimed)
		page, err = s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1"})
		require.NoError(t, err)
		require.Len(t, page.Results, 1)
		assert.Equal(t, referral.DrawSettled, page.Results[0].Status)
		sameTime(t, t0.Add(2*time.Minute), page.Results[0].SettledAt)
		assert.Equal(t, d2.Prize, page.Results[0].Prize)
		assert.Equal(t, d2.Odds, page.Results[0].Odds)
		sameTime(t, d2.At, page.Results[0].At)
		assert.ErrorIs(t, s.CancelLotteryDraw(ctx, tenant, d2.IdempotencyKey), scrm.ErrConflict, "a settled draw stands")

		un, err = s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, un.Results, 1, "won and not granted")
		require.NoError(t, s.MarkLotteryDrawGranted(ctx, tenant, d2.IdempotencyKey, t0.Add(3*time.Minute)))
		require.NoError(t, s.MarkLotteryDrawGranted(ctx, tenant, d2.IdempotencyKey, t0.Add(time.Hour)))
		un, err = s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.Empty(t, un.Results)
		page, err = s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1"})
		require.NoError(t, err)
		require.Len(t, page.Results, 1)
		sameTime(t, t0.Add(3*time.Minute), page.Results[0].GrantedAt, "the first mark stays")
		assert.ErrorIs(t, s.MarkLotteryDrawGranted(ctx, other, d2.IdempotencyKey, t0), scrm.ErrNotFound)
	})
	t.Run("PaidEntry", func(t *testing.T) {
		// A paid entry (EnterLotteryParams.Paid) is made whatever the daily
		// limit, the stock and the window, and is never cancelled.
		s := newStore(t)
		l := lottery("L1")
		l.EntryCostPoints = 100
		l.PerCustomerPerDay = 1
		l.Prizes[0].Stock = 1 // A: always won while it lasts; B: weight 0; nothing: weight 0
		putLottery(t, s, l)
		paid := func(key string, cost int64, at time.Time) (referral.DrawResult, bool, error) {
			return s.EnterLottery(ctx, referral.EnterLotteryParams{Tenant: tenant, Lottery: "L1", Customer: "c1",
				IdempotencyKey: key, ID: "L1/" + key, Day: day1, Now: at, Paid: cost})
		}
		held := mustEnter(t, s, "L1", "c1", "k1", day1, t0)
		require.NoError(t, s.CancelLotteryDraw(ctx, tenant, held.IdempotencyKey))
		other := mustEnter(t, s, "L1", "c1", "k2", day1, t0) // takes the daily place and the stock
		assert.Equal(t, "A", other.Prize)
		_, _, err := enter(s, "L1", "c1", "k1", day1, t0)
		refused(t, err, scrm.ErrExhausted, referral.ReasonDailyLimit)

		d, created, err := paid("k1", 100, t0.Add(time.Minute))
		require.NoError(t, err, "a paid entry passes the daily limit and the stock")
		assert.True(t, created)
		assert.Equal(t, int64(3), d.Seq)
		assert.Equal(t, referral.DrawPending, d.Status)
		assert.Equal(t, int64(100), d.Cost)
		assert.Equal(t, day1, d.Day)
		assert.Empty(t, d.Prize, "nothing left to win")
		assert.NoError(t, d.Audit())
		assert.ErrorIs(t, s.CancelLotteryDraw(ctx, tenant, "k1"), scrm.ErrConflict, "a paid draw is never cancelled")
		again, created, err := paid("k1", 100, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, created, "the key replays")
		assert.Equal(t, d.Seq, again.Seq)
		_, _, err = s.SettleLotteryDraw(ctx, settle("k1", t0.Add(2*time.Minute)))
		require.NoError(t, err)
		page, err := s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, page.Results, 1, "k2 is still held")

		// A held draw of the key is marked paid by a paid entry.
		require.NoError(t, s.CancelLotteryDraw(ctx, tenant, "k2"))
		mustEnter(t, s, "L1", "c1", "k3", day2, t0.Add(24*time.Hour))
		_, created, err = s.EnterLottery(ctx, referral.EnterLotteryParams{Tenant: tenant, Lottery: "L1", Customer: "c1",
			IdempotencyKey: "k3", ID: "L1/k3", Day: day2, Now: t0.Add(24 * time.Hour), Paid: 100})
		require.NoError(t, err)
		assert.False(t, created)
		assert.ErrorIs(t, s.CancelLotteryDraw(ctx, tenant, "k3"), scrm.ErrConflict, "marked paid")

		// Past the window, and at the cost that was paid.
		late, created, err := paid("k4", 60, l.End.Add(time.Hour))
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, int64(60), late.Cost)
		assert.Equal(t, referral.DrawPending, late.Status)
	})
	t.Run("GrantClaims", func(t *testing.T) {
		s := newStore(t)
		putLottery(t, s, lottery("L1")) // free, and every draw wins while stock lasts
		free, created, err := s.EnterLottery(ctx, referral.EnterLotteryParams{Tenant: tenant, Lottery: "L1", Customer: "c1",
			IdempotencyKey: "k1", ID: "L1/k1", Day: day1, Now: t0, GrantUntil: t0.Add(time.Minute)})
		require.NoError(t, err)
		require.True(t, created)
		require.True(t, free.Won())
		ok, err := s.ClaimLotteryGrant(ctx, grantClaim("k1", t0.Add(30*time.Second)))
		require.NoError(t, err)
		assert.False(t, ok, "the creator of a free draw that won holds the claim until GrantUntil")
		ok, err = s.ClaimLotteryGrant(ctx, grantClaim("k1", t0.Add(time.Minute)))
		require.NoError(t, err)
		assert.True(t, ok, "a claim runs out at its Until")
		ok, err = s.ClaimLotteryGrant(ctx, grantClaim("k1", t0.Add(time.Minute)))
		require.NoError(t, err)
		assert.False(t, ok)
		require.NoError(t, s.ReleaseLotteryGrant(ctx, tenant, "k1"))
		ok, err = s.ClaimLotteryGrant(ctx, grantClaim("k1", t0.Add(time.Minute)))
		require.NoError(t, err)
		assert.True(t, ok, "released: claimable at once")
		require.NoError(t, s.MarkLotteryDrawGranted(ctx, tenant, "k1", t0.Add(time.Minute)))
		ok, err = s.ClaimLotteryGrant(ctx, grantClaim("k1", t0.Add(time.Hour)))
		require.NoError(t, err)
		assert.False(t, ok, "granted")

		_, err = s.ClaimLotteryGrant(ctx, grantClaim("nope", t0))
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		assert.ErrorIs(t, s.ReleaseLotteryGrant(ctx, tenant, "nope"), scrm.ErrNotFound)
		_, err = s.ClaimLotteryGrant(ctx, referral.ClaimLotteryGrantParams{Tenant: other, Key: "k1", Now: t0, Until: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "tenants are isolated")

		costly := lottery("L2")
		costly.Keyword, costly.EntryCostPoints = "", 10
		putLottery(t, s, costly)
		held := mustEnter(t, s, "L2", "c2", "k2", day1, t0)
		_, err = s.ClaimLotteryGrant(ctx, grantClaim("k2", t0))
		assert.ErrorIs(t, err, scrm.ErrConflict, "pending")

		// Of many callers settling or claiming at once, exactly one holds
		// the claim.
		n := race(50, func(i int) error {
			var ok bool
			var err error
			if i%2 == 0 {
				_, ok, err = s.SettleLotteryDraw(ctx, settle(held.IdempotencyKey, t0))
			} else {
				ok, err = s.ClaimLotteryGrant(ctx, grantClaim(held.IdempotencyKey, t0))
				if errors.Is(err, scrm.ErrConflict) {
					return err // not settled yet
				}
			}
			if err == nil && !ok {
				return errNotClaimed
			}
			return err
		}, func(err error) {
			if !errors.Is(err, scrm.ErrConflict) && !errors.Is(err, errNotClaimed) {
				t.Error(err)
			}
		})
		assert.Equal(t, 1, n)
	})
	t.Run("MarkNothingWon", func(t *testing.T) {
		s := newStore(t)
		l := lottery("L1")
		l.Prizes[0].Weight, l.Prizes[1].Weight, l.Prizes[1].Stock = 0, 1, 1
		l.NoPrizeWeight = maxNoPrize
		putLottery(t, s, l)
		var lost referral.DrawResult
		for i := 0; lost.ID == ""; i++ {
			require.Less(t, i, 50, "a draw at odds of 1 in 10⁹ to win should lose")
			if d := mustEnter(t, s, "L1", cid("c%d", i), fmt.Sprint(i), day1, t0); !d.Won() {
				lost = d
			}
		}
		assert.ErrorIs(t, s.MarkLotteryDrawGranted(ctx, tenant, lost.IdempotencyKey, t0), scrm.ErrConflict)
		ok, err := s.ClaimLotteryGrant(ctx, grantClaim(lost.IdempotencyKey, t0))
		require.NoError(t, err)
		assert.False(t, ok, "a draw that won nothing has no grant to claim")
		un, err := s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0})
		require.NoError(t, err)
		for _, d := range un.Results {
			assert.True(t, d.Won(), "a settled draw that won nothing is finished")
		}
	})
	t.Run("ListPages", func(t *testing.T) {
		s := newStore(t)
		l := lottery("L1")
		l.Prizes[0].Stock = 4
		l.Prizes[1].Weight = 0
		l.NoPrizeWeight = 0
		putLottery(t, s, l)
		l2 := lottery("L2")
		l2.Keyword = ""
		putLottery(t, s, l2)
		for i := range 4 {
			mustEnter(t, s, "L1", cid("c%d", i%2), fmt.Sprint(i), day1, t0)
		}
		mustEnter(t, s, "L2", "c0", "other lottery", day1, t0)
		var seqs []int64
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page, err := s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Cursor: cursor, Limit: 3})
			require.NoError(t, err)
			for _, d := range page.Results {
				assert.Equal(t, "L1", d.Lottery)
				seqs = append(seqs, d.Seq)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		assert.Equal(t, []int64{1, 2, 3, 4}, seqs)
		page, err := s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Customer: "c1", Won: true})
		require.NoError(t, err)
		require.Len(t, page.Results, 2)
		assert.Equal(t, []int64{2, 4}, []int64{page.Results[0].Seq, page.Results[1].Seq})
		assert.Empty(t, page.Next)
		page, err = s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Customer: "c0", Limit: 1})
		require.NoError(t, err)
		require.Len(t, page.Results, 1)
		assert.Equal(t, int64(1), page.Results[0].Seq)
		page, err = s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Customer: "c0", Cursor: page.Next})
		require.NoError(t, err)
		require.Len(t, page.Results, 1, "only the lottery's draws: c0 drew in L2 too")
		assert.Equal(t, int64(3), page.Results[0].Seq)
		assert.Empty(t, page.Next)
		page, err = s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Won: true, Cursor: "3"})
		require.NoError(t, err)
		require.Len(t, page.Results, 1)
		assert.Equal(t, int64(4), page.Results[0].Seq)
		_, err = s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Cursor: "x"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		page, err = s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: other, Lottery: "L1"})
		require.NoError(t, err)
		assert.Empty(t, page.Results, "tenants are isolated")
	})
	t.Run("StockRace", func(t *testing.T) {
		// 500 customers race for a prize of stock 10 that nearly every draw
		// would win: exactly 10 win it, and every draw is recorded once.
		s := newStore(t)
		l := lottery("L1")
		l.Prizes[0] = referral.Prize{ID: "A", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "big"}, Stock: 10, Weight: 1_000_000}
		l.Prizes[1] = referral.Prize{ID: "B", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "small"}, Stock: 1000, Weight: 1}
		l.NoPrizeWeight = 1
		putLottery(t, s, l)
		results := make([]referral.DrawResult, 500)
		n := race(500, func(i int) error {
			var err error
			results[i], _, err = enter(s, "L1", cid("c%03d", i), fmt.Sprint(i), day1, t0)
			return err
		}, func(err error) { t.Error(err) })
		require.Equal(t, 500, n)
		won, seqs := 0, map[int64]bool{}
		for _, d := range results {
			if d.Prize == "A" {
				won++
			}
			seqs[d.Seq] = true
			assert.NoError(t, d.Audit())
		}
		assert.Equal(t, 10, won, "exactly the stock")
		assert.Len(t, seqs, 500, "every draw its own number")
		var all []referral.DrawResult
		cursor := ""
		for {
			page, err := s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Won: true, Cursor: cursor, Limit: 1000})
			require.NoError(t, err)
			all = append(all, page.Results...)
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		a := 0
		for _, d := range all {
			if d.Prize == "A" {
				a++
			}
		}
		assert.Equal(t, 10, a)
	})
	t.Run("DailyLimitAndKeyRace", func(t *testing.T) {
		s := newStore(t)
		l := lottery("L1")
		l.PerCustomerPerDay = 3
		l.Prizes[0].Stock = 1000
		putLottery(t, s, l)
		n := race(50, func(i int) error {
			_, _, err := enter(s, "L1", "c1", fmt.Sprint(i), day1, t0)
			return err
		}, func(err error) { refused(t, err, scrm.ErrExhausted, referral.ReasonDailyLimit) })
		assert.Equal(t, 3, n, "exactly the daily limit")

		created := make([]bool, 50)
		ids := make([]int64, 50)
		race(50, func(i int) error {
			d, c, err := enter(s, "L1", "c2", "same key", day1, t0)
			created[i], ids[i] = c, d.Seq
			return err
		}, func(err error) { t.Error(err) })
		count := 0
		for i := range created {
			if created[i] {
				count++
			}
			assert.Equal(t, ids[0], ids[i], "one draw for one key")
		}
		assert.Equal(t, 1, count)
	})
	t.Run("KeysArePerTenant", func(t *testing.T) {
		// The same key in two tenants names two draws: settling,
		// cancelling or listing one tenant's never touches the other's.
		s := newStore(t)
		for _, tn := range []scrm.TenantID{tenant, other} {
			l := lottery("L1")
			l.Tenant, l.EntryCostPoints = tn, 10
			putLottery(t, s, l)
			for _, key := range []string{"k1", "k2"} {
				_, created, err := s.EnterLottery(ctx, referral.EnterLotteryParams{Tenant: tn, Lottery: "L1", Customer: "c1",
					IdempotencyKey: key, ID: "L1/" + key, Day: day1, Now: t0})
				require.NoError(t, err)
				require.True(t, created)
			}
		}
		require.NoError(t, s.CancelLotteryDraw(ctx, tenant, "k1"))
		theirs, err := s.GetLotteryDraw(ctx, other, "k1")
		require.NoError(t, err, "the other tenant's k1 is not cancelled")
		assert.Equal(t, referral.DrawPending, theirs.Status)
		_, _, err = s.SettleLotteryDraw(ctx, settle("k2", t0.Add(time.Minute)))
		require.NoError(t, err)
		theirs, err = s.GetLotteryDraw(ctx, other, "k2")
		require.NoError(t, err)
		assert.Equal(t, referral.DrawPending, theirs.Status, "the other tenant's k2 is not settled")
		assert.True(t, theirs.SettledAt.IsZero())

		un, err := s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0.Add(time.Hour)})
		require.NoError(t, err)
		for _, d := range un.Results {
			assert.Equal(t, tenant, d.Tenant, "only the tenant's draws: %s", d.IdempotencyKey)
		}
		un, err = s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: other, Before: t0.Add(time.Hour)})
		require.NoError(t, err)
		var keys []string
		for _, d := range un.Results {
			assert.Equal(t, other, d.Tenant)
			keys = append(keys, d.IdempotencyKey)
		}
		assert.Equal(t, []string{"k1", "k2"}, keys)
	})
	t.Run("UnfinishedPages", func(t *testing.T) {
		// In key order, whatever the order drawn in, each draw once
		// across pages.
		s := newStore(t)
		l := lottery("L1")
		l.EntryCostPoints = 10
		l.Prizes[0].Stock = 100
		putLottery(t, s, l)
		for i, key := range []string{"k5", "k1", "k4", "k2", "k3"} {
			mustEnter(t, s, "L1", cid("c%d", i), key, day1, t0.Add(time.Duration(i)*time.Minute))
		}
		var keys []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page, err := s.ListUnfinishedLotteryDraws(ctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0.Add(time.Hour),
				Cursor: cursor, Limit: 2})
			require.NoError(t, err)
			require.LessOrEqual(t, len(page.Results), 2)
			for _, d := range page.Results {
				keys = append(keys, d.IdempotencyKey)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		assert.Equal(t, []string{"k1", "k2", "k3", "k4", "k5"}, keys)
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		putLottery(t, s, lottery("L1"))
		d := mustEnter(t, s, "L1", "c1", "k1", day1, t0)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		check := func(name string, err error) {
			t.Helper()
			assert.ErrorIs(t, err, scrm.ErrUnavailable, name)
			assert.ErrorIs(t, err, context.Canceled, name)
		}
		_, err := s.PutLottery(cctx, lottery("L2"))
		check("PutLottery", err)
		_, err = s.GetLottery(cctx, tenant, "L1")
		check("GetLottery", err)
		_, err = s.FindLottery(cctx, tenant, "抽奖", t0)
		check("FindLottery", err)
		_, _, err = s.EnterLottery(cctx, referral.EnterLotteryParams{Tenant: tenant, Lottery: "L1", Customer: "c2", IdempotencyKey: "k2", ID: "L1/k2", Day: day1, Now: t0})
		check("EnterLottery", err)
		_, err = s.GetLotteryDraw(cctx, tenant, d.IdempotencyKey)
		check("GetLotteryDraw", err)
		_, _, err = s.SettleLotteryDraw(cctx, settle(d.IdempotencyKey, t0))
		check("SettleLotteryDraw", err)
		_, err = s.ClaimLotteryGrant(cctx, grantClaim(d.IdempotencyKey, t0))
		check("ClaimLotteryGrant", err)
		check("ReleaseLotteryGrant", s.ReleaseLotteryGrant(cctx, tenant, d.IdempotencyKey))
		check("CancelLotteryDraw", s.CancelLotteryDraw(cctx, tenant, d.IdempotencyKey))
		check("MarkLotteryDrawGranted", s.MarkLotteryDrawGranted(cctx, tenant, d.IdempotencyKey, t0))
		_, err = s.ListLotteryDraws(cctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1"})
		check("ListLotteryDraws", err)
		_, err = s.ListLotteryDraws(cctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1", Cursor: "not a cursor"})
		check("ListLotteryDraws with a bad cursor", err)
		_, err = s.ListUnfinishedLotteryDraws(cctx, referral.ListUnfinishedParams{Tenant: tenant, Before: t0})
		check("ListUnfinishedLotteryDraws", err)

		_, err = s.GetLottery(ctx, tenant, "L2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		page, err := s.ListLotteryDraws(ctx, referral.ListLotteryDrawsParams{Tenant: tenant, Lottery: "L1"})
		require.NoError(t, err)
		require.Len(t, page.Results, 1)
		assert.True(t, page.Results[0].GrantedAt.IsZero(), "nothing written")
	})
}

// maxNoPrize is the largest weight a lottery allows.
const maxNoPrize = 1_000_000_000
