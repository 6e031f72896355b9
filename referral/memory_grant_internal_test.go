package referral

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// claimGrantsInto with derived fingerprints must agree with ClaimGrants
// given grantFingerprint: same payload, no conflict; a different one (the
// key being in flight), ErrConflict for the record; and a derived
// fingerprint reads as grantFingerprint.
func TestClaimGrantsIntoFingerprints(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore().(*memoryStore)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := scrm.Grant{Tenant: "t", Customer: "c", Reward: scrm.Reward{Kind: "stored_value", Amount: scrm.Yuan("12.80")}, IdempotencyKey: "k1", Source: "referral:p"}
	rescaled := g
	rescaled.Reward.Amount = scrm.Yuan("12.8")
	other := g
	other.Reward.Amount = scrm.Yuan("12.81")
	params := func(g scrm.Grant, key, fp string) ClaimGrantsParams {
		return ClaimGrantsParams{Tenant: "t", Now: now, Until: now.Add(time.Minute),
			Records: []GrantRecord{{Key: key, Program: "p", Customer: g.Customer, Reward: g.Reward, Source: g.Source, Fingerprint: fp}}}
	}
	// claimErr is the error of a one-record call: the call's, or the
	// record's.
	claimErr := func(out []GrantClaim, err error) error {
		if err != nil {
			return err
		}
		return out[0].Err
	}
	fingerprint := func(g scrm.Grant, key string) string {
		g.IdempotencyKey = key
		return grantFingerprint(g)
	}

	// Stored derived; replayed derived and given.
	out, err := s.claimGrantsInto(ctx, params(g, "k1", ""), true, nil)
	require.NoError(t, err)
	assert.True(t, out[0].Claimed)
	out, err = s.ClaimGrants(ctx, params(g, "k1", fingerprint(g, "k1")))
	require.NoError(t, err)
	assert.False(t, out[0].Claimed)
	assert.Equal(t, fingerprint(g, "k1"), out[0].Record.Fingerprint)
	err = claimErr(s.claimGrantsInto(ctx, params(rescaled, "k1", ""), true, nil))
	assert.NoError(t, err)
	err = claimErr(s.claimGrantsInto(ctx, params(other, "k1", ""), true, nil))
	assert.ErrorIs(t, err, scrm.ErrConflict)
	err = claimErr(s.ClaimGrants(ctx, params(other, "k1", fingerprint(other, "k1"))))
	assert.ErrorIs(t, err, scrm.ErrConflict)

	// Stored given (not hex, then the Service's form), replayed derived.
	err = claimErr(s.ClaimGrants(ctx, params(g, "k2", "not hex")))
	require.NoError(t, err)
	err = claimErr(s.claimGrantsInto(ctx, params(g, "k2", ""), true, nil))
	assert.ErrorIs(t, err, scrm.ErrConflict)
	err = claimErr(s.ClaimGrants(ctx, params(g, "k3", fingerprint(g, "k3"))))
	require.NoError(t, err)
	err = claimErr(s.claimGrantsInto(ctx, params(rescaled, "k3", ""), true, nil))
	assert.NoError(t, err)
	err = claimErr(s.claimGrantsInto(ctx, params(other, "k3", ""), true, nil))
	assert.ErrorIs(t, err, scrm.ErrConflict)

	// Done: any payload finds it done, derived or given.
	require.NoError(t, s.CompleteGrants(ctx, "t", []string{"k1", "k2"}, now))
	for _, key := range []string{"k1", "k2"} {
		out, err = s.claimGrantsInto(ctx, params(other, key, ""), true, nil)
		require.NoError(t, err)
		assert.NoError(t, out[0].Err)
		assert.False(t, out[0].Claimed)
		assert.Equal(t, GrantDone, out[0].Record.Status)
		out, err = s.ClaimGrants(ctx, params(other, key, fingerprint(other, key)))
		require.NoError(t, err)
		assert.NoError(t, out[0].Err)
		assert.Equal(t, GrantDone, out[0].Record.Status)
	}
}

// An order's entries come from runs of AddEntries blocks; a refund reverses
// all of them, in the order they were added.
func TestMemoryOrderEntries(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := func(id, order string) Entry {
		return Entry{ID: id, Program: "p", Kind: EntryCommission, Level: 1, Beneficiary: "a", Invitee: "b", OrderID: order,
			Amount: scrm.Yuan("1.00"), Status: EntryPending, CreatedAt: now, DueAt: now.Add(time.Hour)}
	}
	rev, err := s.AddEntries(ctx, "t", []Entry{e("a1", "o1"), e("a2", "o1"), e("b1", "o2"), e("a3", "o1")})
	require.NoError(t, err)
	require.Empty(t, rev)
	rev, err = s.AddEntries(ctx, "t", []Entry{e("b2", "o2"), e("a4", "o1"), e("a1", "o1")})
	require.NoError(t, err)
	require.Empty(t, rev)
	for order, want := range map[string][]string{"o1": {"a1", "a2", "a3", "a4"}, "o2": {"b1", "b2"}} {
		out, err := s.ReverseOrder(ctx, ReverseParams{Tenant: "t", Invitee: "b", OrderID: order, At: now})
		require.NoError(t, err)
		var ids []string
		for _, en := range out {
			ids = append(ids, en.ID)
			assert.True(t, en.Amount.Equal(scrm.Yuan("1")))
		}
		assert.Equal(t, want, ids, order)
	}
}

// Entries spanning chunks of the slab stay reachable by ID and by order.
func TestMemoryEntriesAcrossChunks(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for call := range 7 {
		var batch []Entry
		for j := range 50 {
			id := "e" + itoa(call*50+j)
			want = append(want, id)
			batch = append(batch, Entry{ID: id, Program: "p", Kind: EntryPercent, Beneficiary: "a", Invitee: "b", OrderID: "o",
				Amount: scrm.Yuan("0.01"), Status: EntryPending, CreatedAt: now, DueAt: now.Add(time.Hour)})
		}
		rev, err := s.AddEntries(ctx, "t", batch)
		require.NoError(t, err)
		require.Empty(t, rev)
	}
	for _, id := range want {
		e, err := s.SetEntryStatus(ctx, SetEntryStatusParams{Tenant: "t", ID: id, From: EntryPending, To: EntryPending, At: now})
		require.NoError(t, err)
		assert.Equal(t, id, e.ID)
	}
	out, err := s.ReverseOrder(ctx, ReverseParams{Tenant: "t", Invitee: "b", OrderID: "o", At: now})
	require.NoError(t, err)
	var ids []string
	for _, e := range out {
		ids = append(ids, e.ID)
	}
	assert.Equal(t, want, ids)
}
