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

func sampleItem(tenant scrm.TenantID, id string) member.CatalogItem {
	return member.CatalogItem{Tenant: tenant, ID: id, Name: "咖啡券 " + id, Points: 30,
		Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("12.50"), Note: "储值"},
		Stock:  10, PerCustomer: 2, Tiers: []string{"silver", "gold"},
		Start: t0.Add(-time.Hour), End: t0.AddDate(0, 1, 0), CreatedAt: t0, UpdatedAt: t0}
}

func assertSameItem(t *testing.T, want, got member.CatalogItem) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Points, got.Points)
	assert.Equal(t, want.Reward.Kind, got.Reward.Kind)
	assert.Equal(t, want.Reward.Points, got.Reward.Points)
	assert.True(t, want.Reward.Amount.Equal(got.Reward.Amount), "Reward.Amount %s != %s", want.Reward.Amount, got.Reward.Amount)
	assert.Equal(t, want.Reward.Template, got.Reward.Template)
	assert.Equal(t, want.Reward.Count, got.Reward.Count)
	assert.Equal(t, want.Reward.Note, got.Reward.Note)
	assert.Equal(t, want.Stock, got.Stock)
	assert.Equal(t, want.PerCustomer, got.PerCustomer)
	assert.Equal(t, want.Tiers, got.Tiers)
	assertTime(t, want.Start, got.Start, "Start")
	assertTime(t, want.End, got.End, "End")
	assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	assertTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
}

func putItem(t *testing.T, s member.Store, it member.CatalogItem) member.CatalogItem {
	t.Helper()
	got, err := s.PutCatalogItem(ctx, it)
	require.NoError(t, err)
	return got
}

// chargeFn is a minimal charge step for the suite: it spends the item's
// price from the account (ErrExhausted when short) and records the
// exchange, with a lease of a minute from t0.
func chargeFn(p member.ChargeExchangeParams) func(tx *member.ExchangeTx) error {
	return func(tx *member.ExchangeTx) error {
		if err := spend(tx.Item.Points)(tx.Ledger); err != nil {
			return err
		}
		ent := tx.Ledger.Outcome.Entries[len(tx.Ledger.Outcome.Entries)-1]
		tx.Exchange = &member.ExchangeRecord{Tenant: p.Tenant, Key: p.Key, Customer: p.Customer, Item: p.Item,
			ItemName: tx.Item.Name, ItemVersion: tx.Item.Version, Points: tx.Item.Points, Reward: tx.Item.Reward,
			State: member.ExchangePending, Lots: append([]member.LotMove(nil), ent.Lots...), Balance: tx.Ledger.Outcome.After,
			LeaseUntil: t0.Add(time.Minute), CreatedAt: t0}
		return nil
	}
}

// refundFn gives the exchange's points back in a new never-expiring lot.
func refundFn(tx *member.ExchangeTx) error {
	if err := credit(tx.Exchange.Points, time.Time{})(tx.Ledger); err != nil {
		return err
	}
	tx.Exchange.Returned = tx.Exchange.Points
	tx.Exchange.Unclawed = 1 // any value: the store keeps what fn records
	tx.Exchange.Balance = tx.Ledger.Outcome.After
	return nil
}

func chargeParams(tenant scrm.TenantID, c scrm.CustomerID, item, key string) member.ChargeExchangeParams {
	return member.ChargeExchangeParams{Tenant: tenant, Customer: c, Item: item, Key: key, Fingerprint: "fp:" + string(c) + ":" + item}
}

func charge(t *testing.T, s member.Store, p member.ChargeExchangeParams) member.ExchangeRecord {
	t.Helper()
	res, err := s.ChargeExchange(ctx, p, chargeFn(p))
	require.NoError(t, err)
	require.False(t, res.Replayed)
	return res.Exchange
}

func fieldOf(err error) string {
	var se *scrm.Error
	if errors.As(err, &se) {
		return se.Field
	}
	return ""
}

func sold(t *testing.T, s member.Store, tenant scrm.TenantID, id string) int64 {
	t.Helper()
	it, err := s.CatalogItem(ctx, tenant, id)
	require.NoError(t, err)
	return it.Sold
}

func testMall(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Helper()
	t.Run("Catalog", func(t *testing.T) { testCatalog(t, newStore) })
	t.Run("Charge", func(t *testing.T) { testCharge(t, newStore) })
	t.Run("ChargeReplay", func(t *testing.T) { testChargeReplay(t, newStore) })
	t.Run("Limits", func(t *testing.T) { testMallLimits(t, newStore) })
	t.Run("Settle", func(t *testing.T) { testSettle(t, newStore) })
	t.Run("Lease", func(t *testing.T) { testLease(t, newStore) })
	t.Run("History", func(t *testing.T) { testExchangeHistory(t, newStore) })
	t.Run("Concurrency", func(t *testing.T) { testMallConcurrency(t, newStore) })
	t.Run("Isolation", func(t *testing.T) { testMallIsolation(t, newStore) })
	t.Run("Context", func(t *testing.T) { testMallContext(t, newStore) })
}

func testCatalog(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("RoundTripAndVersions", func(t *testing.T) {
		s := newStore(t)
		_, err := s.CatalogItem(ctx, "t1", "i1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		want := sampleItem("t1", "i1")
		want.Sold = 99 // the store's, ignored
		got := putItem(t, s, want)
		assert.Equal(t, int64(1), got.Version)
		assert.Zero(t, got.Sold)
		assertSameItem(t, want, got)
		loaded, err := s.CatalogItem(ctx, "t1", "i1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), loaded.Version)
		assertSameItem(t, want, loaded)

		_, err = s.PutCatalogItem(ctx, sampleItem("t1", "i1"))
		assert.ErrorIs(t, err, scrm.ErrConflict, "version 0 when one is stored")
		stale := sampleItem("t1", "i1")
		stale.Version = 2
		_, err = s.PutCatalogItem(ctx, stale)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a version from the future")
		ghost := sampleItem("t1", "nope")
		ghost.Version = 1
		_, err = s.PutCatalogItem(ctx, ghost)
		assert.ErrorIs(t, err, scrm.ErrConflict, "an update of an item never stored")
		_, err = s.CatalogItem(ctx, "t1", "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written on conflict")

		upd := loaded
		upd.Name, upd.Points, upd.Stock = "新名字", 45, 20
		upd.CreatedAt = t0.AddDate(0, 0, 5) // the store keeps the original
		upd.UpdatedAt = t0.Add(time.Hour)
		got = putItem(t, s, upd)
		assert.Equal(t, int64(2), got.Version)
		assert.Equal(t, "新名字", got.Name)
		assert.Equal(t, int64(45), got.Points)
		assertTime(t, t0, got.CreatedAt, "CreatedAt kept")
		assertTime(t, t0.Add(time.Hour), got.UpdatedAt)
		_, err = s.PutCatalogItem(ctx, upd)
		assert.ErrorIs(t, err, scrm.ErrConflict, "version 1 is stale now")
	})

	t.Run("SoldSurvivesUpdates", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
		it := putItem(t, s, sampleItem("t1", "i1"))
		charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
		it.Name = "changed"
		got := putItem(t, s, it)
		assert.Equal(t, int64(1), got.Sold)
		assert.Equal(t, int64(2), got.Version, "a charge counts Sold without changing the version")
	})

	t.Run("Invalid", func(t *testing.T) {
		s := newStore(t)
		it := sampleItem("", "i1")
		_, err := s.PutCatalogItem(ctx, it)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		it = sampleItem("t1", "")
		_, err = s.PutCatalogItem(ctx, it)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		page, err := s.ListCatalog(ctx, member.ListCatalogParams{Tenant: "t1"})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
		assert.Empty(t, page.Next)
		for _, id := range []string{"e", "b", "d", "a", "c"} {
			putItem(t, s, sampleItem("t1", id))
		}
		var ids []string
		var pages int
		cursor := ""
		for {
			page, err := s.ListCatalog(ctx, member.ListCatalogParams{Tenant: "t1", Cursor: cursor, Limit: 2})
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(page.Items), 2)
			for _, it := range page.Items {
				ids = append(ids, it.ID)
				assert.Equal(t, int64(1), it.Version)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
			require.Less(t, pages, 10)
		}
		assert.Equal(t, []string{"a", "b", "c", "d", "e"}, ids)
		assert.Equal(t, 3, pages)
	})

	t.Run("ConcurrentPutsOneWins", func(t *testing.T) {
		// Operators racing to create an item, then to update it from one
		// version: exactly one of each wins, the others get ErrConflict
		// (the version check and the write are one step).
		s := newStore(t)
		const n = 20
		race := func(put func(i int) member.CatalogItem) (won int, winner member.CatalogItem) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := s.PutCatalogItem(ctx, put(i))
					if err != nil {
						assert.ErrorIs(t, err, scrm.ErrConflict)
						return
					}
					mu.Lock()
					won++
					winner = got
					mu.Unlock()
				}()
			}
			wg.Wait()
			return won, winner
		}
		won, created := race(func(i int) member.CatalogItem {
			it := sampleItem("t1", "i1")
			it.Name = fmt.Sprintf("create %d", i)
			return it
		})
		assert.Equal(t, 1, won, "one creation wins")
		stored, err := s.CatalogItem(ctx, "t1", "i1")
		require.NoError(t, err)
		assert.Equal(t, created.Name, stored.Name)
		assert.Equal(t, int64(1), stored.Version)
		won, updated := race(func(i int) member.CatalogItem {
			it := stored.Clone()
			it.Name, it.Stock = fmt.Sprintf("update %d", i), int64(100+i)
			return it
		})
		assert.Equal(t, 1, won, "one update of version 1 wins")
		stored, err = s.CatalogItem(ctx, "t1", "i1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), stored.Version)
		assert.Equal(t, updated.Name, stored.Name)
		assert.Equal(t, updated.Stock, stored.Stock)
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		in := sampleItem("t1", "i1")
		out := putItem(t, s, in)
		in.Tiers[0] = "changed-in"
		out.Tiers[1] = "changed-out"
		got, err := s.CatalogItem(ctx, "t1", "i1")
		require.NoError(t, err)
		assert.Equal(t, []string{"silver", "gold"}, got.Tiers)
		got.Tiers[0] = "changed-get"
		page, err := s.ListCatalog(ctx, member.ListCatalogParams{Tenant: "t1"})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		assert.Equal(t, []string{"silver", "gold"}, page.Items[0].Tiers)
	})
}

func testCharge(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("ChargeAndRead", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(20, t0.AddDate(0, 1, 0)))
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(80, time.Time{}))
		putItem(t, s, sampleItem("t1", "i1"))
		p := chargeParams("t1", "c1", "i1", "k1")
		var seen member.ExchangeTx
		res, err := s.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error {
			seen = *tx
			require.NotNil(t, tx.Exchange, "a charge starts with a zero record to fill")
			assert.Equal(t, member.ExchangeRecord{}, *tx.Exchange)
			require.NotNil(t, tx.Ledger)
			require.NotNil(t, tx.Ledger.Account)
			assert.Equal(t, int64(100), tx.Ledger.Account.Points())
			return chargeFn(p)(tx)
		})
		require.NoError(t, err)
		assert.False(t, res.Replayed)
		assertSameItem(t, sampleItem("t1", "i1"), seen.Item)
		assert.Equal(t, int64(1), seen.Item.Version)
		assert.Zero(t, seen.Item.Sold)
		assert.Zero(t, seen.Bought)

		r := res.Exchange
		assert.Equal(t, member.ExchangePending, r.State)
		assert.Equal(t, int64(1), r.Attempt, "the store starts the fencing token at 1")
		assert.Equal(t, p.Fingerprint, r.Fingerprint, "the store records the fingerprint")
		assert.Equal(t, int64(30), r.Points)
		assert.Equal(t, int64(70), r.Balance.Points)
		require.Len(t, res.Outcome.Entries, 1, "the ledger's outcome is returned")
		assert.Equal(t, int64(-30), res.Outcome.Entries[0].Points)

		a := account(t, s, "t1", "c1")
		assert.Equal(t, int64(70), a.Points(), "the ledger update is saved")
		assert.Equal(t, int64(3), a.Version)
		assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))

		got, err := s.ExchangeByKey(ctx, "t1", "k1")
		require.NoError(t, err)
		assertSameExchange(t, r, got)
		_, err = s.ExchangeByKey(ctx, "t1", "k2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		// The second charge sees the counts; it fills the record it is
		// given rather than replacing it.
		p2 := chargeParams("t1", "c1", "i1", "k2")
		res2, err := s.ChargeExchange(ctx, p2, func(tx *member.ExchangeTx) error {
			assert.Equal(t, int64(1), tx.Item.Sold)
			assert.Equal(t, int64(1), tx.Bought)
			given := tx.Exchange
			if err := chargeFn(p2)(tx); err != nil {
				return err
			}
			*given = *tx.Exchange
			tx.Exchange = given
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, "k2", res2.Exchange.Key)
		got2, err := s.ExchangeByKey(ctx, "t1", "k2")
		require.NoError(t, err)
		assertSameExchange(t, res2.Exchange, got2)
	})

	t.Run("RewardRoundTrip", func(t *testing.T) {
		// The record keeps the reward as charged, every field of it: a
		// resumed exchange grants the record's reward (a coupon's template
		// and count), whatever the item has become.
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
		it := sampleItem("t1", "i1")
		it.Reward = scrm.Reward{Kind: scrm.RewardCoupon, Template: "cp-50", Count: 3, Note: "满减券"}
		it = putItem(t, s, it)
		want := it.Reward
		charged := charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
		it.Reward = scrm.Reward{Kind: scrm.RewardPoints, Points: 1}
		putItem(t, s, it)
		assertReward := func(got scrm.Reward, where string) {
			t.Helper()
			assert.True(t, want.Amount.Equal(got.Amount), where)
			got.Amount = want.Amount
			assert.Equal(t, want, got, where)
		}
		assertReward(charged.Reward, "ChargeExchange")
		got, err := s.ExchangeByKey(ctx, "t1", "k1")
		require.NoError(t, err)
		assertReward(got.Reward, "ExchangeByKey")
		hist, err := s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, hist.Exchanges, 1)
		assertReward(hist.Exchanges[0].Reward, "ListExchanges")
		pending, err := s.ListPendingExchanges(ctx, member.ListPendingExchangesParams{Tenant: "t1", Before: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, pending, 1)
		assertReward(pending[0].Reward, "ListPendingExchanges")
		claimed, err := s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t1", Key: "k1", Now: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		assertReward(claimed.Reward, "ClaimExchange")
	})

	t.Run("UnknownItem", func(t *testing.T) {
		s := newStore(t)
		called := false
		_, err := s.ChargeExchange(ctx, chargeParams("t1", "c1", "nope", "k1"), func(*member.ExchangeTx) error { called = true; return nil })
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		assert.False(t, called)
	})

	t.Run("FailureWritesNothing", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
		putItem(t, s, sampleItem("t1", "i1"))
		p := chargeParams("t1", "c1", "i1", "k1")
		_, err := s.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error {
			if err := chargeFn(p)(tx); err != nil {
				return err
			}
			return scrm.Errorf(scrm.ErrForbidden, "membertest", "no")
		})
		require.ErrorIs(t, err, scrm.ErrForbidden)
		// A record that does not match the params is refused.
		for name, mutate := range map[string]func(r *member.ExchangeRecord){
			"nil":      nil,
			"key":      func(r *member.ExchangeRecord) { r.Key = "other" },
			"customer": func(r *member.ExchangeRecord) { r.Customer = "c2" },
			"item":     func(r *member.ExchangeRecord) { r.Item = "i2" },
			"tenant":   func(r *member.ExchangeRecord) { r.Tenant = "t2" },
			"state":    func(r *member.ExchangeRecord) { r.State = member.ExchangeDone },
		} {
			_, err := s.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error {
				if err := chargeFn(p)(tx); err != nil {
					return err
				}
				if mutate == nil {
					tx.Exchange = nil
				} else {
					mutate(tx.Exchange)
				}
				return nil
			})
			assert.ErrorIs(t, err, scrm.ErrInvalid, name)
		}
		a := account(t, s, "t1", "c1")
		assert.Equal(t, int64(100), a.Points())
		assert.Equal(t, int64(1), a.Version)
		assert.Zero(t, sold(t, s, "t1", "i1"))
		_, err = s.ExchangeByKey(ctx, "t1", "k1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		page, err := s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Empty(t, page.Exchanges)

		// The key is still free.
		r := charge(t, s, p)
		assert.Equal(t, member.ExchangePending, r.State)
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
		putItem(t, s, sampleItem("t1", "i1"))
		r := charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
		want := r.Clone()
		r.Lots[0].Points = 12345
		r.State = member.ExchangeDone
		got, err := s.ExchangeByKey(ctx, "t1", "k1")
		require.NoError(t, err)
		assertSameExchange(t, want, got)
		got.Lots[0].Points = 777
		page, err := s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, page.Exchanges, 1)
		assertSameExchange(t, want, page.Exchanges[0])
	})
}

func assertSameExchange(t *testing.T, want, got member.ExchangeRecord) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.Key, got.Key)
	assert.Equal(t, want.Fingerprint, got.Fingerprint)
	assert.Equal(t, want.Customer, got.Customer)
	assert.Equal(t, want.Item, got.Item)
	assert.Equal(t, want.ItemName, got.ItemName)
	assert.Equal(t, want.ItemVersion, got.ItemVersion)
	assert.Equal(t, want.Points, got.Points)
	assert.Equal(t, want.Reward.Kind, got.Reward.Kind)
	assert.Equal(t, want.Reward.Points, got.Reward.Points)
	assert.True(t, want.Reward.Amount.Equal(got.Reward.Amount), "Reward.Amount")
	assert.Equal(t, want.Reward.Template, got.Reward.Template, "Reward.Template")
	assert.Equal(t, want.Reward.Count, got.Reward.Count, "Reward.Count")
	assert.Equal(t, want.Reward.Note, got.Reward.Note, "Reward.Note")
	assert.Equal(t, want.State, got.State)
	assert.Equal(t, want.Balance, got.Balance)
	assert.Equal(t, want.Returned, got.Returned)
	assert.Equal(t, want.Forfeited, got.Forfeited)
	assert.Equal(t, want.Unclawed, got.Unclawed, "Unclawed")
	assert.Equal(t, want.Reason, got.Reason)
	assert.Equal(t, want.Attempt, got.Attempt)
	assertTime(t, want.LeaseUntil, got.LeaseUntil, "LeaseUntil")
	assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	assertTime(t, want.SettledAt, got.SettledAt, "SettledAt")
	require.Len(t, got.Lots, len(want.Lots))
	for i, m := range want.Lots {
		assert.Equal(t, m, got.Lots[i])
	}
}

func testChargeReplay(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("SameKeySamePayload", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
		it := putItem(t, s, sampleItem("t1", "i1"))
		p := chargeParams("t1", "c1", "i1", "k1")
		first := charge(t, s, p)

		// The item changes; the replay returns the record as charged.
		it.Points = 1
		putItem(t, s, it)
		calls := 0
		res, err := s.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error { calls++; return chargeFn(p)(tx) })
		require.NoError(t, err)
		assert.True(t, res.Replayed)
		assert.Zero(t, calls, "a replay must not call fn")
		assertSameExchange(t, first, res.Exchange)
		assert.Empty(t, res.Outcome.Entries)
		assert.Equal(t, int64(70), account(t, s, "t1", "c1").Points(), "a replay writes nothing")
		assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))

		// Once settled, the replay returns the record as it stands.
		_, err = s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0.Add(time.Second)})
		require.NoError(t, err)
		res, err = s.ChargeExchange(ctx, p, chargeFn(p))
		require.NoError(t, err)
		assert.True(t, res.Replayed)
		assert.Equal(t, member.ExchangeDone, res.Exchange.State)
	})

	t.Run("OtherPayloadConflicts", func(t *testing.T) {
		s := newStore(t)
		for _, c := range []scrm.CustomerID{"c1", "c2"} {
			update(t, s, member.UpdateParams{Tenant: "t1", Customer: c}, credit(100, time.Time{}))
		}
		putItem(t, s, sampleItem("t1", "i1"))
		putItem(t, s, sampleItem("t1", "i2"))
		charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
		for name, p := range map[string]member.ChargeExchangeParams{
			"fingerprint": {Tenant: "t1", Customer: "c1", Item: "i1", Key: "k1", Fingerprint: "other"},
			"customer":    chargeParams("t1", "c2", "i1", "k1"),
			"item":        chargeParams("t1", "c1", "i2", "k1"),
		} {
			_, err := s.ChargeExchange(ctx, p, chargeFn(p))
			assert.ErrorIs(t, err, scrm.ErrConflict, name)
			assert.Equal(t, "IdempotencyKey", fieldOf(err), name)
		}
		assert.Equal(t, int64(100), account(t, s, "t1", "c2").Points())
		assert.Equal(t, int64(70), account(t, s, "t1", "c1").Points())
		assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))
		assert.Zero(t, sold(t, s, "t1", "i2"))
	})

	t.Run("KeysOfItsOwn", func(t *testing.T) {
		// The mall's keys are not the ledger's: a charge records no ledger
		// key, and a ledger key does not stop a charge.
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "earn"}, credit(100, time.Time{}))
		putItem(t, s, sampleItem("t1", "i1"))
		charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
		charge(t, s, chargeParams("t1", "c1", "i1", "k2"))
		_, replayed, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Fingerprint: "earn"}, credit(100, time.Time{}))
		require.NoError(t, err)
		assert.True(t, replayed, "the ledger's record of k1 is untouched")
		out, replayed, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1", IdempotencyKey: "k2", Fingerprint: "earn"}, credit(5, time.Time{}))
		require.NoError(t, err)
		assert.False(t, replayed, "the charge recorded no ledger key")
		assert.Equal(t, int64(45), out.After.Points)
	})

	t.Run("ConcurrentSameKeyRunsOnce", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(1000, time.Time{}))
		putItem(t, s, sampleItem("t1", "i1"))
		p := chargeParams("t1", "c1", "i1", "k1")
		const n = 30
		var calls, replays atomic.Int32
		var wg sync.WaitGroup
		recs := make([]member.ExchangeRecord, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error {
					calls.Add(1)
					time.Sleep(time.Millisecond)
					return chargeFn(p)(tx)
				})
				assert.NoError(t, err)
				if res.Replayed {
					replays.Add(1)
				}
				recs[i] = res.Exchange
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), calls.Load(), "fn runs once per key")
		assert.Equal(t, int32(n-1), replays.Load())
		for _, r := range recs {
			assert.Equal(t, "k1", r.Key)
		}
		assert.Equal(t, int64(970), account(t, s, "t1", "c1").Points())
		assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))
	})
}

func testMallLimits(t *testing.T, newStore func(t *testing.T) member.Store) {
	s := newStore(t)
	for _, c := range []scrm.CustomerID{"c1", "c2", "c3"} {
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: c}, credit(1000, time.Time{}))
	}
	it := sampleItem("t1", "i1")
	it.Stock, it.PerCustomer = 3, 2
	putItem(t, s, it)
	refused := func(p member.ChargeExchangeParams, field string) {
		t.Helper()
		called := false
		_, err := s.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error { called = true; return chargeFn(p)(tx) })
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		assert.Equal(t, field, fieldOf(err))
		assert.False(t, called, "the store checks its counts before calling fn")
		_, err = s.ExchangeByKey(ctx, "t1", p.Key)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	}
	charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
	charge(t, s, chargeParams("t1", "c1", "i1", "k2"))
	refused(chargeParams("t1", "c1", "i1", "k3"), "PerCustomer")
	charge(t, s, chargeParams("t1", "c2", "i1", "k4"))
	refused(chargeParams("t1", "c3", "i1", "k5"), "Stock")
	assert.Equal(t, int64(3), sold(t, s, "t1", "i1"))
	assert.Equal(t, int64(1000), account(t, s, "t1", "c3").Points())

	// A refund gives the stock and the customer's count back.
	_, err := s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0}, refundFn)
	require.NoError(t, err)
	assert.Equal(t, int64(2), sold(t, s, "t1", "i1"))
	charge(t, s, chargeParams("t1", "c1", "i1", "k6"))
	refused(chargeParams("t1", "c3", "i1", "k7"), "Stock")

	// Raising the stock opens it again; lowering it below Sold closes it.
	cur, err := s.CatalogItem(ctx, "t1", "i1")
	require.NoError(t, err)
	cur.Stock = 4
	cur = putItem(t, s, cur)
	charge(t, s, chargeParams("t1", "c3", "i1", "k8"))
	cur.Stock = 1
	putItem(t, s, cur)
	refused(chargeParams("t1", "c3", "i1", "k9"), "Stock")
	assert.Equal(t, int64(4), sold(t, s, "t1", "i1"))

	// Unlimited stock and count.
	free := sampleItem("t1", "free")
	free.Stock, free.PerCustomer, free.Points = 0, 0, 1
	putItem(t, s, free)
	for i := 0; i < 5; i++ {
		charge(t, s, chargeParams("t1", "c2", "free", fmt.Sprintf("free-%d", i)))
	}
	assert.Equal(t, int64(5), sold(t, s, "t1", "free"))
}

func testSettle(t *testing.T, newStore func(t *testing.T) member.Store) {
	setup := func(t *testing.T) member.Store {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
		putItem(t, s, sampleItem("t1", "i1"))
		charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
		return s
	}

	t.Run("Complete", func(t *testing.T) {
		s := setup(t)
		at := t0.Add(2 * time.Second)
		_, err := s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 2, At: at})
		assert.ErrorIs(t, err, scrm.ErrConflict, "another attempt")
		assert.Equal(t, "Attempt", fieldOf(err))
		r, err := s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: at})
		require.NoError(t, err)
		assert.Equal(t, member.ExchangeDone, r.State)
		assertTime(t, at, r.SettledAt)
		again, err := s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: at.Add(time.Hour)})
		require.NoError(t, err, "completing a done exchange changes nothing")
		assertTime(t, at, again.SettledAt)
		called := false
		_, err = s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: at},
			func(*member.ExchangeTx) error { called = true; return nil })
		assert.ErrorIs(t, err, scrm.ErrConflict, "a done exchange is never refunded")
		assert.False(t, called)
		assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))
		_, err = s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "nope", Attempt: 1, At: at})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("Refund", func(t *testing.T) {
		s := setup(t)
		at := t0.Add(3 * time.Second)
		var seen member.ExchangeTx
		res, err := s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: at, Reason: "coupon sold out"},
			func(tx *member.ExchangeTx) error {
				seen = *tx
				require.NotNil(t, tx.Exchange)
				assert.Equal(t, member.ExchangePending, tx.Exchange.State)
				assertTime(t, t0, tx.Exchange.CreatedAt, "fn sees when the exchange was charged")
				assert.Equal(t, int64(70), tx.Ledger.Account.Points())
				return refundFn(tx)
			})
		require.NoError(t, err)
		assert.True(t, res.Changed)
		assert.Equal(t, int64(1), seen.Item.Sold)
		assert.Equal(t, int64(1), seen.Bought)
		r := res.Exchange
		assert.Equal(t, member.ExchangeRefunded, r.State)
		assert.Equal(t, "coupon sold out", r.Reason)
		assertTime(t, at, r.SettledAt)
		assert.Equal(t, int64(30), r.Returned, "what fn recorded is kept")
		assert.Equal(t, int64(1), r.Unclawed, "what fn recorded is kept")
		assert.Equal(t, int64(100), r.Balance.Points)
		assert.Equal(t, "fp:c1:i1", r.Fingerprint)
		require.Len(t, res.Outcome.Entries, 1)
		assert.Equal(t, int64(100), account(t, s, "t1", "c1").Points(), "the ledger update is saved")
		assert.Zero(t, sold(t, s, "t1", "i1"))
		got, err := s.ExchangeByKey(ctx, "t1", "k1")
		require.NoError(t, err)
		assertSameExchange(t, r, got)

		called := false
		again, err := s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: at.Add(time.Hour)},
			func(*member.ExchangeTx) error { called = true; return nil })
		require.NoError(t, err)
		assert.False(t, again.Changed)
		assert.False(t, called, "refunding a refunded exchange does not call fn")
		assert.Equal(t, member.ExchangeRefunded, again.Exchange.State)
		assert.Equal(t, int64(100), account(t, s, "t1", "c1").Points())
		assert.Zero(t, sold(t, s, "t1", "i1"), "counts are given back once")
		_, err = s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: at})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a refunded exchange is never completed")

		// The replay of the charge returns the refunded record.
		p := chargeParams("t1", "c1", "i1", "k1")
		rep, err := s.ChargeExchange(ctx, p, chargeFn(p))
		require.NoError(t, err)
		assert.True(t, rep.Replayed)
		assert.Equal(t, member.ExchangeRefunded, rep.Exchange.State)
	})

	t.Run("RefundFailureWritesNothing", func(t *testing.T) {
		s := setup(t)
		p := member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0}
		_, err := s.RefundExchange(ctx, p, func(tx *member.ExchangeTx) error {
			if err := refundFn(tx); err != nil {
				return err
			}
			return scrm.Errorf(scrm.ErrUnavailable, "membertest", "down")
		})
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		for name, mutate := range map[string]func(tx *member.ExchangeTx){
			"key":      func(tx *member.ExchangeTx) { tx.Exchange.Key = "other" },
			"customer": func(tx *member.ExchangeTx) { tx.Exchange.Customer = "c2" },
			"item":     func(tx *member.ExchangeTx) { tx.Exchange.Item = "i2" },
		} {
			_, err := s.RefundExchange(ctx, p, func(tx *member.ExchangeTx) error {
				if err := refundFn(tx); err != nil {
					return err
				}
				mutate(tx)
				return nil
			})
			assert.ErrorIs(t, err, scrm.ErrInvalid, name)
		}
		_, err = s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 7, At: t0}, refundFn)
		assert.ErrorIs(t, err, scrm.ErrConflict, "another attempt")
		_, err = s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "nope", Attempt: 1, At: t0}, refundFn)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		r, err := s.ExchangeByKey(ctx, "t1", "k1")
		require.NoError(t, err)
		assert.Equal(t, member.ExchangePending, r.State)
		assert.Equal(t, int64(70), account(t, s, "t1", "c1").Points())
		assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))
	})

	t.Run("LedgerEntriesJournaled", func(t *testing.T) {
		// A charge and a refund do what Update does: their ledger entries
		// join the customer's journal, which explains the balance.
		s := setup(t)
		res, err := s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0}, refundFn)
		require.NoError(t, err)
		require.Len(t, res.Outcome.Entries, 1)
		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		var seqs, points []int64
		var sum int64
		for _, e := range page.Entries {
			seqs = append(seqs, e.Seq)
			points = append(points, e.Points)
			sum += e.Points
		}
		assert.Equal(t, []int64{1, 2, 3}, seqs, "the credit, the charge and the refund")
		assert.Equal(t, []int64{100, -30, 30}, points)
		assert.Equal(t, account(t, s, "t1", "c1").Points(), sum, "the journal explains the balance")
	})

	t.Run("ConcurrentSettleOnce", func(t *testing.T) {
		// Completes and refunds race on one exchange: exactly one wins,
		// and the points and counts move once.
		s := setup(t)
		const n = 40
		var wg sync.WaitGroup
		var wins, fnCalls atomic.Int32
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0}
				if i%2 == 0 {
					before, err := s.ExchangeByKey(ctx, "t1", "k1")
					require.NoError(t, err)
					r, err := s.CompleteExchange(ctx, p)
					if err == nil && before.State == member.ExchangePending && r.State == member.ExchangeDone {
						wins.Add(1) // may overcount a concurrent winner; checked below
					}
					return
				}
				res, err := s.RefundExchange(ctx, p, func(tx *member.ExchangeTx) error { fnCalls.Add(1); return refundFn(tx) })
				if err == nil && res.Changed {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		r, err := s.ExchangeByKey(ctx, "t1", "k1")
		require.NoError(t, err)
		a := account(t, s, "t1", "c1")
		switch r.State {
		case member.ExchangeRefunded:
			assert.Equal(t, int32(1), fnCalls.Load())
			assert.Equal(t, int64(100), a.Points())
			assert.Zero(t, sold(t, s, "t1", "i1"))
		case member.ExchangeDone:
			assert.Zero(t, fnCalls.Load())
			assert.Equal(t, int64(70), a.Points())
			assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))
		default:
			t.Fatalf("state %s", r.State)
		}
		assert.GreaterOrEqual(t, wins.Load(), int32(1))
	})
}

func testLease(t *testing.T, newStore func(t *testing.T) member.Store) {
	s := newStore(t)
	update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
	putItem(t, s, sampleItem("t1", "i1"))
	charge(t, s, chargeParams("t1", "c1", "i1", "k1")) // lease until t0+1m

	_, err := s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t1", Key: "k1", Now: t0.Add(30 * time.Second), Until: t0.Add(2 * time.Minute)})
	assert.ErrorIs(t, err, scrm.ErrConflict, "the lease is held")
	assert.Equal(t, "LeaseUntil", fieldOf(err))
	_, err = s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t1", Key: "nope", Now: t0, Until: t0})
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	r, err := s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t1", Key: "k1", Now: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)})
	require.NoError(t, err, "a lease that ran out can be taken over")
	assert.Equal(t, int64(2), r.Attempt)
	assertTime(t, t0.Add(2*time.Minute), r.LeaseUntil)
	assert.Equal(t, member.ExchangePending, r.State)

	// The old holder is fenced off.
	_, err = s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0})
	assert.ErrorIs(t, err, scrm.ErrConflict)
	_, err = s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0}, refundFn)
	assert.ErrorIs(t, err, scrm.ErrConflict)

	// Concurrent takeovers: exactly one wins.
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t1", Key: "k1", Now: t0.Add(3 * time.Minute), Until: t0.Add(4 * time.Minute)})
			if err == nil {
				won.Add(1)
			} else {
				assert.ErrorIs(t, err, scrm.ErrConflict)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), won.Load())
	r, err = s.ExchangeByKey(ctx, "t1", "k1")
	require.NoError(t, err)
	assert.Equal(t, int64(3), r.Attempt)

	pending, err := s.ListPendingExchanges(ctx, member.ListPendingExchangesParams{Tenant: "t1", Before: t0.Add(3 * time.Minute)})
	require.NoError(t, err)
	assert.Empty(t, pending, "its lease runs until t0+4m")

	done, err := s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 3, At: t0.Add(3 * time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, member.ExchangeDone, done.State)
	again, err := s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t1", Key: "k1", Now: t0.AddDate(0, 0, 1), Until: t0.AddDate(0, 0, 2)})
	require.NoError(t, err, "claiming a settled exchange returns it")
	assert.Equal(t, member.ExchangeDone, again.State)
	assert.Equal(t, int64(3), again.Attempt, "unchanged")

	t.Run("ListPending", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(1000, time.Time{}))
		it := sampleItem("t1", "i1")
		it.PerCustomer = 0
		putItem(t, s, it)
		for _, k := range []string{"b", "a", "c", "d"} {
			charge(t, s, chargeParams("t1", "c1", "i1", k)) // all leased until t0+1m
		}
		// Extend c's lease; complete d.
		_, err := s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t1", Key: "c", Now: t0.Add(time.Minute), Until: t0.Add(time.Hour)})
		require.NoError(t, err)
		_, err = s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "d", Attempt: 1, At: t0})
		require.NoError(t, err)

		list, err := s.ListPendingExchanges(ctx, member.ListPendingExchangesParams{Tenant: "t1", Before: t0.Add(59 * time.Second)})
		require.NoError(t, err)
		assert.Empty(t, list)
		list, err = s.ListPendingExchanges(ctx, member.ListPendingExchangesParams{Tenant: "t1", Before: t0.Add(time.Minute)})
		require.NoError(t, err)
		var keys []string
		for _, r := range list {
			keys = append(keys, r.Key)
			assert.Equal(t, member.ExchangePending, r.State)
		}
		assert.Equal(t, []string{"a", "b"}, keys, "by LeaseUntil then key; c leased, d done")
		list, err = s.ListPendingExchanges(ctx, member.ListPendingExchangesParams{Tenant: "t1", Before: t0.Add(time.Hour), Limit: 2})
		require.NoError(t, err)
		require.Len(t, list, 2)
		list, err = s.ListPendingExchanges(ctx, member.ListPendingExchangesParams{Tenant: "t1", Before: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, list, 3)
		assert.Equal(t, "c", list[2].Key)
	})
}

func testExchangeHistory(t *testing.T, newStore func(t *testing.T) member.Store) {
	s := newStore(t)
	update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(1000, time.Time{}))
	update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c2"}, credit(1000, time.Time{}))
	it := sampleItem("t1", "i1")
	it.PerCustomer = 0
	putItem(t, s, it)
	for i := 1; i <= 5; i++ {
		charge(t, s, chargeParams("t1", "c1", "i1", fmt.Sprintf("k%d", i)))
	}
	charge(t, s, chargeParams("t1", "c2", "i1", "other"))
	_, err := s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: "k2", Attempt: 1, At: t0}, refundFn)
	require.NoError(t, err)

	var keys []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		page, err := s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t1", Customer: "c1", Cursor: cursor, Limit: 2})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Exchanges), 2)
		for _, r := range page.Exchanges {
			keys = append(keys, r.Key)
			assert.Equal(t, scrm.CustomerID("c1"), r.Customer)
			if r.Key == "k2" {
				assert.Equal(t, member.ExchangeRefunded, r.State, "the history shows the current state")
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	assert.Equal(t, []string{"k5", "k4", "k3", "k2", "k1"}, keys, "newest first, every state")

	page, err := s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t1", Customer: "c3"})
	require.NoError(t, err)
	assert.Empty(t, page.Exchanges)
	assert.Empty(t, page.Next)
	_, err = s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t1", Customer: "c1", Cursor: "not a cursor"})
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	t.Run("NewestFirstWhateverTheKeys", func(t *testing.T) {
		// Newest first is the order charged, not the order of the keys.
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(1000, time.Time{}))
		it := sampleItem("t1", "i1")
		it.PerCustomer = 0
		putItem(t, s, it)
		for i, k := range []string{"m", "z", "a", "q"} {
			p := chargeParams("t1", "c1", "i1", k)
			_, err := s.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error {
				if err := chargeFn(p)(tx); err != nil {
					return err
				}
				tx.Exchange.CreatedAt = t0.Add(time.Duration(i) * time.Second)
				return nil
			})
			require.NoError(t, err)
		}
		for _, limit := range []int{1, 3, 0} {
			var keys []string
			cursor := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				page, err := s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t1", Customer: "c1", Cursor: cursor, Limit: limit})
				require.NoError(t, err)
				for _, r := range page.Exchanges {
					keys = append(keys, r.Key)
				}
				if page.Next == "" {
					break
				}
				cursor = page.Next
			}
			assert.Equal(t, []string{"q", "a", "z", "m"}, keys, "limit %d", limit)
		}
	})
}

func testMallConcurrency(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("StockRace", func(t *testing.T) {
		// Stock 100, 1,000 customers with enough points racing: exactly
		// 100 exchanges, exactly 100 × price deducted, and nobody charged
		// without an exchange.
		s := newStore(t)
		const customers, stock, price, balance = 1000, 100, 10, 50
		id := func(i int) scrm.CustomerID { return scrm.CustomerID(fmt.Sprintf("c%04d", i)) }
		for i := 0; i < customers; i++ {
			update(t, s, member.UpdateParams{Tenant: "t1", Customer: id(i)}, credit(balance, time.Time{}))
		}
		it := sampleItem("t1", "i1")
		it.Stock, it.PerCustomer, it.Points = stock, 1, price
		putItem(t, s, it)

		var wg sync.WaitGroup
		errs := make([]error, customers)
		start := make(chan struct{})
		for i := 0; i < customers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p := chargeParams("t1", id(i), "i1", fmt.Sprintf("k%04d", i))
				_, errs[i] = s.ChargeExchange(ctx, p, chargeFn(p))
			}()
		}
		close(start)
		wg.Wait()

		won := 0
		var charged int64
		for i, err := range errs {
			a := account(t, s, "t1", id(i))
			switch {
			case err == nil:
				won++
				assert.Equal(t, int64(balance-price), a.Points())
				r, err := s.ExchangeByKey(ctx, "t1", fmt.Sprintf("k%04d", i))
				require.NoError(t, err)
				assert.Equal(t, id(i), r.Customer)
			case errors.Is(err, scrm.ErrExhausted):
				assert.Equal(t, "Stock", fieldOf(err))
				assert.Equal(t, int64(balance), a.Points(), "nobody is charged without an exchange")
				assert.Equal(t, int64(1), a.Version, "a refused charge writes nothing")
			default:
				t.Errorf("unexpected error: %v", err)
			}
			charged += balance - a.Points()
		}
		assert.Equal(t, stock, won)
		assert.Equal(t, int64(stock*price), charged)
		assert.Equal(t, int64(stock), sold(t, s, "t1", "i1"))
	})

	t.Run("PerCustomerRace", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(10000, time.Time{}))
		it := sampleItem("t1", "i1")
		it.Stock, it.PerCustomer, it.Points = 0, 3, 10
		putItem(t, s, it)
		const n = 50
		var wg sync.WaitGroup
		var won atomic.Int32
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := chargeParams("t1", "c1", "i1", fmt.Sprintf("k%d", i))
				_, err := s.ChargeExchange(ctx, p, chargeFn(p))
				if err == nil {
					won.Add(1)
					return
				}
				assert.ErrorIs(t, err, scrm.ErrExhausted)
				assert.Equal(t, "PerCustomer", fieldOf(err))
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(3), won.Load())
		assert.Equal(t, int64(10000-30), account(t, s, "t1", "c1").Points())
	})

	t.Run("ItemsInParallel", func(t *testing.T) {
		// Charges of different items and customers, and refunds, interleave
		// without losing a count.
		s := newStore(t)
		const items, each = 5, 40
		for i := 0; i < items; i++ {
			it := sampleItem("t1", fmt.Sprintf("i%d", i))
			it.Stock, it.PerCustomer, it.Points = 0, 0, 1
			putItem(t, s, it)
		}
		for c := 0; c < each; c++ {
			update(t, s, member.UpdateParams{Tenant: "t1", Customer: scrm.CustomerID(fmt.Sprintf("c%d", c))}, credit(100, time.Time{}))
		}
		var wg sync.WaitGroup
		for i := 0; i < items; i++ {
			for c := 0; c < each; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := chargeParams("t1", scrm.CustomerID(fmt.Sprintf("c%d", c)), fmt.Sprintf("i%d", i), fmt.Sprintf("k-%d-%d", i, c))
					_, err := s.ChargeExchange(ctx, p, chargeFn(p))
					if !assert.NoError(t, err) || c%2 == 0 {
						return
					}
					_, err = s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t1", Key: p.Key, Attempt: 1, At: t0}, refundFn)
					assert.NoError(t, err)
				}()
			}
		}
		wg.Wait()
		for i := 0; i < items; i++ {
			assert.Equal(t, int64(each/2), sold(t, s, "t1", fmt.Sprintf("i%d", i)))
		}
		for c := 0; c < each; c++ {
			want := int64(100)
			if c%2 == 0 {
				want -= items
			}
			assert.Equal(t, want, account(t, s, "t1", scrm.CustomerID(fmt.Sprintf("c%d", c))).Points())
		}
	})
}

func testMallIsolation(t *testing.T, newStore func(t *testing.T) member.Store) {
	s := newStore(t)
	update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
	update(t, s, member.UpdateParams{Tenant: "t2", Customer: "c1"}, credit(100, time.Time{}))
	putItem(t, s, sampleItem("t1", "i1"))

	_, err := s.CatalogItem(ctx, "t2", "i1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	page, err := s.ListCatalog(ctx, member.ListCatalogParams{Tenant: "t2"})
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	p := chargeParams("t2", "c1", "i1", "k1")
	_, err = s.ChargeExchange(ctx, p, chargeFn(p))
	assert.ErrorIs(t, err, scrm.ErrNotFound, "another tenant's item")

	charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
	_, err = s.ExchangeByKey(ctx, "t2", "k1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.CompleteExchange(ctx, member.SettleExchangeParams{Tenant: "t2", Key: "k1", Attempt: 1, At: t0})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.RefundExchange(ctx, member.SettleExchangeParams{Tenant: "t2", Key: "k1", Attempt: 1, At: t0}, refundFn)
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = s.ClaimExchange(ctx, member.ClaimExchangeParams{Tenant: "t2", Key: "k1", Now: t0.AddDate(1, 0, 0), Until: t0.AddDate(1, 0, 0)})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	hist, err := s.ListExchanges(ctx, member.ListExchangesParams{Tenant: "t2", Customer: "c1"})
	require.NoError(t, err)
	assert.Empty(t, hist.Exchanges)
	pend, err := s.ListPendingExchanges(ctx, member.ListPendingExchangesParams{Tenant: "t2", Before: t0.AddDate(1, 0, 0)})
	require.NoError(t, err)
	assert.Empty(t, pend)

	// The same key and item ID in another tenant are another exchange.
	putItem(t, s, sampleItem("t2", "i1"))
	charge(t, s, chargeParams("t2", "c1", "i1", "k1"))
	assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))
	assert.Equal(t, int64(1), sold(t, s, "t2", "i1"))
	assert.Equal(t, int64(70), account(t, s, "t2", "c1").Points())
}

func testMallContext(t *testing.T, newStore func(t *testing.T) member.Store) {
	s := newStore(t)
	update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, time.Time{}))
	putItem(t, s, sampleItem("t1", "i1"))
	charge(t, s, chargeParams("t1", "c1", "i1", "k1"))
	cctx, cancel := context.WithCancel(ctx)
	cancel()

	it := sampleItem("t1", "i2")
	_, err := s.PutCatalogItem(cctx, it)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.CatalogItem(cctx, "t1", "i1")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.ListCatalog(cctx, member.ListCatalogParams{Tenant: "t1"})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	called := false
	p := chargeParams("t1", "c1", "i1", "k2")
	_, err = s.ChargeExchange(cctx, p, func(*member.ExchangeTx) error { called = true; return nil })
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.False(t, called)
	_, err = s.ClaimExchange(cctx, member.ClaimExchangeParams{Tenant: "t1", Key: "k1", Now: t0.AddDate(1, 0, 0), Until: t0.AddDate(1, 0, 0)})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.CompleteExchange(cctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.RefundExchange(cctx, member.SettleExchangeParams{Tenant: "t1", Key: "k1", Attempt: 1, At: t0},
		func(*member.ExchangeTx) error { called = true; return nil })
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.False(t, called)
	_, err = s.ExchangeByKey(cctx, "t1", "k1")
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.ListExchanges(cctx, member.ListExchangesParams{Tenant: "t1", Customer: "c1"})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = s.ListPendingExchanges(cctx, member.ListPendingExchangesParams{Tenant: "t1", Before: t0})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)

	// Nothing was written.
	_, err = s.CatalogItem(ctx, "t1", "i2")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	r, err := s.ExchangeByKey(ctx, "t1", "k1")
	require.NoError(t, err)
	assert.Equal(t, member.ExchangePending, r.State)
	assert.Equal(t, int64(1), r.Attempt)
	assert.Equal(t, int64(1), sold(t, s, "t1", "i1"))
	assert.Equal(t, int64(70), account(t, s, "t1", "c1").Points())
	// The key of the cancelled charge is still free.
	charge(t, s, p)
}
