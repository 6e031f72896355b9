package member_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestRefundProportional(t *testing.T) {
	p := standard()
	p.Tiers = nil
	p.Earn.PointsPerYuan = dec("3")
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "99.99") // 299 points, 99 growth
	f.earn(t, "c1", "o2", "10.00") // 30 points, 10 growth: the balance to claw from

	steps := []struct {
		amount         string
		points, growth int64
	}{
		{"33.33", 99, 33},  // a third: floor(299/3 = 99.67) = 99; 99/3 = 33
		{"33.33", 100, 33}, // two thirds in total: floor(199.33) = 199; 66
		{"0.01", 0, 0},     // floor(299 × 66.67/99.99 = 199.36) = 199: nothing more yet
		{"33.32", 100, 33}, // the rest, exactly: 299 and 99 in total
	}
	var clawed, growth int64
	for i, s := range steps {
		r := f.refund(t, "c1", "rf"+string(rune('a'+i)), "o1", s.amount)
		assert.Equal(t, s.points, r.Clawed, "step %d points", i)
		assert.Equal(t, s.growth, r.GrowthClawed, "step %d growth", i)
		clawed += r.Clawed
		growth += r.GrowthClawed
	}
	assert.Equal(t, int64(299), clawed)
	assert.Equal(t, int64(99), growth)
	a := f.account(t, "c1")
	assert.Equal(t, int64(30), a.Points)
	assert.Equal(t, int64(10), a.Growth)

	// Nothing is left to refund.
	_, err := f.svc.Refund(context.Background(), member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rf-more", OrderID: "o1", Amount: dec("0.01")})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	var se *scrm.Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, "Amount", se.Field)
}

func TestRefundBadInput(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "100.00")
	tests := []struct {
		name string
		req  member.RefundRequest
		code error
	}{
		{"zero", member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k", OrderID: "o1", Amount: dec("0")}, scrm.ErrInvalid},
		{"negative", member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k", OrderID: "o1", Amount: dec("-1")}, scrm.ErrInvalid},
		{"over the paid amount", member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k", OrderID: "o1", Amount: dec("100.01")}, scrm.ErrInvalid},
		{"unknown order", member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k", OrderID: "o9", Amount: dec("1")}, scrm.ErrNotFound},
		{"another customer's order", member.RefundRequest{Tenant: tenant, Customer: "c2", IdempotencyKey: "k", OrderID: "o1", Amount: dec("1")}, scrm.ErrNotFound},
		{"no key", member.RefundRequest{Tenant: tenant, Customer: "c1", OrderID: "o1", Amount: dec("1")}, scrm.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Refund(ctx, tt.req)
			assert.ErrorIs(t, err, tt.code)
			a := f.account(t, "c1")
			assert.Equal(t, int64(100), a.Points)
			assert.Equal(t, int64(100), a.Growth)
		})
	}
}

// Points spent on a refunded order go back to the lots they came from,
// unless those expired meanwhile.
func TestRefundReturnsSpentPoints(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Tiers = nil
	p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Month}
	f := newFixture(t, p)
	f.clock.Set(time.Date(2026, 3, 20, 10, 0, 0, 0, shanghai))
	f.earn(t, "c1", "o1", "300.00") // expires 1 April
	_, err := f.svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "imp",
		Lots: []member.ImportLot{{Points: 200, ExpiresAt: time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai)}}})
	require.NoError(t, err)
	// Pay ¥4 of a ¥10 order with 400 points: 300 from the March lot, 100
	// from the June one.
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h", OrderID: "o3", Points: 400, OrderAmount: dec("10.00")})
	require.NoError(t, err)
	_, err = f.svc.Capture(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	f.earn(t, "c1", "o3", "6.00") // the cash part earns 6 points (the March lot again)
	a := f.account(t, "c1")
	require.Equal(t, int64(106), a.Points)

	// Refund half the cash in March: half the spent points (200) go back,
	// the June lot first (100), then the March lot (100); 3 points are
	// clawed back.
	r := f.refund(t, "c1", "rf1", "o3", "3.00")
	assert.Equal(t, int64(200), r.Returned)
	assert.Zero(t, r.Forfeited)
	assert.Equal(t, int64(3), r.Clawed)
	require.Len(t, r.Entries, 2)
	assert.Equal(t, member.EntryRefund, r.Entries[0].Kind)
	june, march := time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai), time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai)
	require.Len(t, r.Entries[0].Lots, 2)
	assert.Equal(t, int64(100), r.Entries[0].Lots[0].Points)
	assert.True(t, june.Equal(r.Entries[0].Lots[0].ExpiresAt()))
	assert.Equal(t, int64(100), r.Entries[0].Lots[1].Points)
	assert.True(t, march.Equal(r.Entries[0].Lots[1].ExpiresAt()))
	a = f.account(t, "c1")
	assert.Equal(t, int64(106+200-3), a.Points)

	// The rest in April: the March lot expired, so its 200 are forfeited.
	f.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, shanghai))
	a = f.account(t, "c1")
	assert.Equal(t, int64(200), a.Points, "the March lot expired: 103 points")
	r = f.refund(t, "c1", "rf2", "o3", "3.00")
	assert.Zero(t, r.Returned)
	assert.Equal(t, int64(200), r.Forfeited)
	assert.Equal(t, int64(3), r.Clawed)
	a = f.account(t, "c1")
	assert.Equal(t, int64(197), a.Points)
	o, err := f.store.Order(ctx, tenant, "c1", "o3")
	require.NoError(t, err)
	assert.Equal(t, int64(400), o.Returned)
	assert.Empty(t, o.SpentLots)
}

func TestRefundDebtPolicies(t *testing.T) {
	for _, tt := range []struct {
		policy                member.DebtPolicy
		clawed, debt, forgave int64
		after, afterEarn      int64
	}{
		{member.TakeRemaining, 150, 0, 350, 0, 100},
		{"", 150, 0, 350, 0, 100},
		{member.AllowNegative, 500, 350, 0, -350, -250},
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			p := standard()
			p.Tiers = nil
			p.Debt = tt.policy
			f := newFixture(t, p)
			f.earn(t, "c1", "o1", "500.00")
			_, err := f.svc.Redeem(context.Background(), member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r",
				OrderID: "o2", Points: 300, OrderAmount: dec("1000")})
			require.NoError(t, err)
			_, err = f.svc.Adjust(context.Background(), member.AdjustRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "adj",
				Points: -50, Reason: "correction", Operator: "op"})
			require.NoError(t, err)
			// 150 left; o1's 500 points are clawed back.
			r := f.refund(t, "c1", "rf", "o1", "500.00")
			assert.Equal(t, tt.clawed, r.Clawed)
			assert.Equal(t, tt.debt, r.Debt)
			assert.Equal(t, tt.forgave, r.Forgiven)
			a := f.account(t, "c1")
			assert.Equal(t, tt.after, a.Points)
			assert.Equal(t, tt.debt, a.Debt)
			assert.Zero(t, a.Growth)

			// Debt is repaid by the next points first.
			e := f.earn(t, "c1", "o3", "100.00")
			assert.Equal(t, int64(100), e.Points)
			a = f.account(t, "c1")
			assert.Equal(t, tt.afterEarn, a.Points)
			assert.Equal(t, max(tt.debt-100, 0), a.Debt)
			if tt.debt > 0 {
				assert.Empty(t, a.Lots, "no lot while in debt")
				_, err := f.svc.Hold(context.Background(), member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h",
					OrderID: "o4", Points: 100, OrderAmount: dec("1000")})
				assert.ErrorIs(t, err, scrm.ErrExhausted)
			}
		})
	}
}

func TestRefundIdempotency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "2000.00")
	req := member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "rf", OrderID: "o1", Amount: dec("1600.00")}
	first, err := f.svc.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, &member.TierChange{From: "gold", To: "normal"}, first.TierChange, "400 growth left: straight to 普卡")
	again, err := f.svc.Refund(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Clawed, again.Clawed)
	assert.Equal(t, first.TierChange, again.TierChange)
	a := f.account(t, "c1")
	assert.Equal(t, int64(400), a.Points)
	assert.Equal(t, int64(400), a.Growth)
	req.Amount = dec("1")
	_, err = f.svc.Refund(ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict)
}
