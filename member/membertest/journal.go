package membertest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
)

func testJournal(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "nobody"})
		require.NoError(t, err)
		assert.Empty(t, page.Entries)
		assert.Zero(t, page.Next)
	})

	t.Run("CallerMayReuseEntries", func(t *testing.T) {
		// tx.Outcome.Entries, with their Lots, may be storage of the
		// caller's that it reuses once Update has returned: the journal
		// and the replays keep what each update wrote.
		s := newStore(t)
		buf := make([]member.Entry, 0, 2)
		lots := make([]member.LotMove, 0, 2)
		step := func(points int64) func(tx *member.LedgerTx) error {
			return func(tx *member.LedgerTx) error {
				a := tx.Account
				a.Seq++
				a.LastLot++
				a.Lots = append(a.Lots, member.Lot{ID: a.LastLot, Points: points, Remaining: points, Earned: t0.UnixNano()})
				lots = append(lots[:0], member.LotMove{Lot: a.LastLot, Points: points})
				buf = append(buf[:0], member.Entry{Seq: a.Seq, Kind: member.EntryEarn, At: t0, Points: points, Note: "earn", Lots: lots})
				tx.Outcome.Entries = buf
				tx.Outcome.After = member.Balance{Points: a.Points()}
				return nil
			}
		}
		p1 := member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "fp1"}
		update(t, s, p1, step(10))
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k2", Fingerprint: "fp2"}, step(20))
		// The caller reuses its storage again.
		buf[0].Points, buf[0].Note = -1, "scribbled"
		lots[0] = member.LotMove{Lot: 99, Points: -1}

		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, page.Entries, 2)
		for i, want := range []int64{10, 20} {
			e := page.Entries[i]
			assert.Equal(t, int64(i+1), e.Seq)
			assert.Equal(t, want, e.Points, "entry %d", i+1)
			assert.Equal(t, "earn", e.Note, "entry %d", i+1)
			assert.Equal(t, []member.LotMove{{Lot: int64(i + 1), Points: want}}, e.Lots, "entry %d", i+1)
		}
		again, replayed, err := s.Update(ctx, p1, step(30))
		require.NoError(t, err)
		assert.True(t, replayed)
		require.Len(t, again.Entries, 1)
		assert.Equal(t, int64(10), again.Entries[0].Points)
		assert.Equal(t, []member.LotMove{{Lot: 1, Points: 10}}, again.Entries[0].Lots, "the replay returns what k1 wrote")
	})

	t.Run("RoundTripAndPaging", func(t *testing.T) {
		s := newStore(t)
		exp := t0.AddDate(0, 3, 0)
		full := member.Entry{Seq: 1, Kind: member.EntryClawback, At: t0, Points: -30, Held: 0, Debt: 10, Growth: -40,
			Lots:     []member.LotMove{{Lot: 2, Points: -20, Held: 0, Expiry: exp.UnixNano()}},
			Forgiven: 0, Forfeited: 0, Key: "k1", OrderID: "o1", HoldID: "h1", From: "gold", To: "silver",
			Note: "退款", Operator: "op1", Program: 3}
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, func(tx *member.LedgerTx) error {
			tx.Account.Seq = 1
			tx.Outcome.Entries = []member.Entry{full}
			return nil
		})
		const n = 25
		for i := 0; i < n; i++ {
			update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(int64(i+1), exp))
		}
		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1", Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Entries, 10)
		got := page.Entries[0]
		assert.Equal(t, full.Seq, got.Seq)
		assert.Equal(t, full.Kind, got.Kind)
		assertTime(t, full.At, got.At)
		assert.Equal(t, full.Points, got.Points)
		assert.Equal(t, full.Debt, got.Debt)
		assert.Equal(t, full.Growth, got.Growth)
		require.Len(t, got.Lots, 1)
		assert.Equal(t, full.Lots[0].Lot, got.Lots[0].Lot)
		assert.Equal(t, full.Lots[0].Points, got.Lots[0].Points)
		assert.Equal(t, exp.UnixNano(), got.Lots[0].Expiry)
		assertTime(t, exp, got.Lots[0].ExpiresAt())
		assert.Equal(t, full.Key, got.Key)
		assert.Equal(t, full.OrderID, got.OrderID)
		assert.Equal(t, full.HoldID, got.HoldID)
		assert.Equal(t, full.From, got.From)
		assert.Equal(t, full.To, got.To)
		assert.Equal(t, full.Note, got.Note)
		assert.Equal(t, full.Operator, got.Operator)
		assert.Equal(t, full.Program, got.Program)

		var seqs []int64
		for {
			for _, e := range page.Entries {
				seqs = append(seqs, e.Seq)
			}
			if page.Next == 0 {
				break
			}
			page, err = s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1", After: page.Next, Limit: 10})
			require.NoError(t, err)
		}
		require.Len(t, seqs, n+1)
		for i, seq := range seqs {
			assert.Equal(t, int64(i+1), seq, "entries in Seq order without gaps")
		}

		// Copies: changing a returned entry changes nothing stored.
		page, err = s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1", Limit: 1})
		require.NoError(t, err)
		page.Entries[0].Lots[0].Points = 7
		again, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1", Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, int64(-20), again.Entries[0].Lots[0].Points)
	})
}
