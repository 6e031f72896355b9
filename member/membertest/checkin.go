package membertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// ciRecord is a minimal check-in step: it records date with the given
// streak and counts it in the state.
func ciRecord(date int32, streak int, rewards ...scrm.Reward) func(tx *member.CheckInTx) error {
	return func(tx *member.CheckInTx) error {
		tx.State.Total++
		tx.State.Runs = append(tx.State.Runs, member.DayRun{First: date, Last: date})
		tx.Record = &member.CheckInRecord{Date: date, At: t0, Streak: streak, CycleDay: streak, Rewards: rewards, Rule: 1}
		return nil
	}
}

var ciErrSeen = errors.New("membertest: date already recorded")

// assertCheckIn asserts that got is want as a store gives it back: the
// same instant in the same zone, every other field equal, rewards' amounts
// with the same exponent.
func assertCheckIn(t *testing.T, want, got member.CheckInRecord) {
	t.Helper()
	assertTime(t, want.At, got.At)
	assert.Equal(t, want.At.Format(time.RFC3339Nano), got.At.Format(time.RFC3339Nano), "the zone is kept")
	for i := range want.Rewards {
		if assert.Less(t, i, len(got.Rewards)) {
			assert.Equal(t, want.Rewards[i].Amount.String(), got.Rewards[i].Amount.String())
		}
	}
	got.At, want.At = time.Time{}, time.Time{}
	assert.Equal(t, want, got)
}

func testCheckIn(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("Rules", func(t *testing.T) {
		s := newStore(t)
		_, err := s.CheckInRule(ctx, "t1", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		v, err := s.CheckInRuleVersion(ctx, "t1")
		require.NoError(t, err)
		assert.Zero(t, v)
		_, err = s.PutCheckInRule(ctx, member.CheckInRule{})
		assert.ErrorIs(t, err, scrm.ErrInvalid)

		r := member.CheckInRule{Tenant: "t1", CreatedAt: t0, Cycle: 7, MakeUpPerMonth: 2, MakeUpCost: 20, Ladder: []member.CheckInStep{
			{Day: 1, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 5}}},
			{Day: 7, Rewards: []scrm.Reward{{Kind: scrm.RewardStoredValue, Amount: dec("1.50")}, {Kind: scrm.RewardCoupon, Template: "c7", Count: 2}}},
		}}
		v1, err := s.PutCheckInRule(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v1.Version)
		r.Ladder[1].Rewards[0].Amount = dec("9") // the store kept a copy
		r.Cycle = 14
		v2, err := s.PutCheckInRule(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v2.Version)
		v, err = s.CheckInRuleVersion(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), v)

		got, err := s.CheckInRule(ctx, "t1", 1)
		require.NoError(t, err)
		assert.Equal(t, 7, got.Cycle)
		assert.Equal(t, 2, got.MakeUpPerMonth)
		assert.Equal(t, int64(20), got.MakeUpCost)
		assertTime(t, t0, got.CreatedAt)
		require.Len(t, got.Ladder, 2)
		assert.Equal(t, 7, got.Ladder[1].Day)
		require.Len(t, got.Ladder[1].Rewards, 2)
		assert.True(t, got.Ladder[1].Rewards[0].Amount.Equal(dec("1.5")), "decimals round-trip by value")
		assert.Equal(t, "c7", got.Ladder[1].Rewards[1].Template)
		assert.Equal(t, 2, got.Ladder[1].Rewards[1].Count)
		got.Ladder[0].Rewards[0].Points = 99 // a copy
		again, err := s.CheckInRule(ctx, "t1", 1)
		require.NoError(t, err)
		assert.Equal(t, int64(5), again.Ladder[0].Rewards[0].Points)
		newest, err := s.CheckInRule(ctx, "t1", 0)
		require.NoError(t, err)
		assert.Equal(t, 14, newest.Cycle)
		assert.True(t, newest.Ladder[1].Rewards[0].Amount.Equal(dec("9")))
		_, err = s.CheckInRule(ctx, "t1", 3)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("Records", func(t *testing.T) {
		s := newStore(t)
		_, err := s.CheckInState(ctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Date: 20260302}, ciRecord(20260302, 1))
		assert.ErrorIs(t, err, scrm.ErrInvalid)

		p := member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260302}
		rec, replayed, err := s.UpdateCheckIn(ctx, p, func(tx *member.CheckInTx) error {
			assert.Zero(t, tx.State.Version, "a new state")
			assert.Equal(t, scrm.CustomerID("c1"), tx.State.Customer)
			assert.Nil(t, tx.Existing)
			return ciRecord(20260302, 1, scrm.Reward{Kind: scrm.RewardPoints, Points: 5})(tx)
		})
		require.NoError(t, err)
		assert.False(t, replayed)
		assert.Equal(t, int32(20260302), rec.Date)
		require.Len(t, rec.Rewards, 1)
		rec.Rewards[0].Points = 99 // a copy

		st, err := s.CheckInState(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Version)
		assert.Equal(t, int64(1), st.Total)
		assert.Equal(t, []member.DayRun{{First: 20260302, Last: 20260302}}, st.Runs)
		st.Runs[0].Last = 1 // a copy

		// The record of the date is shown to fn as Existing; the store
		// never keeps a second one, whatever fn does.
		_, _, err = s.UpdateCheckIn(ctx, p, func(tx *member.CheckInTx) error {
			require.NotNil(t, tx.Existing)
			assert.Equal(t, 1, tx.Existing.Streak)
			assert.Equal(t, int64(5), tx.Existing.Rewards[0].Points)
			assertTime(t, t0, tx.Existing.At)
			return ciRecord(20260302, 2)(tx)
		})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260303}, func(tx *member.CheckInTx) error { return nil })
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no record")
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260303}, ciRecord(20260304, 1))
		assert.ErrorIs(t, err, scrm.ErrInvalid, "a record of another date")
		boom := errors.New("boom")
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260303}, func(tx *member.CheckInTx) error {
			_ = ciRecord(20260303, 2)(tx)
			return boom
		})
		assert.ErrorIs(t, err, boom)
		st, err = s.CheckInState(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Version, "nothing written by the failed updates")
		assert.Equal(t, []member.DayRun{{First: 20260302, Last: 20260302}}, st.Runs)

		// Records out of order (a make-up) are listed in date order.
		for _, d := range []int32{20260305, 20260228, 20260304, 20260401} {
			_, _, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: d}, ciRecord(d, 1))
			require.NoError(t, err)
		}
		recs, err := s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: "c1", From: 20260301, To: 20260331})
		require.NoError(t, err)
		var dates []int32
		for _, r := range recs {
			dates = append(dates, r.Date)
		}
		assert.Equal(t, []int32{20260302, 20260304, 20260305}, dates)
		assert.Equal(t, int64(5), recs[0].Rewards[0].Points)
		recs[0].Rewards[0].Points = 1 // a copy
		recs, err = s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: "c1", From: 20260228, To: 20260302})
		require.NoError(t, err)
		require.Len(t, recs, 2, "both ends included")
		assert.Equal(t, int64(5), recs[1].Rewards[0].Points)
		_, err = s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: "c1", From: 20260302, To: 20260301})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: "c1", From: 20250101, To: 20260301})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		recs, err = s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: "nobody", From: 20260301, To: 20260331})
		require.NoError(t, err)
		assert.Empty(t, recs)
	})

	t.Run("RecordRoundTrip", func(t *testing.T) {
		// Every field of a record comes back as saved, through the update's
		// result, Existing and CheckIns: nil and empty rewards stay apart,
		// a decimal keeps its exponent, the time its zone; and so do the
		// rewards of many records with lists all different.
		s := newStore(t)
		cst := time.FixedZone("CST", 8*3600)
		at := time.Date(2026, 3, 2, 9, 30, 15, 123456789, cst)
		five := decimal.RequireFromString("5.0")
		recs := map[int32]member.CheckInRecord{
			20260302: {Date: 20260302, At: at, Streak: 7, CycleDay: 7, Rule: 3, Rewards: []scrm.Reward{
				{Kind: scrm.RewardPoints, Points: 50, Note: "第7天"}, {Kind: scrm.RewardCoupon, Template: "tpl", Count: 2},
				{Kind: scrm.RewardStoredValue, Amount: five}}},
			20260303: {Date: 20260303, At: at.AddDate(0, 0, 1).UTC(), Streak: 1, CycleDay: 1, Rule: 3, Rewards: []scrm.Reward{}},
			20260301: {Date: 20260301, At: at.AddDate(0, 0, 2), Streak: 8, CycleDay: 1, Rule: 3, MakeUp: true, Cost: 20, Key: "mu-9"},
			20260304: {Date: 20260304, At: at, Streak: 7, CycleDay: 7, Rule: 3, Rewards: []scrm.Reward{
				{Kind: scrm.RewardPoints, Points: 50, Note: "第7天"}, {Kind: scrm.RewardCoupon, Template: "tpl", Count: 2},
				{Kind: scrm.RewardStoredValue, Amount: decimal.RequireFromString("5")}}},
		}
		for i := int32(0); i < 300; i++ { // more distinct lists than a store may share
			d := 20250101 + i%28 + 100*(i/28)
			recs[d] = member.CheckInRecord{Date: d, At: at, Streak: 1, CycleDay: 1, Rule: 3,
				Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: int64(i) + 1}}}
		}
		for d, want := range recs {
			got, _, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: d}, func(tx *member.CheckInTx) error {
				r := want
				r.Rewards = slices.Clone(want.Rewards)
				tx.Record = &r
				return nil
			})
			require.NoError(t, err)
			assertCheckIn(t, want, got)
		}
		for d, want := range recs {
			_, _, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: d}, func(tx *member.CheckInTx) error {
				require.NotNil(t, tx.Existing)
				assertCheckIn(t, want, *tx.Existing)
				return ciErrSeen
			})
			require.ErrorIs(t, err, ciErrSeen)
		}
		for _, r := range [][2]int32{{20250101, 20251231}, {20260301, 20260303}} {
			got, err := s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: "c1", From: r[0], To: r[1]})
			require.NoError(t, err)
			for _, g := range got {
				assertCheckIn(t, recs[g.Date], g)
			}
			if r[0] == 20260301 {
				require.Len(t, got, 3)
			}
		}
	})

	t.Run("Idempotency", func(t *testing.T) {
		s := newStore(t)
		p := member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260302, IdempotencyKey: "mu-1", Fingerprint: "fp1"}
		_, _, err := s.UpdateCheckIn(ctx, p, ciRecord(20260302, 3))
		require.NoError(t, err)
		calls := 0
		rec, replayed, err := s.UpdateCheckIn(ctx, p, func(tx *member.CheckInTx) error { calls++; return ciRecord(20260302, 3)(tx) })
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Zero(t, calls)
		assert.Equal(t, 3, rec.Streak, "the record the key wrote")
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260302, IdempotencyKey: "mu-1", Fingerprint: "other"}, ciRecord(20260302, 3))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c2", Date: 20260302, IdempotencyKey: "mu-1", Fingerprint: "fp1"}, ciRecord(20260302, 3))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		// A failed update leaves its key free.
		fail := member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260302, IdempotencyKey: "mu-2", Fingerprint: "fp2"}
		_, _, err = s.UpdateCheckIn(ctx, fail, ciRecord(20260302, 1))
		assert.ErrorIs(t, err, scrm.ErrConflict, "the date is taken")
		fail.Date = 20260303
		_, replayed, err = s.UpdateCheckIn(ctx, fail, ciRecord(20260303, 1))
		require.NoError(t, err)
		assert.False(t, replayed)
	})

	t.Run("OnePerDay", func(t *testing.T) {
		// 50 goroutines check one customer in on one date: exactly one
		// records it, whether fn looks at Existing or not.
		s := newStore(t)
		for _, careful := range []bool{true, false} {
			date := int32(20260302)
			if !careful {
				date = 20260303
			}
			const n = 50
			var wg sync.WaitGroup
			var won, seen, conflicts atomic.Int64
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: date}, func(tx *member.CheckInTx) error {
						if careful && tx.Existing != nil {
							return ciErrSeen
						}
						return ciRecord(date, 1)(tx)
					})
					switch {
					case err == nil:
						won.Add(1)
					case errors.Is(err, ciErrSeen):
						seen.Add(1)
					case errors.Is(err, scrm.ErrConflict):
						conflicts.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, int64(1), won.Load())
			if careful {
				assert.Equal(t, int64(n-1), seen.Load())
			} else {
				assert.Equal(t, int64(n-1), conflicts.Load())
			}
		}
		st, err := s.CheckInState(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), st.Total)
		assert.Equal(t, int64(2), st.Version)
		recs, err := s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: "c1", From: 20260301, To: 20260331})
		require.NoError(t, err)
		assert.Len(t, recs, 2)
	})

	t.Run("ManyCustomersInParallel", func(t *testing.T) {
		s := newStore(t)
		const customers, days = 20, 10
		var wg sync.WaitGroup
		for c := 0; c < customers; c++ {
			for d := 0; d < days; d++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					date := int32(20260301 + d)
					_, _, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: scrm.CustomerID(fmt.Sprintf("c%d", c)), Date: date},
						func(tx *member.CheckInTx) error {
							tx.State.Total++
							tx.Record = &member.CheckInRecord{Date: date, At: t0, Streak: 1}
							return nil
						})
					assert.NoError(t, err)
				}()
			}
		}
		wg.Wait()
		for c := 0; c < customers; c++ {
			st, err := s.CheckInState(ctx, "t1", scrm.CustomerID(fmt.Sprintf("c%d", c)))
			require.NoError(t, err)
			assert.Equal(t, int64(days), st.Total, "no update lost")
			recs, err := s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t1", Customer: scrm.CustomerID(fmt.Sprintf("c%d", c)), From: 20260301, To: 20260331})
			require.NoError(t, err)
			require.Len(t, recs, days)
			for i := 1; i < len(recs); i++ {
				assert.Less(t, recs[i-1].Date, recs[i].Date)
			}
		}
	})

	t.Run("ConcurrentSameKeyRunsOnce", func(t *testing.T) {
		// 30 requests of one make-up (one key, one date) race: fn runs
		// once, and every other request is a replay of the record the key
		// wrote, not a conflict with it (MakeUp would return the points of
		// a make-up that happened).
		s := newStore(t)
		p := member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260302, IdempotencyKey: "mu-1", Fingerprint: "fp1"}
		const n = 30
		var calls, replays atomic.Int32
		var wg sync.WaitGroup
		recs := make([]member.CheckInRecord, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec, replayed, err := s.UpdateCheckIn(ctx, p, func(tx *member.CheckInTx) error {
					calls.Add(1)
					time.Sleep(time.Millisecond)
					if tx.Existing != nil {
						return ciErrSeen
					}
					err := ciRecord(20260302, 3)(tx)
					tx.Record.MakeUp, tx.Record.Cost, tx.Record.Key = true, 20, "mu-1"
					return err
				})
				assert.NoError(t, err)
				if replayed {
					replays.Add(1)
				}
				recs[i] = rec
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), calls.Load(), "fn runs once per key")
		assert.Equal(t, int32(n-1), replays.Load())
		for _, r := range recs {
			assert.Equal(t, int32(20260302), r.Date)
			assert.Equal(t, 3, r.Streak)
			assert.Equal(t, "mu-1", r.Key)
		}
		st, err := s.CheckInState(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Total)
		assert.Equal(t, int64(1), st.Version)
	})

	t.Run("StateRoundTrip", func(t *testing.T) {
		// Every field of the state fn leaves comes back, through
		// CheckInState and the next update's tx.State: the make-up count
		// is what enforces the rule's monthly limit.
		s := newStore(t)
		cst := time.FixedZone("CST", 8*3600)
		want := member.CheckInState{Tenant: "t1", Customer: "c1", Version: 1,
			CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, cst), UpdatedAt: time.Date(2026, 3, 5, 9, 30, 0, 0, cst),
			Total: 12, Runs: []member.DayRun{{First: 20260220, Last: 20260226}, {First: 20260301, Last: 20260305}},
			MakeUpMonth: 2026*12 + 2, MakeUps: 2}
		_, _, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260305}, func(tx *member.CheckInTx) error {
			st := want
			st.Tenant, st.Customer, st.Version = tx.State.Tenant, tx.State.Customer, tx.State.Version
			st.Runs = slices.Clone(want.Runs)
			*tx.State = st
			tx.Record = &member.CheckInRecord{Date: 20260305, At: t0, Streak: 5, CycleDay: 5, MakeUp: true, Cost: 20, Key: "mu"}
			return nil
		})
		require.NoError(t, err)
		assertState := func(t *testing.T, want, got member.CheckInState) {
			t.Helper()
			assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
			assertTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
			got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
			assert.Equal(t, want, got)
		}
		got, err := s.CheckInState(ctx, "t1", "c1")
		require.NoError(t, err)
		assertState(t, want, got)
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260306}, func(tx *member.CheckInTx) error {
			assertState(t, want, *tx.State)
			tx.State.MakeUps++
			tx.State.Total++
			tx.State.Runs[1].Last = 20260306
			tx.Record = &member.CheckInRecord{Date: 20260306, At: t0, Streak: 6, CycleDay: 6}
			return nil
		})
		require.NoError(t, err)
		got, err = s.CheckInState(ctx, "t1", "c1")
		require.NoError(t, err)
		want.Version, want.Total, want.MakeUps = 2, 13, 3
		want.Runs[1].Last = 20260306
		assertState(t, want, got)
	})

	t.Run("RuleVersionsUnderConcurrentPuts", func(t *testing.T) {
		// Concurrent puts each get a version of their own, 1 to n, under
		// which the store keeps what that put stored.
		s := newStore(t)
		assertVersionedPuts(t, 20, func(i int) (int64, error) {
			r, err := s.PutCheckInRule(ctx, member.CheckInRule{Tenant: "t1", Cycle: i + 1})
			return r.Version, err
		}, func(v int64) (int, error) {
			r, err := s.CheckInRule(ctx, "t1", v)
			return r.Cycle - 1, err
		}, func() (int64, error) { return s.CheckInRuleVersion(ctx, "t1") })
	})

	t.Run("Isolation", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutCheckInRule(ctx, member.CheckInRule{Tenant: "t1"})
		require.NoError(t, err)
		_, _, err = s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260302, IdempotencyKey: "k", Fingerprint: "a"}, ciRecord(20260302, 1))
		require.NoError(t, err)
		_, replayed, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t2", Customer: "c1", Date: 20260302, IdempotencyKey: "k", Fingerprint: "b"}, ciRecord(20260302, 7))
		require.NoError(t, err, "the same customer, date and key in another tenant")
		assert.False(t, replayed)
		v, err := s.CheckInRuleVersion(ctx, "t2")
		require.NoError(t, err)
		assert.Zero(t, v)
		_, err = s.CheckInRule(ctx, "t2", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		recs, err := s.CheckIns(ctx, member.ListCheckInsParams{Tenant: "t2", Customer: "c1", From: 20260301, To: 20260331})
		require.NoError(t, err)
		require.Len(t, recs, 1)
		assert.Equal(t, 7, recs[0].Streak)
		_, err = s.CheckInState(ctx, "t3", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("Context", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260302}, ciRecord(20260302, 1))
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.PutCheckInRule(cctx, member.CheckInRule{Tenant: "t1"})
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.CheckInRule(cctx, "t1", 0)
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.CheckInRuleVersion(cctx, "t1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		called := false
		_, _, err = s.UpdateCheckIn(cctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260303, IdempotencyKey: "k", Fingerprint: "f"},
			func(tx *member.CheckInTx) error { called = true; return ciRecord(20260303, 2)(tx) })
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.False(t, called)
		_, err = s.CheckInState(cctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.CheckIns(cctx, member.ListCheckInsParams{Tenant: "t1", Customer: "c1", From: 20260301, To: 20260331})
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		st, err := s.CheckInState(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Version, "nothing written under a cancelled context")
		v, err := s.CheckInRuleVersion(ctx, "t1")
		require.NoError(t, err)
		assert.Zero(t, v)
		_, replayed, err := s.UpdateCheckIn(ctx, member.CheckInParams{Tenant: "t1", Customer: "c1", Date: 20260303, IdempotencyKey: "k", Fingerprint: "f"}, ciRecord(20260303, 2))
		require.NoError(t, err)
		assert.False(t, replayed, "the key of the cancelled update is still free")
	})
}
