// Package membertest is the conformance suite of member.Store: every
// implementation, the in-memory one included, must pass RunStoreTests.
//
//	func TestMyStore(t *testing.T) {
//		membertest.RunStoreTests(t, func(t *testing.T) member.Store {
//			return mystore.New(testDB(t))
//		})
//	}
package membertest

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// RunStoreTests is the conformance suite every member.Store must pass.
// newStore is called once per subtest and must return an empty store.
//
// Times are compared with a millisecond tolerance and decimals with Equal,
// so a store that truncates timestamps or normalizes decimals passes.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Helper()
	t.Run("Programs", func(t *testing.T) { testPrograms(t, newStore) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, newStore) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, newStore) })
	t.Run("Holds", func(t *testing.T) { testHolds(t, newStore) })
	t.Run("Orders", func(t *testing.T) { testOrders(t, newStore) })
	t.Run("Journal", func(t *testing.T) { testJournal(t, newStore) })
	t.Run("Due", func(t *testing.T) { testDue(t, newStore) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, newStore) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, newStore) })
	t.Run("Context", func(t *testing.T) { testContext(t, newStore) })
	t.Run("CheckIn", func(t *testing.T) { testCheckIn(t, newStore) })
	t.Run("StoredValue", func(t *testing.T) { testStoredValue(t, newStore) })
	t.Run("Plans", func(t *testing.T) { testPlans(t, newStore) })
	t.Run("Mall", func(t *testing.T) { testMall(t, newStore) })
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// tol is the time tolerance of round trips.
const tol = time.Millisecond

func assertTime(t *testing.T, want, got time.Time, msgAndArgs ...any) {
	t.Helper()
	if want.IsZero() {
		assert.True(t, got.IsZero(), msgAndArgs...)
		return
	}
	assert.WithinDuration(t, want, got, tol, msgAndArgs...)
}

// credit is a minimal ledger step for the suite: it adds points to a new lot
// of the account expiring at exp and journals it.
func credit(points int64, exp time.Time) func(tx *member.LedgerTx) error {
	return func(tx *member.LedgerTx) error {
		a := tx.Account
		a.Seq++
		a.LastLot++
		var expiry int64
		if !exp.IsZero() {
			expiry = exp.UnixNano()
		}
		a.Lots = append(a.Lots, member.Lot{ID: a.LastLot, Points: points, Remaining: points, Earned: t0.UnixNano(), Expiry: expiry})
		tx.Outcome.Entries = append(tx.Outcome.Entries, member.Entry{Seq: a.Seq, Kind: member.EntryEarn, At: t0, Points: points,
			Lots: []member.LotMove{{Lot: a.LastLot, Points: points, Expiry: expiry}}})
		tx.Outcome.After = member.Balance{Points: a.Points(), Growth: a.Growth}
		return nil
	}
}

// spend takes points from the account's lots in order, or fails with
// ErrExhausted when they are short: the check-then-act the store's lock
// makes safe.
func spend(points int64) func(tx *member.LedgerTx) error {
	return func(tx *member.LedgerTx) error {
		a := tx.Account
		if a.Points() < points {
			return scrm.Errorf(scrm.ErrExhausted, "membertest", "short")
		}
		a.Seq++
		ent := member.Entry{Seq: a.Seq, Kind: member.EntrySpend, At: t0, Points: -points}
		need := points
		for i := range a.Lots {
			take := min(a.Lots[i].Free(), need)
			a.Lots[i].Remaining -= take
			need -= take
			ent.Lots = append(ent.Lots, member.LotMove{Lot: a.Lots[i].ID, Points: -take})
		}
		tx.Outcome.Entries = append(tx.Outcome.Entries, ent)
		tx.Outcome.After = member.Balance{Points: a.Points()}
		return nil
	}
}

func update(t *testing.T, s member.Store, p member.UpdateParams, fn func(tx *member.LedgerTx) error) member.Outcome {
	t.Helper()
	out, replayed, err := s.Update(ctx, p, fn)
	require.NoError(t, err)
	require.False(t, replayed)
	return out
}

func account(t *testing.T, s member.Store, tenant scrm.TenantID, c scrm.CustomerID) *member.AccountState {
	t.Helper()
	a, err := s.Account(ctx, tenant, c)
	require.NoError(t, err)
	return &a
}
