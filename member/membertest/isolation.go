package membertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func testIsolation(t *testing.T, newStore func(t *testing.T) member.Store) {
	s := newStore(t)
	exp := t0.Add(time.Hour)
	_, err := s.PutProgram(ctx, sampleProgram("t1"))
	require.NoError(t, err)
	update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "a", OrderID: "o1", HoldID: "h1"},
		func(tx *member.LedgerTx) error {
			tx.Order = &member.OrderRecord{OrderID: "o1", Points: 1}
			h := sampleHold("h1", "c1")
			tx.Hold = &h
			return credit(100, exp)(tx)
		})
	// The same key, customer, order and hold in another tenant are
	// different ones.
	out, replayed, err := s.Update(ctx, member.UpdateParams{Tenant: "t2", Customer: "c1", IdempotencyKey: "k", Fingerprint: "b"},
		credit(7, exp))
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, int64(7), out.After.Points)

	assert.Equal(t, int64(100), account(t, s, "t1", "c1").Points())
	assert.Equal(t, int64(7), account(t, s, "t2", "c1").Points())
	_, err = s.Account(ctx, "t3", "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	_, err = s.Program(ctx, "t2", 0)
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	v, err := s.ProgramVersion(ctx, "t2")
	require.NoError(t, err)
	assert.Zero(t, v)
	_, err = s.Hold(ctx, "t2", "h1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.Order(ctx, "t2", "c1", "o1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t2", Customer: "c1"})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, int64(7), page.Entries[0].Points)

	due, err := s.ListDue(ctx, member.ListDueParams{Tenant: "t3", Before: exp})
	require.NoError(t, err)
	assert.Empty(t, due.Accounts)
	due, err = s.ListDue(ctx, member.ListDueParams{Tenant: "t1", Before: exp})
	require.NoError(t, err)
	require.Len(t, due.Accounts, 1)
	assert.Equal(t, scrm.CustomerID("c1"), due.Accounts[0].Customer)
}
