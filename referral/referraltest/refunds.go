package referraltest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// based returns an entry computed from an order of base yuan.
func based(id string, invitee scrm.CustomerID, order, amount, base string, due time.Time) referral.Entry {
	e := entry(id, invitee, order, amount, due)
	e.Base = scrm.Yuan(base)
	return e
}

// refund records a refund (amount "" or "0": the whole order), requiring
// success, and returns what ReverseOrder reports.
func refund(t *testing.T, s referral.Store, invitee scrm.CustomerID, order, amount, id string, at time.Time) []referral.Entry {
	t.Helper()
	p := referral.ReverseParams{Tenant: tenant, Invitee: invitee, OrderID: order, At: at, RefundID: id}
	if amount != "" {
		p.Amount = scrm.Yuan(amount)
	}
	got, err := s.ReverseOrder(ctx, p)
	require.NoError(t, err)
	return got
}

// byID returns the entry of got with ID id, failing when there is none.
func byID(t *testing.T, got []referral.Entry, id string) referral.Entry {
	t.Helper()
	for _, e := range got {
		if e.ID == id {
			return e
		}
	}
	require.Failf(t, "entry missing", "no entry %s among %d", id, len(got))
	return referral.Entry{}
}

// stored returns the tenant's entry id, whatever its status.
func stored(t *testing.T, s referral.Store, id string) referral.Entry {
	t.Helper()
	for _, st := range []referral.EntryStatus{referral.EntryPending, referral.EntrySettling, referral.EntrySettled, referral.EntryReversed} {
		for _, e := range listAll(t, s, st, time.Time{}) {
			if e.ID == id {
				return e
			}
		}
	}
	require.Failf(t, "entry missing", "no entry %s", id)
	return referral.Entry{}
}

// amounts asserts an entry's status, Amount, Gross and Refunded (yuan).
func amounts(t *testing.T, e referral.Entry, status referral.EntryStatus, amount, gross, refunded string) {
	t.Helper()
	assert.Equal(t, status, e.Status, e.ID)
	assert.True(t, e.Amount.Equal(scrm.Yuan(amount)), "%s: Amount %s, want %s", e.ID, e.Amount, amount)
	assert.True(t, e.Gross.Equal(scrm.Yuan(gross)), "%s: Gross %s, want %s", e.ID, e.Gross, gross)
	assert.True(t, e.Refunded.Equal(scrm.Yuan(refunded)), "%s: Refunded %s, want %s", e.ID, e.Refunded, refunded)
}

func ids(es []referral.Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// testPartialRefunds checks how ReverseOrder and AddEntries apply refunds
// of part of an order: entries computed from the order (Base) lose the
// same share of their Gross, rounded half up to the fen, computed from
// Gross each time.
func testPartialRefunds(t *testing.T, newStore func(t *testing.T) referral.Store) {
	due := t0.Add(7 * 24 * time.Hour)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	t.Run("ReducesInProportion", func(t *testing.T) {
		s := newStore(t)
		added := addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due), based("pct", "bob", "o1", "33.33", "1000.00", due),
			based("half", "bob", "o2", "1.00", "2.00", due))
		assert.Empty(t, added, "nothing refunded yet")
		e := stored(t, s, "c1")
		amounts(t, e, referral.EntryPending, "100.00", "100.00", "0")
		assert.True(t, e.Base.Equal(scrm.Yuan("1000")), "Base kept: %s", e.Base)
		assert.True(t, e.ReducedAt.IsZero())

		got := refund(t, s, "bob", "o1", "1.00", "r1", at(24))
		assert.Equal(t, []string{"c1", "pct"}, ids(got), "the entries reduced, in the order's order")
		amounts(t, byID(t, got, "c1"), referral.EntryPending, "99.90", "100.00", "1.00")
		amounts(t, byID(t, got, "pct"), referral.EntryPending, "33.30", "33.33", "1.00") // 33.33 × 1/1000 = 0.03333 → 0.03
		sameTime(t, at(24), byID(t, got, "c1").ReducedAt)
		assert.True(t, byID(t, got, "c1").ReversedAt.IsZero())
		amounts(t, stored(t, s, "c1"), referral.EntryPending, "99.90", "100.00", "1.00")
		sameTime(t, at(24), stored(t, s, "c1").ReducedAt)

		// Half a fen is rounded up: 1.00 × 0.01/2.00 = 0.005 → 0.01 off.
		got = refund(t, s, "bob", "o2", "0.01", "r2", at(24))
		amounts(t, byID(t, got, "half"), referral.EntryPending, "0.99", "1.00", "0.01")

		st, err := s.Stats(ctx, referral.StatsParams{Tenant: tenant, Program: "p1", Inviter: "alice"})
		require.NoError(t, err)
		assert.True(t, st.Pending.Equal(scrm.Yuan("134.19")), "99.90 + 33.30 + 0.99, got %s", st.Pending)
		assert.True(t, st.Reversed.Equal(scrm.Yuan("0.14")), "what refunds took off: 0.10 + 0.03 + 0.01, got %s", st.Reversed)

		// Settled at its DueAt, it pays its reduced Amount.
		paid, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "c1", From: referral.EntryPending, To: referral.EntrySettling, At: due})
		require.NoError(t, err)
		amounts(t, paid, referral.EntrySettling, "99.90", "100.00", "1.00")
	})
	t.Run("RefundsAccumulateUntilTheBase", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due), based("small", "bob", "o1", "0.10", "1000.00", due))
		refund(t, s, "bob", "o1", "1.00", "r1", at(1))
		got := refund(t, s, "bob", "o1", "499.00", "r2", at(2))
		amounts(t, byID(t, got, "c1"), referral.EntryPending, "50.00", "100.00", "500.00")
		amounts(t, byID(t, got, "small"), referral.EntryPending, "0.05", "0.10", "500.00") // 0.10 × 500/1000 = 0.05
		sameTime(t, at(2), byID(t, got, "c1").ReducedAt)

		got = refund(t, s, "bob", "o1", "500.00", "r3", at(3))
		for _, id := range []string{"c1", "small"} {
			e := byID(t, got, id)
			assert.Equal(t, referral.EntryReversed, e.Status, id)
			sameTime(t, at(3), e.ReversedAt, id)
			assert.True(t, e.Refunded.Equal(scrm.Yuan("1000")), "%s: Refunded %s", id, e.Refunded)
		}
		assert.True(t, byID(t, got, "c1").Amount.Equal(scrm.Yuan("50.00")), "a reversed entry keeps the Amount it had")
		assert.True(t, byID(t, got, "c1").Gross.Equal(scrm.Yuan("100.00")))
		assert.Empty(t, listAll(t, s, referral.EntryPending, time.Time{}))
		st, err := s.Stats(ctx, referral.StatsParams{Tenant: tenant, Program: "p1", Inviter: "alice"})
		require.NoError(t, err)
		assert.True(t, st.Reversed.Equal(scrm.Yuan("100.10")), "the whole Gross, got %s", st.Reversed)
		assert.True(t, st.Pending.IsZero())

		// Computed from Gross each time: 0.10 of an order of 3.00, refunded
		// 1.00 at a time, is 0.07 (3.33 fen off), then 0.03 (6.67 fen off);
		// 0.05 is 0.03 (1.67 off), then 0.02 (3.33 off), where reducing
		// the 0.03 left by half the rest (1.5 fen) would give 0.01.
		addEntries(t, s, based("thirds", "carol", "o3", "0.10", "3.00", due), based("fifths", "carol", "o3", "0.05", "3.00", due))
		got = refund(t, s, "carol", "o3", "1.00", "q1", at(1))
		amounts(t, byID(t, got, "thirds"), referral.EntryPending, "0.07", "0.10", "1.00")
		amounts(t, byID(t, got, "fifths"), referral.EntryPending, "0.03", "0.05", "1.00")
		got = refund(t, s, "carol", "o3", "1.00", "q2", at(2))
		amounts(t, byID(t, got, "thirds"), referral.EntryPending, "0.03", "0.10", "2.00")
		amounts(t, byID(t, got, "fifths"), referral.EntryPending, "0.02", "0.05", "2.00")
		// An entry whose Amount would become 0 is reversed: 0.01 of an
		// order of 3.00, refunded 2.00 (0.67 fen off, rounded to 1).
		addEntries(t, s, based("tiny", "dave", "o4", "0.01", "3.00", due))
		got = refund(t, s, "dave", "o4", "2.00", "", at(1))
		e := byID(t, got, "tiny")
		assert.Equal(t, referral.EntryReversed, e.Status)
		sameTime(t, at(1), e.ReversedAt)
	})
	t.Run("RedeliveredRefundChangesNothing", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due), based("c2", "bob", "o1", "10.00", "1000.00", due))
		first := refund(t, s, "bob", "o1", "100.00", "r1", at(1))
		amounts(t, byID(t, first, "c1"), referral.EntryPending, "90.00", "100.00", "100.00")
		for range 3 {
			again := refund(t, s, "bob", "o1", "100.00", "r1", at(1))
			// Returned again, unchanged, so that its event can be
			// published again.
			amounts(t, byID(t, again, "c1"), referral.EntryPending, "90.00", "100.00", "100.00")
			amounts(t, byID(t, again, "c2"), referral.EntryPending, "9.00", "10.00", "100.00")
		}
		// The same ID with another amount or time is the same refund.
		refund(t, s, "bob", "o1", "900.00", "r1", at(2))
		amounts(t, stored(t, s, "c1"), referral.EntryPending, "90.00", "100.00", "100.00")
		sameTime(t, at(1), stored(t, s, "c1").ReducedAt)

		n := race(20, func(int) error {
			_, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: at(3),
				Amount: scrm.Yuan("100.00"), RefundID: "r2"})
			return err
		}, func(err error) { assert.NoError(t, err) })
		assert.Equal(t, 20, n)
		amounts(t, stored(t, s, "c1"), referral.EntryPending, "80.00", "100.00", "200.00") // r2 counted once

		// Without RefundID, every call counts.
		refund(t, s, "bob", "o1", "100.00", "", at(4))
		refund(t, s, "bob", "o1", "100.00", "", at(4))
		amounts(t, stored(t, s, "c1"), referral.EntryPending, "60.00", "100.00", "400.00")

		// IDs are per order.
		addEntries(t, s, based("d1", "bob", "o2", "100.00", "1000.00", due))
		got := refund(t, s, "bob", "o2", "100.00", "r1", at(1))
		amounts(t, byID(t, got, "d1"), referral.EntryPending, "90.00", "100.00", "100.00")
	})
	t.Run("RefundBeforeEntriesReducesThem", func(t *testing.T) {
		s := newStore(t)
		assert.Empty(t, refund(t, s, "bob", "o1", "250.00", "r1", at(1)))
		// A refund at or after the entries' DueAt does not count for them,
		// in whatever order it is delivered.
		assert.Empty(t, refund(t, s, "bob", "o1", "500.00", "late", due))
		born := addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due), based("early", "bob", "o1", "5.00", "1000.00", at(1)),
			based("other", "bob", "o2", "7.00", "1000.00", due))
		assert.Equal(t, []string{"c1"}, ids(born), "reduced entries are returned; early is due at the refund, other is of another order")
		amounts(t, born[0], referral.EntryPending, "75.00", "100.00", "250.00")
		sameTime(t, at(1), born[0].ReducedAt)
		amounts(t, stored(t, s, "early"), referral.EntryPending, "5.00", "5.00", "0")

		// Added again (a redelivered qualifying event): returned again.
		again := addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due))
		require.Len(t, again, 1)
		amounts(t, again[0], referral.EntryPending, "75.00", "100.00", "250.00")

		// A later refund reduces it further; enough of them reverse entries
		// added afterwards at the refund that reached their Base.
		got := refund(t, s, "bob", "o1", "250.00", "r2", at(2))
		amounts(t, byID(t, got, "c1"), referral.EntryPending, "50.00", "100.00", "500.00")
		refund(t, s, "bob", "o1", "500.00", "r3", at(3))
		born = addEntries(t, s, based("c2", "bob", "o1", "10.00", "1000.00", due))
		require.Len(t, born, 1)
		assert.Equal(t, referral.EntryReversed, born[0].Status)
		sameTime(t, at(3), born[0].ReversedAt)
		assert.True(t, born[0].Amount.Equal(scrm.Yuan("5.00")), "the amount it had before the refund that reversed it: %s", born[0].Amount)
		assert.True(t, born[0].Gross.Equal(scrm.Yuan("10.00")))

		// The same refunds delivered in another order give the same result.
		s2 := newStore(t)
		refund(t, s2, "bob", "o1", "500.00", "late", due)
		refund(t, s2, "bob", "o1", "250.00", "r2", at(2))
		addEntries(t, s2, based("c1", "bob", "o1", "100.00", "1000.00", due))
		got = refund(t, s2, "bob", "o1", "250.00", "r1", at(1))
		amounts(t, byID(t, got, "c1"), referral.EntryPending, "50.00", "100.00", "500.00")
		sameTime(t, at(2), byID(t, got, "c1").ReducedAt, "the latest refund counted")
	})
	t.Run("WholeOrderRefundReversesAll", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due), based("pct", "bob", "o1", "30.00", "1000.00", due))
		refund(t, s, "bob", "o1", "1.00", "r1", at(1))
		got := refund(t, s, "bob", "o1", "", "r2", at(2)) // zero Amount: the whole order
		require.Len(t, got, 2)
		for _, e := range got {
			assert.Equal(t, referral.EntryReversed, e.Status, e.ID)
			sameTime(t, at(2), e.ReversedAt, e.ID)
			assert.True(t, e.Refunded.Equal(scrm.Yuan("1000")), "a whole-order refund counts as the Base: %s", e.Refunded)
		}
		amounts(t, byID(t, got, "c1"), referral.EntryReversed, "99.90", "100.00", "1000.00")

		// Refunding more than the order reverses too.
		addEntries(t, s, based("x", "carol", "o1", "10.00", "100.00", due))
		got = refund(t, s, "carol", "o1", "150.00", "r1", at(1))
		assert.Equal(t, referral.EntryReversed, byID(t, got, "x").Status)
	})
	t.Run("SettledEntriesUntouched", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, based("paid", "bob", "o1", "100.00", "1000.00", at(1)), based("settling", "bob", "o1", "100.00", "1000.00", at(1)),
			based("open", "bob", "o1", "100.00", "1000.00", due))
		_, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "paid", From: referral.EntryPending, To: referral.EntrySettled, At: at(1)})
		require.NoError(t, err)
		_, err = s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "settling", From: referral.EntryPending, To: referral.EntrySettling, At: at(1)})
		require.NoError(t, err)
		// Delivered late: the refund happened before they were due.
		got := refund(t, s, "bob", "o1", "100.00", "r1", t0)
		assert.Equal(t, []string{"open"}, ids(got))
		amounts(t, stored(t, s, "paid"), referral.EntrySettled, "100.00", "100.00", "0")
		amounts(t, stored(t, s, "settling"), referral.EntrySettling, "100.00", "100.00", "0")
		refund(t, s, "bob", "o1", "", "r2", t0)
		amounts(t, stored(t, s, "paid"), referral.EntrySettled, "100.00", "100.00", "0")
		amounts(t, stored(t, s, "settling"), referral.EntrySettling, "100.00", "100.00", "0")
		assert.Equal(t, referral.EntryReversed, stored(t, s, "open").Status)
	})
	t.Run("EntriesWithoutBaseReversedByAnyRefund", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, entry("nobase", "bob", "o1", "100.00", due), based("based", "bob", "o1", "100.00", "1000.00", due))
		got := refund(t, s, "bob", "o1", "0.01", "r1", at(1))
		require.Len(t, got, 1, "the based entry loses less than a fen")
		e := byID(t, got, "nobase")
		assert.Equal(t, referral.EntryReversed, e.Status)
		sameTime(t, at(1), e.ReversedAt)
		assert.True(t, e.Amount.Equal(scrm.Yuan("100.00")))
		amounts(t, stored(t, s, "based"), referral.EntryPending, "100.00", "100.00", "0.01")
		assert.True(t, stored(t, s, "based").ReducedAt.IsZero(), "a refund that took no fen off reduced nothing")
	})
	t.Run("ReducedAtIsTheLatestRefundThatLoweredTheAmount", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due))
		assert.Empty(t, refund(t, s, "bob", "o1", "0.01", "r1", at(1)), "0.1 fen off: rounded to none")
		e := stored(t, s, "c1")
		amounts(t, e, referral.EntryPending, "100.00", "100.00", "0.01")
		assert.True(t, e.ReducedAt.IsZero(), "no refund lowered the Amount yet")
		// With the first, 0.06 is 0.6 fen off: rounded to 1.
		got := refund(t, s, "bob", "o1", "0.05", "r2", at(2))
		amounts(t, byID(t, got, "c1"), referral.EntryPending, "99.99", "100.00", "0.06")
		sameTime(t, at(2), byID(t, got, "c1").ReducedAt)
		// 0.07 is 0.7 fen off: still 1, so ReducedAt stays.
		got = refund(t, s, "bob", "o1", "0.01", "r3", at(3))
		amounts(t, byID(t, got, "c1"), referral.EntryPending, "99.99", "100.00", "0.07")
		sameTime(t, at(2), byID(t, got, "c1").ReducedAt, "the latest refund that lowered the Amount")
		sameTime(t, at(2), stored(t, s, "c1").ReducedAt)

		// Added after such a refund, an entry is born unreduced.
		assert.Empty(t, refund(t, s, "dave", "o4", "0.01", "q1", at(1)))
		assert.Empty(t, addEntries(t, s, based("d1", "dave", "o4", "100.00", "1000.00", due)))
		e = stored(t, s, "d1")
		amounts(t, e, referral.EntryPending, "100.00", "100.00", "0.01")
		assert.True(t, e.ReducedAt.IsZero())
	})
	t.Run("BadInput", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, based("c1", "bob", "o1", "100.00", "1000.00", due))
		for _, amount := range []string{"-1.00", "0.001"} {
			_, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: at(1), Amount: scrm.Yuan(amount), RefundID: "bad"})
			assert.ErrorIs(t, err, scrm.ErrInvalid, amount)
		}
		// An empty Invitee is refused, naming it.
		_, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, OrderID: "o1", At: at(1), Amount: scrm.Yuan("1.00"), RefundID: "bad"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		var se *scrm.Error
		if assert.ErrorAs(t, err, &se) {
			assert.Equal(t, "Invitee", se.Field, "%v", err)
		}
		// Nothing was recorded: not even the refund's ID.
		got := refund(t, s, "bob", "o1", "1.00", "bad", at(1))
		amounts(t, byID(t, got, "c1"), referral.EntryPending, "99.90", "100.00", "1.00")

		negBase := based("n", "bob", "o9", "1.00", "-5.00", due)
		subFen := based("f", "bob", "o9", "1.00", "5.001", due)
		wrongGross := based("g", "bob", "o9", "1.00", "5.00", due)
		wrongGross.Gross = scrm.Yuan("2.00")
		for _, bad := range []referral.Entry{negBase, subFen, wrongGross} {
			_, err := s.AddEntries(ctx, tenant, []referral.Entry{based("ok", "bob", "o9", "1.00", "5.00", due), bad})
			assert.ErrorIs(t, err, scrm.ErrInvalid, bad.ID)
		}
		assert.Len(t, listAll(t, s, referral.EntryPending, time.Time{}), 1, "nothing written")
		sameGross := based("ok", "bob", "o9", "1.00", "5.00", due)
		sameGross.Gross = scrm.Yuan("1")
		assert.Empty(t, addEntries(t, s, sameGross), "a Gross equal to Amount is accepted")
	})
}
