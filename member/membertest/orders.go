package membertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func sampleOrder(id string) member.OrderRecord {
	return member.OrderRecord{OrderID: id, Earned: true, Paid: dec("320.50"), EarnedAt: t0, Points: 320, Growth: 320,
		Lot: 4, Month: 24314, OrderAmount: dec("400.00"), SpentValue: dec("2.00"), SpentAt: t0.Add(-time.Minute), Held: 100, Spent: 200,
		SpentLots: []member.LotMove{{Lot: 1, Points: 150, Expiry: t0.AddDate(0, 2, 0).UnixNano()}, {Lot: 3, Points: 50}},
		Refunded:  dec("10.25"), PointsClawed: 10, GrowthClawed: 10, Returned: 6}
}

func assertSameOrder(t *testing.T, want, got member.OrderRecord) {
	t.Helper()
	assert.Equal(t, want.OrderID, got.OrderID)
	assert.Equal(t, want.Earned, got.Earned)
	assert.True(t, want.Paid.Equal(got.Paid), "Paid %s != %s", want.Paid, got.Paid)
	assertTime(t, want.EarnedAt, got.EarnedAt, "EarnedAt")
	assert.Equal(t, want.Points, got.Points)
	assert.Equal(t, want.Growth, got.Growth)
	assert.Equal(t, want.Lot, got.Lot)
	assert.Equal(t, want.Month, got.Month)
	assert.True(t, want.OrderAmount.Equal(got.OrderAmount), "OrderAmount")
	assert.True(t, want.SpentValue.Equal(got.SpentValue), "SpentValue %s != %s", want.SpentValue, got.SpentValue)
	assertTime(t, want.SpentAt, got.SpentAt, "SpentAt")
	assert.Equal(t, want.Held, got.Held)
	assert.Equal(t, want.Spent, got.Spent)
	require.Len(t, got.SpentLots, len(want.SpentLots))
	for i, m := range want.SpentLots {
		assert.Equal(t, m.Lot, got.SpentLots[i].Lot)
		assert.Equal(t, m.Points, got.SpentLots[i].Points)
		assert.Equal(t, m.Expiry, got.SpentLots[i].Expiry)
	}
	assert.True(t, want.Refunded.Equal(got.Refunded), "Refunded")
	assert.Equal(t, want.PointsClawed, got.PointsClawed)
	assert.Equal(t, want.GrowthClawed, got.GrowthClawed)
	assert.Equal(t, want.Returned, got.Returned)
}

func testOrders(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Order(ctx, "t1", "c1", "o1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.LedgerTx) error {
			assert.Nil(t, tx.Order)
			o := sampleOrder("o1")
			tx.Order = &o
			return nil
		})
		got, err := s.Order(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assertSameOrder(t, sampleOrder("o1"), got)

		// Loaded by the next update that names it, and only then.
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, func(tx *member.LedgerTx) error {
			assert.Nil(t, tx.Order)
			return nil
		})
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.LedgerTx) error {
			require.NotNil(t, tx.Order)
			assertSameOrder(t, sampleOrder("o1"), *tx.Order)
			tx.Order.Refunded = dec("320.50")
			return nil
		})
		got, err = s.Order(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assert.True(t, got.Refunded.Equal(dec("320.5")))

		// Orders are per customer.
		_, err = s.Order(ctx, "t1", "c2", "o1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("PerCustomerInUpdate", func(t *testing.T) {
		// An update loads its own customer's order record only: another
		// customer's or another tenant's order of the same ID is not it
		// (a refund would claw back what that customer earned).
		s := newStore(t)
		update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1", OrderID: "o1"}, func(tx *member.LedgerTx) error {
			o := sampleOrder("o1")
			tx.Order = &o
			return nil
		})
		for _, p := range []member.UpdateParams{
			{Tenant: "t1", Customer: "c2", OrderID: "o1"},
			{Tenant: "t2", Customer: "c1", OrderID: "o1"},
		} {
			update(t, s, p, func(tx *member.LedgerTx) error {
				assert.Nil(t, tx.Order, "%s/%s has no order o1", p.Tenant, p.Customer)
				tx.Order = &member.OrderRecord{OrderID: "o1", Points: 7}
				return nil
			})
		}
		got, err := s.Order(ctx, "t1", "c1", "o1")
		require.NoError(t, err)
		assertSameOrder(t, sampleOrder("o1"), got)
		for _, tc := range [][2]string{{"t1", "c2"}, {"t2", "c1"}} {
			got, err := s.Order(ctx, scrm.TenantID(tc[0]), scrm.CustomerID(tc[1]), "o1")
			require.NoError(t, err)
			assert.Equal(t, int64(7), got.Points)
			assert.False(t, got.Earned)
		}
	})
}
