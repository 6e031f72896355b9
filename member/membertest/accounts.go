package membertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// fullAccount sets every field of an account, to test round trips.
func fullAccount(tx *member.LedgerTx) error {
	a := tx.Account
	a.CreatedAt, a.UpdatedAt = t0, t0.Add(time.Hour)
	a.Seq, a.LastLot = 7, 3
	a.Growth, a.Debt, a.Held, a.Unclawed = 2500, 0, 40, 25
	a.UnclawedParts = []member.UnclawedPart{{At: t0.Add(-90 * time.Minute), Points: 10}, {At: t0.Add(-30 * time.Minute), Points: 15}}
	a.Tier, a.TierSince = "gold", t0.Add(-48*time.Hour)
	a.TierUntil = t0.AddDate(0, 6, 0)
	a.TierDue = a.TierUntil
	a.Lots = []member.Lot{
		{ID: 2, Points: 100, Remaining: 60, Held: 40, Earned: t0.Add(-time.Hour).UnixNano(), Expiry: t0.AddDate(0, 1, 0).UnixNano()},
		{ID: 3, Points: 500, Remaining: 500, Earned: t0.UnixNano(), Expiry: t0.AddDate(1, 0, 0).UnixNano()},
		{ID: 1, Points: 9, Remaining: 9, Earned: t0.Add(-2 * time.Hour).UnixNano()},
	}
	a.Rolling = []member.MonthGrowth{{Month: 24313, Growth: 1000}, {Month: 24314, Growth: 1500}}
	a.Rewarded = map[string]time.Time{"silver": time.Time{}, "gold": t0.AddDate(0, 6, 0)}
	a.Events = map[string]member.EventUsage{"review.posted": {Day: 20260301, Today: 1, Total: 5}}
	tx.Outcome.After = member.Balance{Points: a.Points(), Held: a.Held, Growth: a.Growth, Tier: a.Tier}
	return nil
}

func assertSameAccount(t *testing.T, want, got member.AccountState) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.Customer, got.Customer)
	assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	assertTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
	assert.Equal(t, want.Seq, got.Seq)
	assert.Equal(t, want.LastLot, got.LastLot)
	assert.Equal(t, want.Growth, got.Growth)
	assert.Equal(t, want.Debt, got.Debt)
	assert.Equal(t, want.Held, got.Held)
	assert.Equal(t, want.Unclawed, got.Unclawed, "Unclawed")
	require.Len(t, got.UnclawedParts, len(want.UnclawedParts), "UnclawedParts")
	for i, w := range want.UnclawedParts {
		assertTime(t, w.At, got.UnclawedParts[i].At, fmt.Sprintf("UnclawedParts[%d].At", i))
		assert.Equal(t, w.Points, got.UnclawedParts[i].Points, "UnclawedParts[%d].Points", i)
	}
	assert.Equal(t, want.Tier, got.Tier)
	assertTime(t, want.TierSince, got.TierSince, "TierSince")
	assertTime(t, want.TierUntil, got.TierUntil, "TierUntil")
	assertTime(t, want.TierDue, got.TierDue, "TierDue")
	require.Len(t, got.Lots, len(want.Lots))
	for i, w := range want.Lots {
		g := got.Lots[i]
		assert.Equal(t, w.ID, g.ID, "Lots[%d]", i)
		assert.Equal(t, w.Points, g.Points, "Lots[%d]", i)
		assert.Equal(t, w.Remaining, g.Remaining, "Lots[%d]", i)
		assert.Equal(t, w.Held, g.Held, "Lots[%d]", i)
		assert.Equal(t, w.Earned, g.Earned, "Lots[%d].Earned", i)
		assert.Equal(t, w.Expiry, g.Expiry, "Lots[%d].Expiry", i)
	}
	assert.Equal(t, want.Rolling, got.Rolling)
	require.Len(t, got.Rewarded, len(want.Rewarded))
	for k, v := range want.Rewarded {
		gv, ok := got.Rewarded[k]
		require.True(t, ok, "Rewarded[%s]", k)
		assertTime(t, v, gv, "Rewarded[%s]", k)
	}
	assert.Equal(t, want.Events, got.Events)
}

func testAccounts(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Account(ctx, "t1", "nobody")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("NewAccountAndRoundTrip", func(t *testing.T) {
		s := newStore(t)
		var seen member.AccountState
		_, _, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1"}, func(tx *member.LedgerTx) error {
			seen = *tx.Account.Clone()
			return fullAccount(tx)
		})
		require.NoError(t, err)
		assert.Equal(t, int64(0), seen.Version, "a new account has Version 0")
		assert.Equal(t, scrm.TenantID("t1"), seen.Tenant)
		assert.Equal(t, scrm.CustomerID("c1"), seen.Customer)
		assert.Empty(t, seen.Lots)

		want := &member.AccountState{Tenant: "t1", Customer: "c1"}
		require.NoError(t, fullAccount(&member.LedgerTx{Account: want}))
		got := account(t, s, "t1", "c1")
		assert.Equal(t, int64(1), got.Version)
		assertSameAccount(t, *want, *got)
		assert.Equal(t, int64(60-40+500+9), got.Points(), "free points of the lots")

		// The next update sees what was saved, and bumps the version.
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1"}, func(tx *member.LedgerTx) error {
			assert.Equal(t, int64(1), tx.Account.Version)
			assertSameAccount(t, *want, *tx.Account)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, int64(2), account(t, s, "t1", "c1").Version)
	})

	t.Run("ErrorWritesNothing", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
		_, _, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", OrderID: "o1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			tx.Account.Growth, tx.Account.Unclawed = 999, 7
			tx.Account.UnclawedParts = append(tx.Account.UnclawedParts, member.UnclawedPart{At: t0, Points: 7})
			tx.Account.Lots[0].Remaining = 1
			tx.Order = &member.OrderRecord{OrderID: "o1", Points: 5}
			tx.Hold = &member.HoldRecord{ID: "h1", Tenant: "t1", Customer: "c1", State: member.HoldOpen}
			tx.Outcome.Entries = []member.Entry{{Seq: 2, Kind: member.EntryAdjust}}
			return scrm.Errorf(scrm.ErrExhausted, "test", "no")
		})
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		got := account(t, s, "t1", "c1")
		assert.Equal(t, int64(1), got.Version)
		assert.Zero(t, got.Growth)
		assert.Zero(t, got.Unclawed)
		assert.Empty(t, got.UnclawedParts)
		assert.Equal(t, int64(100), got.Lots[0].Remaining)
		_, err = s.Order(ctx, "t1", "c1", "o1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Hold(ctx, "t1", "h1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, page.Entries, 1)

		// A failed first update creates no account.
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c2"}, func(*member.LedgerTx) error {
			return scrm.Errorf(scrm.ErrInvalid, "test", "no")
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.Account(ctx, "t1", "c2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("InvalidParams", func(t *testing.T) {
		s := newStore(t)
		called := false
		fn := func(*member.LedgerTx) error { called = true; return nil }
		_, _, err := s.Update(ctx, member.UpdateParams{Customer: "c1"}, fn)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1"}, fn)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		assert.False(t, called)

		// Records that do not match the params are refused.
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.LedgerTx) error {
			tx.Order = &member.OrderRecord{OrderID: "o2"}
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			tx.Hold = &member.HoldRecord{ID: "h1", Tenant: "t1", Customer: "c2"}
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			tx.Hold = &member.HoldRecord{ID: "h2", Tenant: "t1", Customer: "c1"}
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "a hold of another ID")
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1"}, func(tx *member.LedgerTx) error {
			tx.Hold = &member.HoldRecord{ID: "h2", Tenant: "t1", Customer: "c1"}
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "a hold the params do not name")
		for _, id := range []string{"h1", "h2"} {
			_, err = s.Hold(ctx, "t1", id)
			assert.ErrorIs(t, err, scrm.ErrNotFound, "refused updates write no hold")
		}
		_, err = s.Account(ctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "refused updates write nothing")
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		var given *member.AccountState
		out, _, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.LedgerTx) error {
			tx.Order = &member.OrderRecord{OrderID: "o1", SpentLots: []member.LotMove{{Lot: 1, Points: 5}}}
			tx.Outcome.Entries = []member.Entry{{Seq: 1, Kind: member.EntryEarn, Points: 9, Lots: []member.LotMove{{Lot: 1, Points: 9}}}}
			return fullAccount(tx)
		})
		require.NoError(t, err)
		// Changing what came back changes nothing stored.
		out.After.Points = -1
		out.Entries[0].Lots[0].Points = 100
		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Equal(t, int64(9), page.Entries[0].Lots[0].Points)

		got := account(t, s, "t1", "c1")
		got.Lots[0].Remaining = 2
		got.Rolling[0].Growth = 2
		got.Rewarded["gold"] = time.Time{}
		got.Events["review.posted"] = member.EventUsage{}
		again := account(t, s, "t1", "c1")
		assert.Equal(t, int64(60), again.Lots[0].Remaining)
		assert.Equal(t, int64(1000), again.Rolling[0].Growth)
		assert.False(t, again.Rewarded["gold"].IsZero())
		assert.Equal(t, int64(5), again.Events["review.posted"].Total)
		o, err := s.Order(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		o.SpentLots[0].Points = 99
		o, err = s.Order(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.Equal(t, int64(5), o.SpentLots[0].Points)

		// The account fn is given is a copy: changing it and failing
		// changes nothing.
		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1"}, func(tx *member.LedgerTx) error {
			given = tx.Account
			tx.Account.Lots[0].Remaining = 3
			tx.Account.Rewarded["silver"] = t0
			return scrm.Errorf(scrm.ErrConflict, "test", "no")
		})
		require.Error(t, err)
		assert.NotNil(t, given)
		again = account(t, s, "t1", "c1")
		assert.Equal(t, int64(60), again.Lots[0].Remaining)
		assert.True(t, again.Rewarded["silver"].IsZero())
	})
}
