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

func setDue(lotExpiry, tierDue time.Time) func(tx *member.LedgerTx) error {
	return func(tx *member.LedgerTx) error {
		a := tx.Account
		a.Lots = nil
		if !lotExpiry.IsZero() {
			a.LastLot++
			a.Lots = []member.Lot{{ID: a.LastLot, Points: 10, Remaining: 10, Earned: t0.UnixNano(), Expiry: lotExpiry.UnixNano()}}
		}
		a.TierDue = tierDue
		return nil
	}
}

func listAll(t *testing.T, list func(p member.ListDueParams) (member.DuePage, error), tenant scrm.TenantID, before time.Time, limit int) []member.DueAccount {
	t.Helper()
	var out []member.DueAccount
	cursor := ""
	for {
		page, err := list(member.ListDueParams{Tenant: tenant, Before: before, Cursor: cursor, Limit: limit})
		require.NoError(t, err)
		out = append(out, page.Accounts...)
		if page.Next == "" {
			return out
		}
		require.Len(t, page.Accounts, limit, "only the last page may be short")
		cursor = page.Next
	}
}

func testDue(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("OrderFilterAndPaging", func(t *testing.T) {
		s := newStore(t)
		// c00..c29: lots expiring on day i%10, tier due on day 5 for every
		// third; c30 has nothing due.
		for i := 0; i < 30; i++ {
			var tierDue time.Time
			if i%3 == 0 {
				tierDue = t0.AddDate(0, 0, 5)
			}
			update(t, s, member.UpdateParams{Tenant: "t1", Customer: scrm.CustomerID(fmt.Sprintf("c%02d", i))},
				setDue(t0.AddDate(0, 0, i%10), tierDue))
		}
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c30"}, setDue(time.Time{}, time.Time{}))

		before := t0.AddDate(0, 0, 6)
		for _, limit := range []int{1, 4, 100} {
			due := listAll(t, func(p member.ListDueParams) (member.DuePage, error) { return s.ListDue(ctx, p) }, "t1", before, limit)
			exp := listAll(t, func(p member.ListDueParams) (member.DuePage, error) { return s.ListExpiring(ctx, p) }, "t1", before, limit)
			var wantDue, wantExp []string
			for day := 0; day <= 6; day++ {
				for i := 0; i < 30; i++ {
					lot := i % 10
					d := lot
					if i%3 == 0 && 5 < lot {
						d = 5
					}
					if d == day {
						wantDue = append(wantDue, fmt.Sprintf("c%02d@%d", i, day))
					}
					if lot == day {
						wantExp = append(wantExp, fmt.Sprintf("c%02d@%d", i, day))
					}
				}
			}
			render := func(as []member.DueAccount) []string {
				var out []string
				for _, a := range as {
					out = append(out, fmt.Sprintf("%s@%d", a.Customer, int(a.At.Sub(t0).Hours()/24)))
				}
				return out
			}
			assert.Equal(t, wantDue, render(due), "ListDue, limit %d", limit)
			assert.Equal(t, wantExp, render(exp), "ListExpiring, limit %d", limit)
		}
	})

	t.Run("UpdatesMoveAccounts", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, setDue(t0.Add(time.Hour), time.Time{}))
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c2"}, setDue(t0.Add(2*time.Hour), time.Time{}))
		page, err := s.ListDue(ctx, member.ListDueParams{Tenant: "t1", Before: t0.Add(3 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, page.Accounts, 2)
		assert.Equal(t, scrm.CustomerID("c1"), page.Accounts[0].Customer)
		assertTime(t, t0.Add(time.Hour), page.Accounts[0].At)

		// c1 swept: its lot expired, nothing is due any more.
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, setDue(time.Time{}, time.Time{}))
		// c2 gets a later lot.
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c2"}, setDue(t0.Add(48*time.Hour), time.Time{}))
		page, err = s.ListDue(ctx, member.ListDueParams{Tenant: "t1", Before: t0.Add(3 * time.Hour)})
		require.NoError(t, err)
		assert.Empty(t, page.Accounts)
		page, err = s.ListExpiring(ctx, member.ListDueParams{Tenant: "t1", Before: t0.Add(72 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, page.Accounts, 1)
		assert.Equal(t, scrm.CustomerID("c2"), page.Accounts[0].Customer)

		// Held points do not expire: a lot whose points are all held is not
		// listed as expiring.
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c2"}, func(tx *member.LedgerTx) error {
			tx.Account.Lots[0].Held = tx.Account.Lots[0].Remaining
			return nil
		})
		page, err = s.ListExpiring(ctx, member.ListDueParams{Tenant: "t1", Before: t0.Add(72 * time.Hour)})
		require.NoError(t, err)
		assert.Empty(t, page.Accounts)
	})

	t.Run("MalformedCursor", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, setDue(t0, time.Time{}))
		_, err := s.ListDue(ctx, member.ListDueParams{Tenant: "t1", Before: t0, Cursor: "%%%"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.ListExpiring(ctx, member.ListDueParams{Tenant: "t1", Before: t0, Cursor: "%%%"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})
}
