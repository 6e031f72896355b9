package membertest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func testContext(t *testing.T, newStore func(t *testing.T) member.Store) {
	s := newStore(t)
	update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(10, t0.Add(time.Hour)))
	cctx, cancel := context.WithCancel(ctx)
	cancel()

	_, err := s.PutProgram(cctx, sampleProgram("t1"))
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.Program(cctx, "t1", 0)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.ProgramVersion(cctx, "t1")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.Account(cctx, "t1", "c1")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	called := false
	_, _, err = s.Update(cctx, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "f"},
		func(*member.LedgerTx) error { called = true; return nil })
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.False(t, called)
	_, err = s.Hold(cctx, "t1", "h1")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.Order(cctx, "t1", "c1", "o1")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.Entries(cctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.ListDue(cctx, member.ListDueParams{Tenant: "t1", Before: t0})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.ListExpiring(cctx, member.ListDueParams{Tenant: "t1", Before: t0})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)

	a, err := s.Account(ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), a.Version, "nothing written under a cancelled context")
	v, err := s.ProgramVersion(ctx, "t1")
	require.NoError(t, err)
	assert.Zero(t, v)

	// The key of the cancelled update is still free.
	_, replayed, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "f"}, credit(1, time.Time{}))
	require.NoError(t, err)
	assert.False(t, replayed)
}
