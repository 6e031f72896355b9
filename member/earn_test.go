package member_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestEarnArithmetic(t *testing.T) {
	tuesday := time.Date(2026, 3, 3, 15, 0, 0, 0, shanghai)
	monday := time.Date(2026, 3, 2, 15, 0, 0, 0, shanghai)
	item := func(cat, price string, qty int) scrm.OrderItem {
		return scrm.OrderItem{SKU: cat + price, Category: cat, Price: dec(price), Quantity: qty}
	}
	tests := []struct {
		name       string
		program    func(p *member.Program)
		growth     int64 // growth already held, to set the tier
		amount     string
		items      []scrm.OrderItem
		at         time.Time
		wantPoints int64
		wantGrowth int64
	}{
		{"base floors to whole points", nil, 0, "123.99", nil, monday, 123, 123},
		{"less than a yuan", nil, 0, "0.99", nil, monday, 0, 0},
		{"half a point per yuan floors", func(p *member.Program) { p.Earn.PointsPerYuan = dec("0.5") }, 0, "99.00", nil, monday, 49, 99},
		{"ten points per yuan", func(p *member.Program) { p.Earn.PointsPerYuan = dec("10") }, 0, "12.34", nil, monday, 123, 12},
		{"growth rate 2", func(p *member.Program) { p.Growth.PerYuan = dec("2") }, 0, "10.50", nil, monday, 10, 21},
		{"no growth rule", func(p *member.Program) { p.Growth.PerYuan = decimal.Zero }, 0, "10.50", nil, monday, 10, 0},
		{"silver ×1.2 of the floored base", nil, 500, "99.99", nil, monday, 118, 99},                                              // floor(99 × 1.2 = 118.8)
		{"gold ×1.5", nil, 2000, "101.00", nil, monday, 151, 101},                                                                 // floor(151.5)
		{"member day ×2", memberDay, 0, "101.50", nil, tuesday, 202, 101},                                                         // 101 × 2
		{"member day is the local weekday", memberDay, 0, "101.50", nil, time.Date(2026, 3, 2, 16, 30, 0, 0, time.UTC), 202, 101}, // Tue 00:30 in Shanghai
		{"member day not on Monday", memberDay, 0, "101.50", nil, monday, 101, 101},
		{"gold on member day: one floor", memberDay, 2000, "33.00", nil, tuesday, 99, 33}, // 33 × 1.5 × 2 = 99 exactly
		{"silver on member day", memberDay, 500, "33.00", nil, tuesday, 79, 33},           // floor(33 × 1.2 × 2 = 79.2)
		{"category ×3 on half the order", categories, 0, "200.00", []scrm.OrderItem{item("new", "50.00", 2), item("basic", "100.00", 1)}, monday, 400, 200},
		{"excluded category", categories, 0, "200.00", []scrm.OrderItem{item("tobacco", "150.00", 1), item("basic", "50.00", 1)}, monday, 50, 200},
		{"discounted order spreads by list price", categories, 0, "90.00", []scrm.OrderItem{item("new", "60.00", 1), item("basic", "40.00", 1)}, monday, 198, 90},
		{"thirds stay exact", categories, 0, "300.00", []scrm.OrderItem{item("new", "10.00", 1), item("basic", "10.00", 2)}, monday, 500, 300}, // 300 × 50/30
		{"items without multipliers", nil, 0, "10.00", []scrm.OrderItem{item("new", "10.00", 1)}, monday, 10, 10},
		{"everything at once", func(p *member.Program) { memberDay(p); categories(p) }, 2000, "90.00",
			[]scrm.OrderItem{item("new", "60.00", 1), item("basic", "40.00", 1)}, tuesday, 594, 90}, // 90 × 1.5 × 2 × 2.2
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := standard()
			if tt.program != nil {
				tt.program(&p)
			}
			f := newFixture(t, p)
			f.clock.Set(tt.at.Add(time.Hour))
			if tt.growth > 0 {
				_, err := f.svc.Adjust(context.Background(), member.AdjustRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "setup",
					Growth: tt.growth, Reason: "setup", Operator: "test"})
				require.NoError(t, err)
			}
			r, err := f.svc.Earn(context.Background(), member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k1",
				OrderID: "o1", Amount: dec(tt.amount), Items: tt.items, At: tt.at})
			require.NoError(t, err)
			assert.Equal(t, tt.wantPoints, r.Points, "points")
			assert.Equal(t, tt.wantGrowth, r.Growth, "growth")
			a := f.account(t, "c1")
			assert.Equal(t, tt.wantPoints, a.Points)
			assert.Equal(t, tt.growth+tt.wantGrowth, a.Growth)
		})
	}
}

func memberDay(p *member.Program) {
	p.Earn.MemberDays = []member.MemberDay{{Weekday: time.Tuesday, Multiplier: dec("2")}}
}

func categories(p *member.Program) {
	p.Earn.Categories = map[string]decimal.Decimal{"new": dec("3"), "tobacco": dec("0")}
}

func TestEarnIdempotency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	req := member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "pay-1", OrderID: "o1", Amount: dec("520.00")}
	first, err := f.svc.Earn(ctx, req)
	require.NoError(t, err)
	assert.False(t, first.Replayed)
	assert.Equal(t, &member.TierChange{From: "", To: "silver"}, first.TierChange)

	// The same key and payload: the original result, nothing changed.
	req.Amount = dec("520.0") // the same amount written differently
	again, err := f.svc.Earn(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Points, again.Points)
	assert.Equal(t, first.Growth, again.Growth)
	assert.Equal(t, first.TierChange, again.TierChange)
	assert.Equal(t, first.Balance, again.Balance)
	a := f.account(t, "c1")
	assert.Equal(t, int64(520), a.Points)
	assert.Equal(t, int64(520), a.Growth)

	// The same key with another payload.
	req.Amount = dec("521.00")
	_, err = f.svc.Earn(ctx, req)
	require.ErrorIs(t, err, scrm.ErrConflict)

	// The same order under another key earns nothing more.
	_, err = f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "pay-1-retry", OrderID: "o1", Amount: dec("520.00")})
	require.ErrorIs(t, err, scrm.ErrConflict)
	assert.Equal(t, int64(520), f.account(t, "c1").Points)
	assert.Len(t, f.journal(t, "c1"), 2, "earn and tier entries only")
}

func TestEarnBadInput(t *testing.T) {
	ok := func() member.EarnRequest {
		return member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "k", OrderID: "o", Amount: dec("10.00")}
	}
	tests := []struct {
		name   string
		change func(r *member.EarnRequest)
		field  string
	}{
		{"zero amount", func(r *member.EarnRequest) { r.Amount = decimal.Zero }, "Amount"},
		{"negative amount", func(r *member.EarnRequest) { r.Amount = dec("-5") }, "Amount"},
		{"below the fen", func(r *member.EarnRequest) { r.Amount = dec("10.001") }, "Amount"},
		{"huge amount", func(r *member.EarnRequest) { r.Amount = dec("100000000000") }, "Amount"},
		{"no tenant", func(r *member.EarnRequest) { r.Tenant = "" }, "Tenant"},
		{"no customer", func(r *member.EarnRequest) { r.Customer = "" }, "Customer"},
		{"no key", func(r *member.EarnRequest) { r.IdempotencyKey = "" }, "IdempotencyKey"},
		{"no order", func(r *member.EarnRequest) { r.OrderID = "" }, "OrderID"},
		{"item quantity", func(r *member.EarnRequest) { r.Items = []scrm.OrderItem{{Price: dec("1"), Quantity: 0}} }, "Items[0].Quantity"},
		{"item price", func(r *member.EarnRequest) { r.Items = []scrm.OrderItem{{Price: dec("-1"), Quantity: 1}} }, "Items[0].Price"},
		{"paid in the future", func(r *member.EarnRequest) { r.At = start.Add(time.Hour) }, "At"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, standard())
			r := ok()
			tt.change(&r)
			_, err := f.svc.Earn(context.Background(), r)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.True(t, errors.As(err, &se))
			assert.Equal(t, tt.field, se.Field)
			_, err = f.svc.Account(context.Background(), tenant, "c1")
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		})
	}
	t.Run("a little clock skew is fine", func(t *testing.T) {
		f := newFixture(t, standard())
		r := ok()
		r.At = start.Add(member.FutureTolerance)
		_, err := f.svc.Earn(context.Background(), r)
		require.NoError(t, err)
	})
}

func TestEventRules(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Earn.Events = []member.EventRule{{Type: "review.posted", Points: 10, PerDay: 2, Limit: 5}, {Type: "quiz.answered", Points: 3}}
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 7}
	f := newFixture(t, p)
	n := 0
	post := func(typ string, at time.Time) member.Account {
		t.Helper()
		n++
		f.clock.Set(at)
		require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "ev" + string(rune('a'+n)), Tenant: tenant, Customer: "c1", Type: typ, Time: at}))
		return f.account(t, "c1")
	}
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, shanghai) }

	steps := []struct {
		typ  string
		at   time.Time
		want int64
	}{
		{"review.posted", day(2, 9), 10},
		{"review.posted", day(2, 12), 20},
		{"review.posted", day(2, 23), 20}, // third today: over PerDay
		{"review.posted", day(3, 0), 30},  // a new local day
		{"quiz.answered", day(3, 1), 33},  // no caps
		{"review.posted", day(3, 8), 43},
		{"review.posted", day(3, 9), 43}, // PerDay again
		{"review.posted", day(4, 9), 53}, // 5th award: Limit reached
		{"review.posted", day(5, 9), 53}, // over Limit
		{"quiz.answered", day(5, 10), 56},
	}
	for i, s := range steps {
		a := post(s.typ, s.at)
		assert.Equal(t, s.want, a.Points, "step %d", i)
	}
	// A capped event is journalled with 0 points, so the reason is visible.
	var capped int
	for _, e := range f.journal(t, "c1") {
		if e.Kind == member.EntryEarn && e.Points == 0 {
			capped++
			assert.Contains(t, e.Note, "capped")
		}
	}
	assert.Equal(t, 3, capped)

	// Replaying an event changes nothing.
	require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "evb", Tenant: tenant, Customer: "c1", Type: "review.posted", Time: day(2, 9)}))
	assert.Equal(t, int64(56), f.account(t, "c1").Points)

	// Event points expire like any other: 7 days after their local day.
	a := f.account(t, "c1")
	assert.True(t, time.Date(2026, 3, 10, 0, 0, 0, 0, shanghai).Equal(a.Lots[0].ExpiresAt()))
}
