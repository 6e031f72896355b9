package member_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name     string
		redeem   member.RedeemRule
		balance  string // yuan earned at 1 point per yuan
		order    string
		want     int64
		value    string
		maxShare int64
	}{
		{"balance is the limit", member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: dec("0.5"), Step: 100}, "1234", "100.00", 1200, "12.00", 5000},
		{"share is the limit", member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: dec("0.5"), Step: 100}, "9999", "33.33", 1600, "16.00", 1600},
		{"below the minimum", member.RedeemRule{PointsPerYuan: 100, MinPoints: 500, Step: 100}, "499", "100.00", 0, "0.00", 10000},
		{"exactly the minimum", member.RedeemRule{PointsPerYuan: 100, MinPoints: 500, Step: 100}, "500", "100.00", 500, "5.00", 10000},
		{"no step", member.RedeemRule{PointsPerYuan: 100}, "1234", "100.00", 1234, "12.34", 10000},
		{"share of 30%", member.RedeemRule{PointsPerYuan: 10, MaxShare: dec("0.3")}, "1000", "99.99", 299, "29.90", 299},
		{"10 points a fen", member.RedeemRule{PointsPerYuan: 1000, Step: 10}, "5555", "100.00", 5550, "5.55", 100000},
		{"disabled", member.RedeemRule{}, "1000", "100.00", 0, "0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := standard()
			p.Tiers = nil
			p.Redeem = tt.redeem
			f := newFixture(t, p)
			f.earn(t, "c1", "o1", tt.balance)
			q, err := f.svc.Quote(context.Background(), member.QuoteRequest{Tenant: tenant, Customer: "c1", OrderAmount: dec(tt.order)})
			require.NoError(t, err)
			assert.Equal(t, tt.want, q.Points)
			assert.True(t, dec(tt.value).Equal(q.Value), "value %s", q.Value)
			assert.Equal(t, tt.maxShare, q.MaxByShare)
		})
	}
	t.Run("no account", func(t *testing.T) {
		f := newFixture(t, standard())
		q, err := f.svc.Quote(context.Background(), member.QuoteRequest{Tenant: tenant, Customer: "new", OrderAmount: dec("10")})
		require.NoError(t, err)
		assert.Zero(t, q.Points)
		assert.True(t, q.Value.IsZero())
	})
	t.Run("bad amount", func(t *testing.T) {
		f := newFixture(t, standard())
		_, err := f.svc.Quote(context.Background(), member.QuoteRequest{Tenant: tenant, Customer: "c1", OrderAmount: dec("0")})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})
}

func TestHoldBadInput(t *testing.T) {
	tests := []struct {
		name   string
		points int64
		amount string
		code   error
		field  string
		rule   string
	}{
		{"zero points", 0, "100", scrm.ErrInvalid, "Points", ""},
		{"negative points", -100, "100", scrm.ErrInvalid, "Points", ""},
		{"below the minimum", 50, "100", scrm.ErrInvalid, "Points", "Redeem.MinPoints"},
		{"off step", 150, "100", scrm.ErrInvalid, "Points", "Redeem.Step"},
		{"over the max share", 5100, "100", scrm.ErrInvalid, "Points", "Redeem.MaxShare"},
		{"no order amount with a share cap", 100, "0", scrm.ErrInvalid, "OrderAmount", "Redeem.MaxShare"},
		{"order amount below the fen", 100, "10.001", scrm.ErrInvalid, "OrderAmount", ""},
		{"over the balance", 1100, "10000", scrm.ErrExhausted, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, standard())
			f.earn(t, "c1", "o1", "1000.00")
			before := f.journal(t, "c1")
			_, err := f.svc.Hold(context.Background(), member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h",
				OrderID: "o2", Points: tt.points, OrderAmount: dec(tt.amount)})
			require.ErrorIs(t, err, tt.code)
			var se *scrm.Error
			require.True(t, errors.As(err, &se))
			assert.Equal(t, tt.field, se.Field)
			assert.Contains(t, err.Error(), tt.rule)
			assert.Equal(t, int64(1000), f.account(t, "c1").Points, "nothing written")
			assert.Equal(t, before, f.journal(t, "c1"))
			_, err = f.store.Order(context.Background(), tenant, "c1", "o2")
			assert.ErrorIs(t, err, scrm.ErrNotFound)
		})
	}
	t.Run("redemption disabled", func(t *testing.T) {
		p := standard()
		p.Redeem = member.RedeemRule{}
		f := newFixture(t, p)
		f.earn(t, "c1", "o1", "1000.00")
		_, err := f.svc.Hold(context.Background(), member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h", OrderID: "o2", Points: 100})
		assert.ErrorIs(t, err, scrm.ErrForbidden)
	})
	t.Run("the share counts every hold of the order", func(t *testing.T) {
		f := newFixture(t, standard())
		f.earn(t, "c1", "o1", "10000.00")
		hold := func(key string, points int64) error {
			_, err := f.svc.Hold(context.Background(), member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: key,
				OrderID: "o2", Points: points, OrderAmount: dec("100.00")})
			return err
		}
		require.NoError(t, hold("h1", 3000))
		assert.ErrorIs(t, hold("h2", 2100), scrm.ErrInvalid)
		require.NoError(t, hold("h3", 2000))
		assert.Equal(t, int64(5000), f.account(t, "c1").Held)
	})
}

func TestHoldCaptureVoid(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "1000.00")
	hold := func(key, order string, points int64) member.HoldResult {
		t.Helper()
		h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: key, OrderID: order, Points: points, OrderAmount: dec("1000")})
		require.NoError(t, err)
		return h
	}

	h1 := hold("k1", "o2", 300)
	assert.NotEmpty(t, h1.HoldID)
	assert.True(t, dec("3").Equal(h1.Value))
	assert.Equal(t, member.HoldOpen, h1.State)
	assert.Equal(t, member.Balance{Points: 700, Held: 300, Growth: 1000, Tier: "silver"}, h1.Balance)
	a := f.account(t, "c1")
	assert.Equal(t, int64(700), a.Points)
	assert.Equal(t, int64(300), a.Held)

	// A replay of the hold returns the same hold and holds nothing more.
	again, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k1", OrderID: "o2", Points: 300, OrderAmount: dec("1000")})
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, h1.HoldID, again.HoldID)
	assert.Equal(t, int64(300), f.account(t, "c1").Held)

	c, err := f.svc.Capture(ctx, tenant, h1.HoldID)
	require.NoError(t, err)
	assert.Equal(t, member.HoldCaptured, c.State)
	assert.Equal(t, member.Balance{Points: 700, Growth: 1000, Tier: "silver"}, c.Balance)
	c, err = f.svc.Capture(ctx, tenant, h1.HoldID)
	require.NoError(t, err, "capturing twice is a no-op")
	assert.True(t, c.Replayed)
	_, err = f.svc.Void(ctx, tenant, h1.HoldID)
	assert.ErrorIs(t, err, scrm.ErrConflict, "a captured hold cannot be voided")

	h2 := hold("k2", "o3", 200)
	v, err := f.svc.Void(ctx, tenant, h2.HoldID)
	require.NoError(t, err)
	assert.Equal(t, member.HoldVoided, v.State)
	assert.Equal(t, int64(700), v.Balance.Points)
	v, err = f.svc.Void(ctx, tenant, h2.HoldID)
	require.NoError(t, err)
	assert.True(t, v.Replayed)
	_, err = f.svc.Capture(ctx, tenant, h2.HoldID)
	assert.ErrorIs(t, err, scrm.ErrConflict, "capturing a voided hold")

	_, err = f.svc.Capture(ctx, tenant, "no-such-hold")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = f.svc.Void(ctx, "other-tenant", h2.HoldID)
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	a = f.account(t, "c1")
	assert.Equal(t, int64(700), a.Points)
	assert.Zero(t, a.Held)
	kinds := []member.EntryKind{}
	for _, e := range f.journal(t, "c1") {
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []member.EntryKind{member.EntryEarn, member.EntryTier, member.EntryHold, member.EntryCapture, member.EntryHold, member.EntryVoid}, kinds)
}

// Spending draws from the lot that expires soonest; never-expiring points go
// last.
func TestSpendingOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	imp := func(key string, lots ...member.ImportLot) {
		_, err := f.svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: key, Lots: lots})
		require.NoError(t, err)
	}
	d := func(days int) time.Time { return start.AddDate(0, 0, days) }
	imp("a", member.ImportLot{Points: 100}, member.ImportLot{Points: 100, ExpiresAt: d(30)})
	imp("b", member.ImportLot{Points: 100, ExpiresAt: d(10)}, member.ImportLot{Points: 100, ExpiresAt: d(20)})
	imp("c", member.ImportLot{Points: 50, ExpiresAt: d(10)}) // merges into the d(10) lot

	a := f.account(t, "c1")
	require.Len(t, a.Lots, 4)
	var order []int64
	for _, l := range a.Lots {
		order = append(order, l.Remaining)
	}
	assert.Equal(t, []int64{150, 100, 100, 100}, order)
	assert.True(t, d(10).Equal(a.Lots[0].ExpiresAt()))
	assert.True(t, a.Lots[3].ExpiresAt().IsZero())

	r, err := f.svc.Redeem(ctx, member.RedeemRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r1", OrderID: "o1", Points: 300, OrderAmount: dec("100")})
	require.NoError(t, err)
	require.Len(t, r.Entries, 1)
	assert.Equal(t, []member.LotMove{
		{Lot: a.Lots[0].ID, Points: -150, Expiry: d(10).UnixNano()},
		{Lot: a.Lots[1].ID, Points: -100, Expiry: d(20).UnixNano()},
		{Lot: a.Lots[2].ID, Points: -50, Expiry: d(30).UnixNano()},
	}, r.Entries[0].Lots)
	a = f.account(t, "c1")
	require.Len(t, a.Lots, 2)
	assert.Equal(t, int64(50), a.Lots[0].Remaining)
	assert.Equal(t, int64(150), a.Points)
}

// The hold-vs-expiry rule: held points stay in their lots and do not expire
// while the hold is open; Capture spends all of them; Void releases them, and
// those whose lot expired meanwhile expire then.
func TestHoldAcrossExpiry(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Month}
	newAccount := func(t *testing.T) (*fixture, member.HoldResult) {
		f := newFixture(t, p)
		f.earn(t, "c1", "o1", "500.00") // March lot, expires 1 April
		f.clock.Set(time.Date(2026, 3, 31, 20, 0, 0, 0, shanghai))
		h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h", OrderID: "o2", Points: 300, OrderAmount: dec("1000")})
		require.NoError(t, err)
		f.clock.Set(time.Date(2026, 4, 1, 0, 30, 0, 0, shanghai))
		res, err := f.svc.Sweep(ctx, tenant)
		require.NoError(t, err)
		assert.Equal(t, int64(200), res.Expired, "only the free points expire")
		a := f.account(t, "c1")
		assert.Zero(t, a.Points)
		assert.Equal(t, int64(300), a.Held)
		require.Len(t, a.Lots, 1)
		assert.Equal(t, int64(300), a.Lots[0].Remaining)
		assert.Equal(t, int64(300), a.Lots[0].Held)
		return f, h
	}

	t.Run("capture", func(t *testing.T) {
		f, h := newAccount(t)
		c, err := f.svc.Capture(ctx, tenant, h.HoldID)
		require.NoError(t, err)
		assert.Equal(t, int64(300), c.Points)
		a := f.account(t, "c1")
		assert.Zero(t, a.Points)
		assert.Zero(t, a.Held)
		assert.Empty(t, a.Lots)
	})
	t.Run("void", func(t *testing.T) {
		f, h := newAccount(t)
		v, err := f.svc.Void(ctx, tenant, h.HoldID)
		require.NoError(t, err)
		require.Len(t, v.Entries, 2)
		assert.Equal(t, member.EntryVoid, v.Entries[0].Kind)
		assert.Equal(t, int64(300), v.Entries[0].Points)
		assert.Equal(t, member.EntryExpire, v.Entries[1].Kind)
		assert.Equal(t, int64(-300), v.Entries[1].Points)
		a := f.account(t, "c1")
		assert.Zero(t, a.Points)
		assert.Empty(t, a.Lots)
		expired := f.events.ofType(member.EventPointsExpired)
		require.Len(t, expired, 2)
		assert.Equal(t, int64(300), expired[1].Props["points"])
	})
}

// 100 goroutines hold from one account: the balance is never overdrawn and
// exactly as many holds as the balance allows win.
func TestConcurrentHolds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "5000.00") // 5000 points
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: fmt.Sprintf("h%d", i),
				OrderID: fmt.Sprintf("order-%d", i), Points: 100, OrderAmount: dec("1000")})
			errs[i], ids[i] = err, h.HoldID
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.ErrorIs(t, err, scrm.ErrExhausted)
		}
	}
	assert.Equal(t, 50, won)
	a := f.account(t, "c1")
	assert.Zero(t, a.Points)
	assert.Equal(t, int64(5000), a.Held)

	// Half capture and half void, concurrently.
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = f.svc.Capture(ctx, tenant, ids[i])
			} else {
				_, err = f.svc.Void(ctx, tenant, ids[i])
			}
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	a = f.account(t, "c1")
	assert.Zero(t, a.Held)
	var voided int64
	for i := 0; i < n; i++ {
		if errs[i] == nil && i%2 == 1 {
			voided += 100
		}
	}
	assert.Equal(t, voided, a.Points)
}

func TestRedeemValue(t *testing.T) {
	r := member.RedeemRule{PointsPerYuan: 100}
	assert.True(t, r.Value(1234).Equal(dec("12.34")))
	r = member.RedeemRule{PointsPerYuan: 30}
	assert.True(t, r.Value(100).Equal(dec("3.33")), "rounded to the fen when not exact")
	assert.True(t, member.RedeemRule{}.Value(100).Equal(decimal.Zero))
}
