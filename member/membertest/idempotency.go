package membertest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func testIdempotency(t *testing.T, newStore func(t *testing.T) member.Store) {
	exp := t0.AddDate(1, 0, 0)

	t.Run("ReplayReturnsOriginal", func(t *testing.T) {
		s := newStore(t)
		p := member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "fp1"}
		first := update(t, s, p, credit(100, exp))
		require.Len(t, first.Entries, 1)

		calls := 0
		again, replayed, err := s.Update(ctx, p, func(tx *member.LedgerTx) error {
			calls++
			return credit(100, exp)(tx)
		})
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Zero(t, calls, "a replay must not call fn")
		require.Len(t, again.Entries, 1)
		assert.Equal(t, first.Entries[0].Seq, again.Entries[0].Seq)
		assert.Equal(t, first.Entries[0].Points, again.Entries[0].Points)
		assert.Equal(t, first.Entries[0].Lots[0].Lot, again.Entries[0].Lots[0].Lot)
		assert.Equal(t, first.After, again.After)

		a := account(t, s, "t1", "c1")
		assert.Equal(t, int64(1), a.Version, "a replay writes nothing")
		assert.Equal(t, int64(100), a.Points())
		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, page.Entries, 1)

		// The replayed outcome is a copy.
		again.Entries[0].Points = -5
		third, replayed, err := s.Update(ctx, p, credit(100, exp))
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Equal(t, int64(100), third.Entries[0].Points)
	})

	t.Run("ReplayReturnsWholeOutcome", func(t *testing.T) {
		// A replay returns every field of the recorded outcome, not only
		// its entries and balance: a replayed Hold must name its hold
		// (HoldID), and a replayed upgrade must give its grants again.
		s := newStore(t)
		p := member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "fp1", OrderID: "o1", HoldID: "h1"}
		grants := []scrm.Grant{
			{Tenant: "t1", Customer: "c1", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "t-50", Count: 2}, IdempotencyKey: "k1:gold:0", Source: "member:upgrade"},
			{Tenant: "t1", Customer: "c1", Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("8.80"), Note: "升级"}, IdempotencyKey: "k1:gold:1", Source: "member:upgrade"},
		}
		first := update(t, s, p, func(tx *member.LedgerTx) error {
			if err := credit(100, exp)(tx); err != nil {
				return err
			}
			h := sampleHold("h1", "c1")
			tx.Hold = &h
			e := &tx.Outcome.Entries[0]
			e.Key, e.OrderID, e.HoldID, e.Note, e.From, e.To, e.Program = "k1", "o1", "h1", "升级", "silver", "gold", 2
			tx.Outcome.HoldID = "h1"
			tx.Outcome.Grants = append([]scrm.Grant(nil), grants...)
			return nil
		})
		require.Equal(t, "h1", first.HoldID)

		again, replayed, err := s.Update(ctx, p, credit(1, exp))
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Equal(t, "h1", again.HoldID, "a replayed hold names its hold")
		require.Len(t, again.Grants, len(grants), "a replay returns the grants")
		for i, g := range grants {
			gg := again.Grants[i]
			assert.Equal(t, g.Tenant, gg.Tenant)
			assert.Equal(t, g.Customer, gg.Customer)
			assert.Equal(t, g.IdempotencyKey, gg.IdempotencyKey)
			assert.Equal(t, g.Source, gg.Source)
			assert.Equal(t, g.Reward.Kind, gg.Reward.Kind)
			assert.Equal(t, g.Reward.Template, gg.Reward.Template)
			assert.Equal(t, g.Reward.Count, gg.Reward.Count)
			assert.Equal(t, g.Reward.Note, gg.Reward.Note)
			assert.True(t, g.Reward.Amount.Equal(gg.Reward.Amount), "Grants[%d].Reward.Amount", i)
		}
		require.Len(t, again.Entries, 1)
		w, g := first.Entries[0], again.Entries[0]
		assert.Equal(t, w.Seq, g.Seq)
		assert.Equal(t, w.Kind, g.Kind)
		assert.Equal(t, w.Points, g.Points)
		assert.Equal(t, w.Key, g.Key)
		assert.Equal(t, w.OrderID, g.OrderID)
		assert.Equal(t, w.HoldID, g.HoldID)
		assert.Equal(t, w.Note, g.Note)
		assert.Equal(t, w.From, g.From)
		assert.Equal(t, w.To, g.To)
		assert.Equal(t, w.Program, g.Program)
		assert.Equal(t, w.Lots, g.Lots)
		assertTime(t, w.At, g.At)
		assert.Equal(t, first.After, again.After)
	})

	t.Run("OtherPayloadConflicts", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "fp1"}, credit(100, exp))
		_, _, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "fp2"}, credit(100, exp))
		require.ErrorIs(t, err, scrm.ErrConflict)
		var se *scrm.Error
		require.True(t, errors.As(err, &se))
		assert.Equal(t, "IdempotencyKey", se.Field)

		_, _, err = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c2", IdempotencyKey: "k1", Fingerprint: "fp1"}, credit(100, exp))
		assert.ErrorIs(t, err, scrm.ErrConflict, "a key is the tenant's, whatever the customer")
		_, err = s.Account(ctx, "t1", "c2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		assert.Equal(t, int64(100), account(t, s, "t1", "c1").Points())
	})

	t.Run("FailureLeavesKeyFree", func(t *testing.T) {
		s := newStore(t)
		p := member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "fp1"}
		_, _, err := s.Update(ctx, p, func(*member.LedgerTx) error { return scrm.Errorf(scrm.ErrExhausted, "test", "no") })
		require.ErrorIs(t, err, scrm.ErrExhausted)
		out, replayed, err := s.Update(ctx, p, credit(50, exp))
		require.NoError(t, err)
		assert.False(t, replayed, "a failed attempt does not record its key")
		assert.Equal(t, int64(50), out.After.Points)
	})

	t.Run("NoKeyNoRecord", func(t *testing.T) {
		s := newStore(t)
		p := member.UpdateParams{Tenant: "t1", Customer: "c1"}
		update(t, s, p, credit(10, exp))
		update(t, s, p, credit(10, exp))
		assert.Equal(t, int64(20), account(t, s, "t1", "c1").Points())
	})

	t.Run("ConcurrentSameKeyRunsOnce", func(t *testing.T) {
		s := newStore(t)
		const n = 50
		var calls atomic.Int32
		var replays atomic.Int32
		var wg sync.WaitGroup
		outs := make([]member.Outcome, n)
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Half of them for another customer: a key belongs to
				// the first update that records it, whoever that is.
				c := scrm.CustomerID("c1")
				if i%2 == 1 {
					c = "c2"
				}
				out, replayed, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: c, IdempotencyKey: "k", Fingerprint: "fp:" + string(c)},
					func(tx *member.LedgerTx) error {
						calls.Add(1)
						time.Sleep(time.Millisecond)
						return credit(100, exp)(tx)
					})
				if replayed {
					replays.Add(1)
				}
				outs[i], errs[i] = out, err
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), calls.Load(), "fn runs once per key")
		var ok, conflicts int
		for i := range errs {
			switch {
			case errs[i] == nil:
				ok++
				assert.Equal(t, int64(100), outs[i].After.Points)
			case errors.Is(errs[i], scrm.ErrConflict):
				conflicts++
			default:
				t.Errorf("unexpected error: %v", errs[i])
			}
		}
		assert.Equal(t, n/2, ok, "the winner's customer gets the outcome")
		assert.Equal(t, n/2, conflicts, "the other customer conflicts")
		assert.Equal(t, int32(n/2-1), replays.Load())
	})
}
