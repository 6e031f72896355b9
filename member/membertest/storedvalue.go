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

// svCredit is a minimal stored-value step: it adds principal and bonus (in
// fen) and journals them.
func svCredit(principal, bonus int64) func(tx *member.ValueTx) error {
	return func(tx *member.ValueTx) error {
		a := tx.Account
		a.Seq++
		a.Principal += principal
		a.Bonus += bonus
		a.Cycle.PrincipalIn += principal
		a.Cycle.BonusIn += bonus
		tx.Outcome.Entries = append(tx.Outcome.Entries, member.ValueEntry{Seq: a.Seq, Kind: member.ValueTopUp, At: t0,
			Principal: principal, Bonus: bonus})
		tx.Outcome.Principal, tx.Outcome.Bonus = a.Principal, a.Bonus
		return nil
	}
}

// svPay draws amount fen, principal first, for an order, or fails with
// ErrExhausted when the balance is short: the check-then-act the store's
// lock makes safe.
func svPay(order string, amount int64) func(tx *member.ValueTx) error {
	return func(tx *member.ValueTx) error {
		a := tx.Account
		if tx.Payment != nil {
			return scrm.Errorf(scrm.ErrConflict, "membertest", "paid")
		}
		if a.Principal+a.Bonus < amount {
			return scrm.Errorf(scrm.ErrExhausted, "membertest", "short")
		}
		p := min(a.Principal, amount)
		b := amount - p
		a.Principal -= p
		a.Bonus -= b
		a.Seq++
		tx.Outcome.Entries = append(tx.Outcome.Entries, member.ValueEntry{Seq: a.Seq, Kind: member.ValuePay, At: t0,
			Principal: -p, Bonus: -b, OrderID: order})
		tx.Payment = &member.ValuePayment{OrderID: order, At: t0, Amount: amount, Principal: p, Bonus: b}
		tx.Outcome.Principal, tx.Outcome.Bonus = a.Principal, a.Bonus
		return nil
	}
}

func svUpdate(t *testing.T, s member.Store, p member.ValueParams, fn func(tx *member.ValueTx) error) member.ValueOutcome {
	t.Helper()
	out, replayed, err := s.UpdateStoredValue(ctx, p, fn)
	require.NoError(t, err)
	require.False(t, replayed)
	return out
}

func testStoredValue(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("TopUpRules", func(t *testing.T) {
		s := newStore(t)
		_, err := s.TopUpRule(ctx, "t1", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.PutTopUpRule(ctx, member.TopUpRule{})
		assert.ErrorIs(t, err, scrm.ErrInvalid)

		r := member.TopUpRule{Tenant: "t1", CreatedAt: t0, Steps: []member.TopUpStep{
			{Min: dec("300"), Bonus: dec("30.00"), BonusPoints: 100}, {Min: dec("1000"), Bonus: dec("100")}}}
		v1, err := s.PutTopUpRule(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v1.Version)
		r.Steps[0].Bonus = dec("999") // the store kept a copy
		r.Steps = r.Steps[:1]
		v2, err := s.PutTopUpRule(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v2.Version)

		got, err := s.TopUpRule(ctx, "t1", 1)
		require.NoError(t, err)
		require.Len(t, got.Steps, 2)
		assert.True(t, got.Steps[0].Bonus.Equal(dec("30")), "decimals round-trip by value")
		assert.True(t, got.Steps[1].Min.Equal(dec("1000.00")))
		assert.Equal(t, int64(100), got.Steps[0].BonusPoints)
		assertTime(t, t0, got.CreatedAt)
		got.Steps[0].BonusPoints = 1 // a copy
		newest, err := s.TopUpRule(ctx, "t1", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(2), newest.Version)
		require.Len(t, newest.Steps, 1)
		assert.True(t, newest.Steps[0].Bonus.Equal(dec("999")))
		again, err := s.TopUpRule(ctx, "t1", 1)
		require.NoError(t, err)
		assert.Equal(t, int64(100), again.Steps[0].BonusPoints)
		_, err = s.TopUpRule(ctx, "t1", 3)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.TopUpRule(ctx, "t2", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("Accounts", func(t *testing.T) {
		s := newStore(t)
		_, err := s.ValueAccount(ctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, _, err = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "", Customer: "c1"}, svCredit(1, 0))
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, _, err = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1"}, svCredit(1, 0))
		assert.ErrorIs(t, err, scrm.ErrInvalid)

		var seen member.ValueAccount
		out := svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, func(tx *member.ValueTx) error {
			seen = *tx.Account
			tx.Account.CreatedAt, tx.Account.UpdatedAt = t0, t0
			return svCredit(30000, 3000)(tx)
		})
		assert.Zero(t, seen.Version, "a new account")
		assert.Equal(t, scrm.TenantID("t1"), seen.Tenant)
		assert.Equal(t, scrm.CustomerID("c1"), seen.Customer)
		assert.Equal(t, int64(30000), out.Principal)
		assert.Equal(t, int64(3000), out.Bonus)

		a, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), a.Version)
		assert.Equal(t, int64(30000), a.Principal)
		assert.Equal(t, int64(3000), a.Bonus)
		assert.Equal(t, member.ValueCycle{PrincipalIn: 30000, BonusIn: 3000}, a.Cycle)
		assertTime(t, t0, a.CreatedAt)

		out = svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.ValueTx) error {
			assert.Equal(t, int64(1), tx.Account.Version)
			assert.Nil(t, tx.Payment, "no payment for o1 yet")
			return svPay("o1", 31000)(tx)
		})
		assert.Equal(t, int64(0), out.Principal)
		assert.Equal(t, int64(2000), out.Bonus)
		pay, err := s.ValuePayment(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.Equal(t, member.ValuePayment{OrderID: "o1", At: pay.At, Amount: 31000, Principal: 30000, Bonus: 1000}, pay)
		assertTime(t, t0, pay.At)
		_, err = s.ValuePayment(ctx, "t1", "c1", "o2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.ValuePayment(ctx, "t1", "c2", "o1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		// The payment is loaded into the next update of its order.
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.ValueTx) error {
			require.NotNil(t, tx.Payment)
			assert.Equal(t, int64(31000), tx.Payment.Amount)
			tx.Payment.Refunded = 100
			tx.Payment.RefundedPrincipal = 100
			tx.Account.Principal += 100
			return nil
		})
		pay, err = s.ValuePayment(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.Equal(t, int64(100), pay.Refunded)

		// What the store checks: balances never negative, the payment of
		// the named order; nothing written on error.
		_, _, err = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1"}, func(tx *member.ValueTx) error {
			tx.Account.Bonus -= 5000
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, _, err = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1", OrderID: "o3"}, func(tx *member.ValueTx) error {
			tx.Payment = &member.ValuePayment{OrderID: "o4", Amount: 1}
			return nil
		})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		boom := errors.New("boom")
		_, _, err = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k-fail", Fingerprint: "f"},
			func(tx *member.ValueTx) error {
				tx.Account.Principal = 1
				return boom
			})
		assert.ErrorIs(t, err, boom)
		a, err = s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(3), a.Version, "nothing written by the failed updates")
		assert.Equal(t, int64(100), a.Principal)
		_, err = s.ValuePayment(ctx, "t1", "c1", "o4")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		// The failed update's key is free.
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k-fail", Fingerprint: "f"}, svCredit(1, 0))

		// Copies, not aliases.
		a.Principal = 1 << 40
		b, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(101), b.Principal)
	})

	t.Run("AccountRoundTrip", func(t *testing.T) {
		// Every field of the account fn leaves comes back, through
		// ValueAccount and the next update's tx.Account: the cycle's
		// settled amounts and the withdrawal counters are what Withdraw
		// pays out by.
		s := newStore(t)
		cst := time.FixedZone("CST", 8*3600)
		want := member.ValueAccount{Tenant: "t1", Customer: "c1", Version: 1,
			CreatedAt: time.Date(2026, 1, 5, 9, 0, 0, 0, cst), UpdatedAt: time.Date(2026, 3, 1, 18, 30, 0, 0, cst),
			Seq: 1, Principal: 7000, Bonus: 900,
			Cycle: member.ValueCycle{PrincipalIn: 10000, BonusIn: 1500, PrincipalUsed: 3000, BonusUsed: 600,
				SettledPrincipal: 2000, SettledBonus: 300},
			Withdrawals: 2, Withdrawn: 12000, Kept: 450, Forfeited: 800}
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, func(tx *member.ValueTx) error {
			a := want
			a.Tenant, a.Customer, a.Version = tx.Account.Tenant, tx.Account.Customer, tx.Account.Version
			*tx.Account = a
			tx.Outcome.Entries = []member.ValueEntry{{Seq: 1, Kind: member.ValueTopUp, At: t0, Principal: 7000, Bonus: 900}}
			tx.Outcome.Principal, tx.Outcome.Bonus = a.Principal, a.Bonus
			return nil
		})
		assertAccount := func(t *testing.T, want, got member.ValueAccount) {
			t.Helper()
			assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
			assertTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
			got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
			assert.Equal(t, want, got)
		}
		got, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assertAccount(t, want, got)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, func(tx *member.ValueTx) error {
			assertAccount(t, want, *tx.Account)
			return svCredit(100, 0)(tx)
		})
		got, err = s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		want.Version, want.Seq, want.Principal, want.Cycle.PrincipalIn = 2, 2, 7100, 10100
		assertAccount(t, want, got)
	})

	t.Run("TopUpRuleVersionsUnderConcurrentPuts", func(t *testing.T) {
		// Concurrent puts each get a version of their own, 1 to n, under
		// which the store keeps what that put stored.
		s := newStore(t)
		assertVersionedPuts(t, 20, func(i int) (int64, error) {
			r, err := s.PutTopUpRule(ctx, member.TopUpRule{Tenant: "t1", Steps: []member.TopUpStep{{Min: dec("100"), BonusPoints: int64(i + 1)}}})
			return r.Version, err
		}, func(v int64) (int, error) {
			r, err := s.TopUpRule(ctx, "t1", v)
			if err != nil {
				return 0, err
			}
			if len(r.Steps) != 1 {
				return 0, fmt.Errorf("version %d has %d steps, not 1", v, len(r.Steps))
			}
			return int(r.Steps[0].BonusPoints) - 1, nil
		}, func() (int64, error) {
			r, err := s.TopUpRule(ctx, "t1", 0)
			return r.Version, err
		})
	})

	t.Run("PaymentsPerCustomer", func(t *testing.T) {
		// An update loads its own customer's payment record only: another
		// customer's or another tenant's payment of the same order is not
		// it (a refund would return that customer's money).
		s := newStore(t)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, svCredit(1000, 0))
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, svPay("o1", 600))
		for _, p := range []member.ValueParams{
			{Tenant: "t1", Customer: "c2", OrderID: "o1"},
			{Tenant: "t2", Customer: "c1", OrderID: "o1"},
		} {
			svUpdate(t, s, p, func(tx *member.ValueTx) error {
				assert.Nil(t, tx.Payment, "%s/%s has no payment for o1", p.Tenant, p.Customer)
				if err := svCredit(100, 0)(tx); err != nil {
					return err
				}
				return svPay("o1", 100)(tx)
			})
		}
		pay, err := s.ValuePayment(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.Equal(t, int64(600), pay.Amount)
		for _, tc := range [][2]string{{"t1", "c2"}, {"t2", "c1"}} {
			pay, err := s.ValuePayment(ctx, scrm.TenantID(tc[0]), scrm.CustomerID(tc[1]), "o1")
			require.NoError(t, err)
			assert.Equal(t, int64(100), pay.Amount)
		}
	})

	t.Run("EntriesContinueJournal", func(t *testing.T) {
		// The store refuses entries that do not continue the journal (Seq
		// one more than the last saved entry's, then consecutive), and
		// writes nothing.
		s := newStore(t)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, svCredit(100, 0))
		for name, seqs := range map[string][]int64{"gap": {3}, "repeat": {1}, "not consecutive": {2, 2}, "backwards": {3, 2}} {
			_, _, err := s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1"}, func(tx *member.ValueTx) error {
				for _, seq := range seqs {
					tx.Account.Seq = max(tx.Account.Seq, seq)
					tx.Account.Principal++
					tx.Outcome.Entries = append(tx.Outcome.Entries, member.ValueEntry{Seq: seq, Kind: member.ValueTopUp, At: t0, Principal: 1})
				}
				return nil
			})
			assert.ErrorIs(t, err, scrm.ErrInvalid, name)
		}
		a, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), a.Version, "nothing written")
		assert.Equal(t, int64(100), a.Principal)
		page, err := s.ValueEntries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, page.Entries, 1)
		// Entries that continue it are saved.
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, func(tx *member.ValueTx) error {
			if err := svCredit(1, 0)(tx); err != nil {
				return err
			}
			return svCredit(2, 0)(tx)
		})
	})

	t.Run("NegativeBalancesRefused", func(t *testing.T) {
		// Neither balance may be saved negative, whatever the other one
		// holds; nothing is written.
		s := newStore(t)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, svCredit(100, 500))
		for name, f := range map[string]func(a *member.ValueAccount){
			"principal": func(a *member.ValueAccount) { a.Principal -= 101 },
			"bonus":     func(a *member.ValueAccount) { a.Bonus -= 501 },
		} {
			_, _, err := s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1"}, func(tx *member.ValueTx) error {
				f(tx.Account)
				return nil
			})
			assert.ErrorIs(t, err, scrm.ErrInvalid, name)
		}
		a, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), a.Version, "nothing written")
		assert.Equal(t, int64(100), a.Principal)
		assert.Equal(t, int64(500), a.Bonus)
	})

	t.Run("Idempotency", func(t *testing.T) {
		s := newStore(t)
		p := member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "fp1"}
		first := svUpdate(t, s, p, svCredit(500, 50))
		calls := 0
		out, replayed, err := s.UpdateStoredValue(ctx, p, func(tx *member.ValueTx) error { calls++; return svCredit(500, 50)(tx) })
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Zero(t, calls, "fn is not called on a replay")
		assert.Equal(t, first, out)
		out.Entries[0].Principal = 7 // the caller's copy
		again, _, err := s.UpdateStoredValue(ctx, p, svCredit(500, 50))
		require.NoError(t, err)
		assert.Equal(t, int64(500), again.Entries[0].Principal)

		_, _, err = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "other"}, svCredit(1, 0))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, _, err = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c2", IdempotencyKey: "k1", Fingerprint: "fp1"}, svCredit(1, 0))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		a, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(500), a.Principal)
		assert.Equal(t, int64(1), a.Version)
		_, err = s.ValueAccount(ctx, "t1", "c2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		// Concurrent requests with one new key: fn runs once.
		var ran atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k2", Fingerprint: "fp2"},
					func(tx *member.ValueTx) error { ran.Add(1); return svCredit(1, 0)(tx) })
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(1), ran.Load())
		a, err = s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(501), a.Principal)
	})

	t.Run("Journal", func(t *testing.T) {
		s := newStore(t)
		for i := 0; i < 25; i++ {
			svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, svCredit(int64(i+1), 0))
		}
		var all []member.ValueEntry
		var after int64
		for {
			page, err := s.ValueEntries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1", After: after, Limit: 10})
			require.NoError(t, err)
			all = append(all, page.Entries...)
			if page.Next == 0 {
				break
			}
			after = page.Next
		}
		require.Len(t, all, 25)
		var sum int64
		for i, e := range all {
			assert.Equal(t, int64(i+1), e.Seq)
			sum += e.Principal
		}
		a, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, a.Principal, sum, "the journal explains the balance")
		page, err := s.ValueEntries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "nobody"})
		require.NoError(t, err)
		assert.Empty(t, page.Entries)
		all[0].Principal = 99 // a copy
		page, err = s.ValueEntries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1", Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, int64(1), page.Entries[0].Principal)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		// Every field of an entry and of a payment comes back, whatever the
		// kind, strings and time zone.
		s := newStore(t)
		at := time.Date(2026, 3, 1, 18, 30, 15, 123456789, time.FixedZone("CST", 8*3600))
		want := member.ValueEntry{Seq: 1, Kind: "custom", At: at, Principal: 5, Bonus: -3, BonusPoints: 7, Paid: 11,
			Kept: 13, Forfeited: 17, Key: "k-rt", OrderID: "o-rt", Note: "备注 note"}
		pay := member.ValuePayment{OrderID: "o-rt", Key: "k-pay", At: at, Amount: 30, Principal: 20, Bonus: 10,
			Refunded: 6, RefundedPrincipal: 4, RefundedBonus: 2, Cycle: 3}
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1", OrderID: "o-rt"}, func(tx *member.ValueTx) error {
			tx.Account.Seq = 1
			tx.Account.Principal, tx.Account.Bonus = 100, 100
			tx.Outcome.Entries = append(tx.Outcome.Entries, want)
			p := pay
			tx.Payment = &p
			return nil
		})
		page, err := s.ValueEntries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, page.Entries, 1)
		got := page.Entries[0]
		assertTime(t, at, got.At)
		assert.Equal(t, at.Format(time.RFC3339Nano), got.At.Format(time.RFC3339Nano), "the zone is kept")
		got.At = at
		assert.Equal(t, want, got)
		gotPay, err := s.ValuePayment(ctx, "t1", "c1", "o-rt")
		require.NoError(t, err)
		assertTime(t, at, gotPay.At)
		gotPay.At = at
		assert.Equal(t, pay, gotPay)
	})

	t.Run("PaymentCopied", func(t *testing.T) {
		// The store saves a copy of tx.Payment: fn's memory may be reused
		// once UpdateStoredValue returns.
		s := newStore(t)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, svCredit(1000, 0))
		var mine member.ValuePayment
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.ValueTx) error {
			if err := svPay("o1", 100)(tx); err != nil {
				return err
			}
			mine = *tx.Payment
			tx.Payment = &mine
			return nil
		})
		mine = member.ValuePayment{OrderID: "o1", Amount: 1}
		pay, err := s.ValuePayment(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.Equal(t, int64(100), pay.Amount)
		assert.Equal(t, int64(100), pay.Principal)
	})

	t.Run("PayersNeverOverdraw", func(t *testing.T) {
		// 50 goroutines each pay ¥10 from an account of ¥200 (¥150
		// principal, ¥50 bonus): exactly 20 win, the balance ends at zero.
		s := newStore(t)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, svCredit(15000, 5000))
		const n = 50
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := fmt.Sprintf("o%d", i)
				_, _, errs[i] = s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1",
					IdempotencyKey: "pay-" + order, Fingerprint: "fp", OrderID: order}, svPay(order, 1000))
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, scrm.ErrExhausted):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, 20, won)
		a, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Zero(t, a.Principal)
		assert.Zero(t, a.Bonus)
		assert.Equal(t, int64(1+won), a.Version)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutTopUpRule(ctx, member.TopUpRule{Tenant: "t1", Steps: []member.TopUpStep{{Min: dec("1"), Bonus: dec("1")}}})
		require.NoError(t, err)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "a", OrderID: "o1"}, svPay("o1", 0))
		out, replayed, err := s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t2", Customer: "c1", IdempotencyKey: "k", Fingerprint: "b"}, svCredit(7, 0))
		require.NoError(t, err)
		assert.False(t, replayed, "keys are per tenant")
		assert.Equal(t, int64(7), out.Principal)
		_, err = s.TopUpRule(ctx, "t2", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.ValuePayment(ctx, "t2", "c1", "o1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.ValueAccount(ctx, "t3", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		page, err := s.ValueEntries(ctx, member.ListEntriesParams{Tenant: "t2", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, page.Entries, 1)
		assert.Equal(t, int64(7), page.Entries[0].Principal)
	})

	t.Run("Context", func(t *testing.T) {
		s := newStore(t)
		svUpdate(t, s, member.ValueParams{Tenant: "t1", Customer: "c1"}, svCredit(10, 0))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.PutTopUpRule(cctx, member.TopUpRule{Tenant: "t1"})
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.TopUpRule(cctx, "t1", 0)
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		called := false
		_, _, err = s.UpdateStoredValue(cctx, member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "f"},
			func(*member.ValueTx) error { called = true; return nil })
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.False(t, called)
		_, err = s.ValueAccount(cctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.ValuePayment(cctx, "t1", "c1", "o1")
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		_, err = s.ValueEntries(cctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		a, err := s.ValueAccount(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), a.Version)
		_, err = s.TopUpRule(ctx, "t1", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written under a cancelled context")
		_, replayed, err := s.UpdateStoredValue(ctx, member.ValueParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k", Fingerprint: "f"}, svCredit(1, 0))
		require.NoError(t, err)
		assert.False(t, replayed, "the key of the cancelled update is still free")
	})
}
