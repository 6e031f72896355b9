package membertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func plSamplePlan(tenant scrm.TenantID, id string) member.Plan {
	return member.Plan{Tenant: tenant, ID: id, Name: "月卡", CreatedAt: t0, Price: dec("18.00"), Period: member.PlanPeriod{Months: 1}, TrialDays: 7,
		Benefits: member.Benefits{
			Discount:         dec("0.8"),
			Weekly:           []member.WeeklyRate{{Weekday: time.Friday, Rate: dec("0.85")}},
			PointsMultiplier: dec("1.5"),
			CouponPack:       []member.Tranche{{Day: 0, Rewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c1"}}}, {Day: 7, Rewards: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c2"}}}},
			Birthday:         []scrm.Reward{{Kind: scrm.RewardStoredValue, Amount: dec("8.80")}},
			BreakEven:        true,
		}}
}

// addTerm is a minimal membership step: it appends a paid term and sets
// DueAt.
func plAddTerm(plan string, start time.Time, paid int64, due time.Time) func(tx *member.MembershipTx) error {
	return func(tx *member.MembershipTx) error {
		st := tx.State
		st.LastTerm++
		t := member.PlanTerm{Seq: st.LastTerm, Plan: plan, PlanVersion: 1, Start: start, End: start.AddDate(0, 1, 0), Paid: paid}
		st.Terms = append(st.Terms, t)
		st.DueAt = due
		tx.Outcome.Terms = append(tx.Outcome.Terms, t)
		return nil
	}
}

func plSetDue(due time.Time) func(tx *member.MembershipTx) error {
	return func(tx *member.MembershipTx) error { tx.State.DueAt = due; return nil }
}

func testPlans(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("Plans", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Plan(ctx, "t1", "monthly", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		rev, err := s.PlansRevision(ctx, "t1")
		require.NoError(t, err)
		assert.Zero(t, rev)
		all, err := s.Plans(ctx, "t1")
		require.NoError(t, err)
		assert.Empty(t, all)
		_, err = s.PutPlan(ctx, member.Plan{Tenant: "t1"})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no ID")
		_, err = s.PutPlan(ctx, member.Plan{ID: "x"})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no tenant")

		p := plSamplePlan("t1", "monthly")
		v1, err := s.PutPlan(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v1.Version)
		p.Benefits.CouponPack[0].Rewards[0].Template = "changed" // the store kept a copy
		p.Price = dec("19.9")
		v2, err := s.PutPlan(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v2.Version)
		a1, err := s.PutPlan(ctx, plSamplePlan("t1", "annual"))
		require.NoError(t, err)
		assert.Equal(t, int64(1), a1.Version, "versions are per ID")
		rev, err = s.PlansRevision(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, int64(3), rev)

		got, err := s.Plan(ctx, "t1", "monthly", 1)
		require.NoError(t, err)
		assert.True(t, got.Price.Equal(dec("18")), "decimals round-trip by value")
		assert.Equal(t, member.PlanPeriod{Months: 1}, got.Period)
		assert.Equal(t, 7, got.TrialDays)
		assert.Equal(t, "月卡", got.Name)
		assertTime(t, t0, got.CreatedAt)
		assert.True(t, got.Benefits.Discount.Equal(dec("0.80")))
		require.Len(t, got.Benefits.Weekly, 1)
		assert.True(t, got.Benefits.Weekly[0].Rate.Equal(dec("0.85")))
		assert.True(t, got.Benefits.PointsMultiplier.Equal(dec("1.5")))
		require.Len(t, got.Benefits.CouponPack, 2)
		assert.Equal(t, "c1", got.Benefits.CouponPack[0].Rewards[0].Template)
		assert.Equal(t, 7, got.Benefits.CouponPack[1].Day)
		assert.True(t, got.Benefits.Birthday[0].Amount.Equal(dec("8.8")))
		assert.True(t, got.Benefits.BreakEven)
		got.Benefits.CouponPack[0].Rewards[0].Template = "mine" // a copy
		newest, err := s.Plan(ctx, "t1", "monthly", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(2), newest.Version)
		assert.Equal(t, "changed", newest.Benefits.CouponPack[0].Rewards[0].Template)
		assert.True(t, newest.Price.Equal(dec("19.90")))
		_, err = s.Plan(ctx, "t1", "monthly", 3)
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		all, err = s.Plans(ctx, "t1")
		require.NoError(t, err)
		var ids []string
		for _, p := range all {
			ids = append(ids, fmt.Sprintf("%s@%d", p.ID, p.Version))
		}
		assert.Equal(t, []string{"annual@1", "monthly@1", "monthly@2"}, ids)
		all[1].Benefits.CouponPack[0].Rewards[0].Template = "mine"
		again, err := s.Plan(ctx, "t1", "monthly", 1)
		require.NoError(t, err)
		assert.Equal(t, "c1", again.Benefits.CouponPack[0].Rewards[0].Template)
	})

	t.Run("Memberships", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Membership(ctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1"}, plSetDue(t0))
		assert.ErrorIs(t, err, scrm.ErrInvalid)

		out, replayed, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1"}, func(tx *member.MembershipTx) error {
			assert.Zero(t, tx.State.Version, "a new membership")
			assert.Equal(t, scrm.CustomerID("c1"), tx.State.Customer)
			assert.Nil(t, tx.Saving)
			tx.State.CreatedAt = t0
			tx.State.Trials = []string{"monthly"}
			tx.State.BirthMonth, tx.State.BirthDay = 2, 29
			return plAddTerm("monthly", t0, 1800, t0.Add(time.Hour))(tx)
		})
		require.NoError(t, err)
		assert.False(t, replayed)
		require.Len(t, out.Terms, 1)
		out.Terms[0].Paid = 1 // the caller's copy

		m, err := s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), m.Version)
		assert.Equal(t, int64(1), m.LastTerm)
		assert.Equal(t, []string{"monthly"}, m.Trials)
		assert.Equal(t, 2, m.BirthMonth)
		assert.Equal(t, 29, m.BirthDay)
		assertTime(t, t0, m.CreatedAt)
		assertTime(t, t0.Add(time.Hour), m.DueAt)
		require.Len(t, m.Terms, 1)
		term := m.Terms[0]
		assert.Equal(t, int64(1800), term.Paid)
		assertTime(t, t0, term.Start)
		assertTime(t, t0.AddDate(0, 1, 0), term.End)
		m.Terms[0].Paid = 7 // a copy
		m.Trials[0] = "x"

		// A saving record is loaded into the next update of its order.
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.MembershipTx) error {
			assert.Equal(t, int64(1800), tx.State.Terms[0].Paid)
			assert.Equal(t, "monthly", tx.State.Trials[0])
			assert.Nil(t, tx.Saving)
			tx.State.Terms[0].Saved += 500
			tx.Saving = &member.SavingRecord{OrderID: "o1", Saved: 500, Term: 1, At: t0}
			return nil
		})
		require.NoError(t, err)
		sv, err := s.Saving(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.Equal(t, int64(500), sv.Saved)
		assert.Equal(t, int64(1), sv.Term)
		assertTime(t, t0, sv.At)
		_, err = s.Saving(ctx, "t1", "c1", "o2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.MembershipTx) error {
			require.NotNil(t, tx.Saving)
			assert.Equal(t, int64(500), tx.Saving.Saved)
			return nil
		})
		require.NoError(t, err)

		// What the store checks, and nothing written on error.
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", OrderID: "o3"}, func(tx *member.MembershipTx) error {
			tx.Saving = &member.SavingRecord{OrderID: "o4"}
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		boom := errors.New("boom")
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k-fail", Fingerprint: "f"}, func(tx *member.MembershipTx) error {
			_ = plAddTerm("monthly", t0, 1, time.Time{})(tx)
			return boom
		})
		assert.ErrorIs(t, err, boom)
		m, err = s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(3), m.Version)
		assert.Len(t, m.Terms, 1)
		assert.Equal(t, int64(500), m.Terms[0].Saved)
		_, err = s.Saving(ctx, "t1", "c1", "o4")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, replayed, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k-fail", Fingerprint: "f"}, plSetDue(t0))
		require.NoError(t, err)
		assert.False(t, replayed, "the failed update's key is free")
	})

	t.Run("MembershipRoundTrip", func(t *testing.T) {
		// Every field of the membership and its terms that fn leaves comes
		// back, through Membership, ListDueMemberships and the next
		// update's tx.State: a term's Settled and the BirthdayYear are
		// what keep RunPlans from paying a settlement or a birthday twice.
		s := newStore(t)
		cst := time.FixedZone("CST", 8*3600)
		at := time.Date(2026, 1, 5, 9, 0, 0, 0, cst)
		want := member.MembershipState{Tenant: "t1", Customer: "c1", Version: 1,
			CreatedAt: at, UpdatedAt: at.AddDate(0, 2, 0),
			Terms: []member.PlanTerm{
				{Seq: 1, Plan: "monthly", PlanVersion: 2, Trial: true, Start: at, End: at.AddDate(0, 0, 7), Converted: true, Closed: true, Key: "trial-1"},
				{Seq: 2, Plan: "monthly", PlanVersion: 3, Start: at.AddDate(0, 0, 7), End: at.AddDate(0, 1, 7), Paid: 1800, Saved: 950,
					Key: "sub-1", Released: 3, Settled: true, Settlement: 850, Closed: true},
				{Seq: 3, Plan: "annual", PlanVersion: 1, Start: at.AddDate(0, 1, 7), End: at.AddDate(1, 1, 7), Paid: 9800, Saved: 120,
					Key: "sub-2", Cancelled: at.AddDate(0, 2, 0), Refund: 4000, Released: 1},
			},
			LastTerm: 3, Trials: []string{"monthly", "annual"},
			BirthMonth: 3, BirthDay: 8, BirthdayYear: 2026, DueAt: t0.Add(time.Hour)}
		_, _, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1"}, func(tx *member.MembershipTx) error {
			st := want.Clone()
			st.Tenant, st.Customer, st.Version = tx.State.Tenant, tx.State.Customer, tx.State.Version
			*tx.State = st
			return nil
		})
		require.NoError(t, err)
		assertMembership := func(t *testing.T, want, got member.MembershipState) {
			t.Helper()
			assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
			assertTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
			assertTime(t, want.DueAt, got.DueAt, "DueAt")
			got.CreatedAt, got.UpdatedAt, got.DueAt = want.CreatedAt, want.UpdatedAt, want.DueAt
			require.Len(t, got.Terms, len(want.Terms))
			for i, w := range want.Terms {
				g := got.Terms[i]
				assertTime(t, w.Start, g.Start, "Terms[%d].Start", i)
				assertTime(t, w.End, g.End, "Terms[%d].End", i)
				assertTime(t, w.Cancelled, g.Cancelled, "Terms[%d].Cancelled", i)
				g.Start, g.End, g.Cancelled = w.Start, w.End, w.Cancelled
				assert.Equal(t, w, g, "Terms[%d]", i)
			}
			got.Terms = want.Terms
			assert.Equal(t, want, got)
		}
		got, err := s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		assertMembership(t, want, got)
		dm := new(member.DueMemberships)
		require.NoError(t, s.ListDueMemberships(ctx, member.ListDueParams{Tenant: "t1", Before: t0.Add(time.Hour)}, dm))
		require.Len(t, dm.Memberships, 1)
		assertMembership(t, want, dm.Memberships[0])
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1"}, func(tx *member.MembershipTx) error {
			assertMembership(t, want, *tx.State)
			tx.State.Terms[2].Released++
			return nil
		})
		require.NoError(t, err)
		got, err = s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		want.Version = 2
		want.Terms[2].Released = 2
		assertMembership(t, want, got)
	})

	t.Run("RevisionCountsConcurrentPuts", func(t *testing.T) {
		// Concurrent puts of a few plans: each gets a version of its own
		// within its ID, and each moves PlansRevision (the service's cached
		// plans must not miss one).
		s := newStore(t)
		const n = 30
		var wg sync.WaitGroup
		got := make([]member.Plan, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := plSamplePlan("t1", fmt.Sprintf("p%d", i%3))
				p.TrialDays = i + 1
				var err error
				got[i], err = s.PutPlan(ctx, p)
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		rev, err := s.PlansRevision(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, int64(n), rev)
		seen := map[string]bool{}
		for i, p := range got {
			k := fmt.Sprintf("%s@%d", p.ID, p.Version)
			assert.False(t, seen[k], "%s returned twice", k)
			seen[k] = true
			stored, err := s.Plan(ctx, "t1", p.ID, p.Version)
			require.NoError(t, err)
			assert.Equal(t, i+1, stored.TrialDays, "%s is what its put stored", k)
		}
		all, err := s.Plans(ctx, "t1")
		require.NoError(t, err)
		assert.Len(t, all, n)
	})

	t.Run("SavingsPerCustomer", func(t *testing.T) {
		// An update loads its own customer's saving record only: another
		// customer's or another tenant's saving of the same order is not it
		// (RecordSaving would take it for a replay and count nothing).
		s := newStore(t)
		_, _, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.MembershipTx) error {
			tx.Saving = &member.SavingRecord{OrderID: "o1", Saved: 500, Term: 1, At: t0}
			return plAddTerm("monthly", t0, 1800, time.Time{})(tx)
		})
		require.NoError(t, err)
		for _, p := range []member.MembershipParams{
			{Tenant: "t1", Customer: "c2", OrderID: "o1"},
			{Tenant: "t2", Customer: "c1", OrderID: "o1"},
		} {
			_, _, err := s.UpdateMembership(ctx, p, func(tx *member.MembershipTx) error {
				assert.Nil(t, tx.Saving, "%s/%s has no saving for o1", p.Tenant, p.Customer)
				tx.Saving = &member.SavingRecord{OrderID: "o1", Saved: 70, Term: 1, At: t0}
				return nil
			})
			require.NoError(t, err)
		}
		sv, err := s.Saving(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.Equal(t, int64(500), sv.Saved)
		for _, tc := range [][2]string{{"t1", "c2"}, {"t2", "c1"}} {
			sv, err := s.Saving(ctx, scrm.TenantID(tc[0]), scrm.CustomerID(tc[1]), "o1")
			require.NoError(t, err)
			assert.Equal(t, int64(70), sv.Saved)
		}
		_, err = s.Saving(ctx, "t1", "c3", "o1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("WhateverFnDoes", func(t *testing.T) {
		// fn may reslice, grow or replace what it is given; the store
		// saves exactly what fn left, and later updates cannot disturb it.
		s := newStore(t)
		p := member.MembershipParams{Tenant: "t1", Customer: "c1"}
		for i := 0; i < 6; i++ {
			_, _, err := s.UpdateMembership(ctx, p, plAddTerm("monthly", t0.AddDate(0, i, 0), int64(100+i), time.Time{}))
			require.NoError(t, err)
		}
		_, _, err := s.UpdateMembership(ctx, p, func(tx *member.MembershipTx) error {
			tx.State.Terms = tx.State.Terms[2:4]
			tx.State.Trials = append(tx.State.Trials, "a", "b", "c")[1:]
			return nil
		})
		require.NoError(t, err)
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c2"}, func(tx *member.MembershipTx) error {
			*tx.State = member.MembershipState{Terms: []member.PlanTerm{{Seq: 9, Plan: "annual", Paid: 9800}}, LastTerm: 9}
			return nil
		})
		require.NoError(t, err)
		// Other updates in between reuse whatever buffers they like.
		for i := 0; i < 3; i++ {
			_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c3"}, plAddTerm("x", t0, 1, time.Time{}))
			require.NoError(t, err)
		}
		m, err := s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		require.Len(t, m.Terms, 2)
		assert.Equal(t, int64(102), m.Terms[0].Paid)
		assert.Equal(t, int64(103), m.Terms[1].Paid)
		assert.Equal(t, []string{"b", "c"}, m.Trials)
		m2, err := s.Membership(ctx, "t1", "c2")
		require.NoError(t, err)
		require.Len(t, m2.Terms, 1)
		assert.Equal(t, int64(9800), m2.Terms[0].Paid)
		assert.Equal(t, scrm.CustomerID("c2"), m2.Customer, "the store sets tenant and customer")
		assert.Equal(t, scrm.TenantID("t1"), m2.Tenant)
		assert.Equal(t, int64(1), m2.Version)
	})

	t.Run("Idempotency", func(t *testing.T) {
		s := newStore(t)
		p := member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "sub-1", Fingerprint: "fp1"}
		first, _, err := s.UpdateMembership(ctx, p, func(tx *member.MembershipTx) error {
			tx.Outcome.Refund = 42
			return plAddTerm("monthly", t0, 1800, time.Time{})(tx)
		})
		require.NoError(t, err)
		calls := 0
		out, replayed, err := s.UpdateMembership(ctx, p, func(tx *member.MembershipTx) error { calls++; return nil })
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Zero(t, calls)
		assert.Equal(t, first, out)
		out.Terms[0].Paid = 1
		again, _, err := s.UpdateMembership(ctx, p, plSetDue(t0))
		require.NoError(t, err)
		assert.Equal(t, int64(1800), again.Terms[0].Paid, "replays return copies")
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "sub-1", Fingerprint: "other"}, plSetDue(t0))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c2", IdempotencyKey: "sub-1", Fingerprint: "fp1"}, plSetDue(t0))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		m, err := s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), m.Version)

		var ran atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "sub-2", Fingerprint: "fp2"},
					func(tx *member.MembershipTx) error {
						ran.Add(1)
						return plAddTerm("monthly", t0, 1800, time.Time{})(tx)
					})
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(1), ran.Load())
		m, err = s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Len(t, m.Terms, 2)
	})

	t.Run("Due", func(t *testing.T) {
		s := newStore(t)
		_, err := s.ListPlanDue(ctx, member.ListDueParams{Tenant: "t1", Before: t0, Cursor: "garbage"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		// 25 memberships due an hour apart, c05 due twice as late, one never.
		for i := 0; i < 25; i++ {
			_, _, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: scrm.CustomerID(fmt.Sprintf("c%02d", i))},
				plSetDue(t0.Add(time.Duration(i)*time.Hour)))
			require.NoError(t, err)
		}
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "never"}, plSetDue(time.Time{}))
		require.NoError(t, err)
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c05"}, plSetDue(t0.Add(100*time.Hour)))
		require.NoError(t, err)
		// Ties are ordered by customer.
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "b03"}, plSetDue(t0.Add(3*time.Hour)))
		require.NoError(t, err)

		due := listAll(t, func(p member.ListDueParams) (member.DuePage, error) { return s.ListPlanDue(ctx, p) }, "t1", t0.Add(10*time.Hour), 4)
		var got []string
		for _, d := range due {
			got = append(got, string(d.Customer))
		}
		assert.Equal(t, []string{"c00", "c01", "c02", "b03", "c03", "c04", "c06", "c07", "c08", "c09", "c10"}, got, "by DueAt, then customer; Before included")
		assertTime(t, t0.Add(3*time.Hour), due[3].At)

		// Moving DueAt moves the entry; zero removes it.
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c00"}, plSetDue(time.Time{}))
		require.NoError(t, err)
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c24"}, plSetDue(t0.Add(-time.Hour)))
		require.NoError(t, err)
		page, err := s.ListPlanDue(ctx, member.ListDueParams{Tenant: "t1", Before: t0.Add(time.Hour), Limit: 10})
		require.NoError(t, err)
		got = nil
		for _, d := range page.Accounts {
			got = append(got, string(d.Customer))
		}
		assert.Equal(t, []string{"c24", "c01"}, got)
		assert.Empty(t, page.Next)
		all := listAll(t, func(p member.ListDueParams) (member.DuePage, error) { return s.ListPlanDue(ctx, p) }, "t1", t0.AddDate(1, 0, 0), 7)
		assert.Len(t, all, 25, "each membership once; none for zero DueAt")

		// ListDueMemberships lists the same, with the memberships, through
		// one reused page; its cursors and ListPlanDue's are the same.
		err = s.ListDueMemberships(ctx, member.ListDueParams{Tenant: "t1", Before: t0, Cursor: "garbage"}, new(member.DueMemberships))
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		var states []member.MembershipState
		dm := new(member.DueMemberships)
		cursor := ""
		for {
			require.NoError(t, s.ListDueMemberships(ctx, member.ListDueParams{Tenant: "t1", Before: t0.AddDate(1, 0, 0), Cursor: cursor, Limit: 7}, dm))
			for _, st := range dm.Memberships {
				states = append(states, st.Clone())
			}
			if dm.Next == "" {
				break
			}
			require.Len(t, dm.Memberships, 7, "only the last page may be short")
			// Continue with ListPlanDue from the same cursor: same page.
			pg, err := s.ListPlanDue(ctx, member.ListDueParams{Tenant: "t1", Before: t0.AddDate(1, 0, 0), Cursor: dm.Next, Limit: 7})
			require.NoError(t, err)
			cursor = dm.Next
			require.NoError(t, s.ListDueMemberships(ctx, member.ListDueParams{Tenant: "t1", Before: t0.AddDate(1, 0, 0), Cursor: cursor, Limit: 7}, dm))
			require.Len(t, dm.Memberships, len(pg.Accounts))
			for i := range pg.Accounts {
				assert.Equal(t, pg.Accounts[i].Customer, dm.Memberships[i].Customer)
			}
			for _, st := range dm.Memberships {
				states = append(states, st.Clone())
			}
			if dm.Next == "" {
				break
			}
			cursor = dm.Next
		}
		require.Len(t, states, len(all))
		for i, st := range states {
			assert.Equal(t, all[i].Customer, st.Customer)
			assertTime(t, all[i].At, st.DueAt)
			stored, err := s.Membership(ctx, "t1", st.Customer)
			require.NoError(t, err)
			assert.Equal(t, stored.Version, st.Version)
		}
		// Copies: changing a listed membership changes nothing stored.
		require.NoError(t, s.ListDueMemberships(ctx, member.ListDueParams{Tenant: "t1", Before: t0.Add(time.Hour), Limit: 10}, dm))
		require.Len(t, dm.Memberships, 2)
		assert.Equal(t, scrm.CustomerID("c24"), dm.Memberships[0].Customer)
		dm.Memberships[0].DueAt = t0.AddDate(5, 0, 0)
		dm.Memberships[0].Terms = append(dm.Memberships[0].Terms, member.PlanTerm{Seq: 99})
		stored, err := s.Membership(ctx, "t1", "c24")
		require.NoError(t, err)
		assertTime(t, t0.Add(-time.Hour), stored.DueAt)
		assert.Empty(t, stored.Terms)
		require.NoError(t, s.ListDueMemberships(ctx, member.ListDueParams{Tenant: "t2", Before: t0.AddDate(1, 0, 0)}, dm))
		assert.Empty(t, dm.Memberships, "tenants are isolated")
		assert.Empty(t, dm.Next)
	})

	t.Run("ReleasersNeverExceed", func(t *testing.T) {
		// 50 goroutines each release one tranche of a term that has 20:
		// exactly 20 win.
		s := newStore(t)
		_, _, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1"}, plAddTerm("monthly", t0, 1800, time.Time{}))
		require.NoError(t, err)
		const n, limit = 50, 20
		var wg sync.WaitGroup
		var won, refused atomic.Int64
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: fmt.Sprintf("r%d", i), Fingerprint: "f"},
					func(tx *member.MembershipTx) error {
						t := &tx.State.Terms[0]
						if t.Released >= limit {
							return scrm.Errorf(scrm.ErrExhausted, "membertest", "all released")
						}
						t.Released++
						return nil
					})
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, scrm.ErrExhausted):
					refused.Add(1)
				default:
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(limit), won.Load())
		assert.Equal(t, int64(n-limit), refused.Load())
		m, err := s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int32(limit), m.Terms[0].Released)
		assert.Equal(t, int64(1+limit), m.Version)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutPlan(ctx, plSamplePlan("t1", "monthly"))
		require.NoError(t, err)
		_, _, err = s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "a", OrderID: "o1"},
			func(tx *member.MembershipTx) error {
				tx.Saving = &member.SavingRecord{OrderID: "o1", Saved: 1}
				return plAddTerm("monthly", t0, 1800, t0)(tx)
			})
		require.NoError(t, err)
		_, replayed, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t2", Customer: "c1", IdempotencyKey: "k", Fingerprint: "b"}, plSetDue(time.Time{}))
		require.NoError(t, err)
		assert.False(t, replayed, "keys are per tenant")
		_, err = s.Plan(ctx, "t2", "monthly", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		rev, err := s.PlansRevision(ctx, "t2")
		require.NoError(t, err)
		assert.Zero(t, rev)
		all, err := s.Plans(ctx, "t2")
		require.NoError(t, err)
		assert.Empty(t, all)
		_, err = s.Saving(ctx, "t2", "c1", "o1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		m, err := s.Membership(ctx, "t2", "c1")
		require.NoError(t, err)
		assert.Empty(t, m.Terms)
		_, err = s.Membership(ctx, "t3", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		page, err := s.ListPlanDue(ctx, member.ListDueParams{Tenant: "t2", Before: t0.AddDate(1, 0, 0)})
		require.NoError(t, err)
		assert.Empty(t, page.Accounts)
		page, err = s.ListPlanDue(ctx, member.ListDueParams{Tenant: "t1", Before: t0.AddDate(1, 0, 0)})
		require.NoError(t, err)
		assert.Len(t, page.Accounts, 1)
	})

	t.Run("Context", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1"}, plAddTerm("monthly", t0, 1800, t0))
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.PutPlan(cctx, plSamplePlan("t1", "monthly"))
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.Plan(cctx, "t1", "monthly", 0)
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.Plans(cctx, "t1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.PlansRevision(cctx, "t1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		called := false
		_, _, err = s.UpdateMembership(cctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "f"},
			func(*member.MembershipTx) error { called = true; return nil })
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.False(t, called)
		_, err = s.Membership(cctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.Saving(cctx, "t1", "c1", "o1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.ListPlanDue(cctx, member.ListDueParams{Tenant: "t1", Before: t0})
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		err = s.ListDueMemberships(cctx, member.ListDueParams{Tenant: "t1", Before: t0}, new(member.DueMemberships))
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		m, err := s.Membership(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), m.Version, "nothing written under a cancelled context")
		rev, err := s.PlansRevision(ctx, "t1")
		require.NoError(t, err)
		assert.Zero(t, rev)
		_, replayed, err := s.UpdateMembership(ctx, member.MembershipParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "f"}, plSetDue(t0))
		require.NoError(t, err)
		assert.False(t, replayed, "the key of the cancelled update is still free")
	})
}
