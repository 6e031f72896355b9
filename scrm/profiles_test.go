package scrm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// mergeRig is a Profiles over a memory store where customers A, B and C
// paid 10, 20 and 30 yuan.
func mergeRig(t *testing.T) (*scrm.Profiles, scrm.ProfileStore, time.Time) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	store := scrm.NewMemoryProfileStore()
	p := scrm.NewProfiles(store, nil)
	for _, e := range []scrm.Event{
		{ID: "e1", Tenant: "t1", Customer: "A", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("10")},
		{ID: "e2", Tenant: "t1", Customer: "B", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("20")},
		{ID: "e3", Tenant: "t1", Customer: "C", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("30")},
	} {
		require.NoError(t, p.Handle(ctx, e))
	}
	return p, store, t0
}

// orders returns the order count and sum of the live profile id reads.
func orders(t *testing.T, p *scrm.Profiles, id scrm.CustomerID) (int64, string) {
	t.Helper()
	pr, err := p.Get(context.Background(), "t1", id)
	require.NoError(t, err, "profile of %s", id)
	return pr.Count(scrm.EventOrderPaid, time.Time{}), pr.Sum(scrm.EventOrderPaid, time.Time{}).String()
}

// TestProfilesMergeRefusals: a merge that would close a cycle is ErrInvalid
// naming Props.into, a merge of a customer already absorbed elsewhere is
// ErrConflict; neither writes anything, so neither is recorded as applied
// and every order still counts exactly once.
func TestProfilesMergeRefusals(t *testing.T) {
	ctx := context.Background()
	p, store, t0 := mergeRig(t)
	require.NoError(t, p.Handle(ctx, scrm.MergeEvent("t1", "A", "B", t0.Add(time.Hour))))
	require.NoError(t, p.Handle(ctx, scrm.MergeEvent("t1", "B", "C", t0.Add(2*time.Hour))))

	for _, tt := range []struct {
		name       string
		from, into scrm.CustomerID
		code       error
		field      string
	}{
		{"reverse of a merge", "B", "A", scrm.ErrInvalid, "Props.into"},
		{"closing a chain A→B→C", "C", "A", scrm.ErrInvalid, "Props.into"},
		{"into the middle of a chain", "C", "B", scrm.ErrInvalid, "Props.into"},
		{"absorbed customer again, elsewhere", "A", "C", scrm.ErrConflict, ""},
	} {
		e := scrm.MergeEvent("t1", tt.from, tt.into, t0.Add(3*time.Hour))
		err := p.Handle(ctx, e)
		require.ErrorIs(t, err, tt.code, tt.name)
		var se *scrm.Error
		require.True(t, errors.As(err, &se), tt.name)
		assert.Equal(t, tt.field, se.Field, tt.name)
		done, err := store.Applied(ctx, "t1", e.ID)
		require.NoError(t, err)
		assert.False(t, done, "%s: not recorded as applied", tt.name)
	}
	for _, id := range []scrm.CustomerID{"A", "B", "C"} {
		n, sum := orders(t, p, id)
		assert.Equal(t, int64(3), n, id)
		assert.Equal(t, "60", sum, id)
	}
}

// TestProfilesMergeRecovery: a merge that wrote its mark and failed before
// folding is completed by its replay, once.
func TestProfilesMergeRecovery(t *testing.T) {
	ctx := context.Background()
	p, store, t0 := mergeRig(t)
	a, err := store.Get(ctx, "t1", "A")
	require.NoError(t, err)
	a.MergedInto = "B" // what the failed first attempt left behind
	_, err = store.Save(ctx, scrm.SaveProfileParams{Profile: a})
	require.NoError(t, err)

	e := scrm.MergeEvent("t1", "A", "B", t0.Add(time.Hour))
	require.NoError(t, p.Handle(ctx, e))
	require.NoError(t, p.Handle(ctx, e), "replay")
	n, sum := orders(t, p, "B")
	assert.Equal(t, int64(2), n)
	assert.Equal(t, "30", sum)
}

// TestProfilesMergeOutOfOrder: the Directory's merges of a chain (A into B,
// then B into C) may be handled in either order; C ends with every order.
func TestProfilesMergeOutOfOrder(t *testing.T) {
	ctx := context.Background()
	p, _, t0 := mergeRig(t)
	require.NoError(t, p.Handle(ctx, scrm.MergeEvent("t1", "B", "C", t0.Add(2*time.Hour))))
	require.NoError(t, p.Handle(ctx, scrm.MergeEvent("t1", "A", "B", t0.Add(time.Hour))))
	n, sum := orders(t, p, "C")
	assert.Equal(t, int64(3), n)
	assert.Equal(t, "60", sum)
}
