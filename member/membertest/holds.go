package membertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func sampleHold(id string, c scrm.CustomerID) member.HoldRecord {
	return member.HoldRecord{ID: id, Tenant: "t1", Customer: c, OrderID: "o1", Key: "k-" + id, Points: 300,
		Value: dec("3.00"), OrderAmount: dec("10.50"), State: member.HoldOpen, Program: 2, CreatedAt: t0,
		Lots: []member.LotMove{{Lot: 1, Held: 200, Expiry: t0.AddDate(0, 1, 0).UnixNano()}, {Lot: 2, Held: 100}}}
}

func assertSameHold(t *testing.T, want, got member.HoldRecord) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.Customer, got.Customer)
	assert.Equal(t, want.OrderID, got.OrderID)
	assert.Equal(t, want.Key, got.Key)
	assert.Equal(t, want.Points, got.Points)
	assert.True(t, want.Value.Equal(got.Value), "Value %s != %s", want.Value, got.Value)
	assert.True(t, want.OrderAmount.Equal(got.OrderAmount), "OrderAmount")
	assert.Equal(t, want.State, got.State)
	assert.Equal(t, want.Program, got.Program)
	assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	assertTime(t, want.ClosedAt, got.ClosedAt, "ClosedAt")
	require.Len(t, got.Lots, len(want.Lots))
	for i, m := range want.Lots {
		assert.Equal(t, m.Lot, got.Lots[i].Lot)
		assert.Equal(t, m.Points, got.Lots[i].Points)
		assert.Equal(t, m.Held, got.Lots[i].Held)
		assert.Equal(t, m.Expiry, got.Lots[i].Expiry)
	}
}

func testHolds(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Hold(ctx, "t1", "h1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("CreateLoadSettle", func(t *testing.T) {
		s := newStore(t)
		h := sampleHold("h1", "c1")
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			assert.Nil(t, tx.Hold, "no hold is stored yet")
			c := h.Clone()
			tx.Hold = &c
			return nil
		})
		got, err := s.Hold(ctx, "t1", "h1")
		require.NoError(t, err)
		assertSameHold(t, h, got)

		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			require.NotNil(t, tx.Hold)
			assertSameHold(t, h, *tx.Hold)
			tx.Hold.State = member.HoldCaptured
			tx.Hold.ClosedAt = t0.Add(5 * time.Minute)
			return nil
		})
		got, err = s.Hold(ctx, "t1", "h1")
		require.NoError(t, err)
		assert.Equal(t, member.HoldCaptured, got.State)
		assertTime(t, t0.Add(5*time.Minute), got.ClosedAt)
	})

	t.Run("OtherCustomersHold", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			h := sampleHold("h1", "c1")
			tx.Hold = &h
			return nil
		})
		called := false
		_, _, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c2", HoldID: "h1"}, func(*member.LedgerTx) error {
			called = true
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.False(t, called)
	})

	t.Run("OtherTenantsHold", func(t *testing.T) {
		// A hold ID of another tenant names no hold: the update is handed
		// none and may create its own.
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			h := sampleHold("h1", "c1")
			tx.Hold = &h
			return nil
		})
		update(t, s, member.UpdateParams{Tenant: "t2", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			assert.Nil(t, tx.Hold, "t2 has no hold h1")
			h := sampleHold("h1", "c1")
			h.Tenant, h.Points = "t2", 5
			tx.Hold = &h
			return nil
		})
		got, err := s.Hold(ctx, "t1", "h1")
		require.NoError(t, err)
		assertSameHold(t, sampleHold("h1", "c1"), got)
		got, err = s.Hold(ctx, "t2", "h1")
		require.NoError(t, err)
		assert.Equal(t, int64(5), got.Points)
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", HoldID: "h1"}, func(tx *member.LedgerTx) error {
			h := sampleHold("h1", "c1")
			tx.Hold = &h
			return nil
		})
		got, err := s.Hold(ctx, "t1", "h1")
		require.NoError(t, err)
		got.Lots[0].Held = 1
		got.State = member.HoldVoided
		again, err := s.Hold(ctx, "t1", "h1")
		require.NoError(t, err)
		assertSameHold(t, sampleHold("h1", "c1"), again)
	})
}
