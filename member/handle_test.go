package member_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// The service wired as a host would: Profiles first, then member, on one
// Dispatcher that is also member's Publisher.
func TestHandleThroughDispatcher(t *testing.T) {
	ctx := context.Background()
	clock := scrmtest.NewClock(start)
	profileStore := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(profileStore, &scrm.Options{Clock: clock})
	// Replays republish member's events under the same IDs, so a
	// watcher that deduplicates by ID (as handlers must) sees each once.
	var seen []string
	ids := map[string]bool{}
	watch := scrm.HandlerFunc(func(_ context.Context, e scrm.Event) error {
		if e.Type == scrm.EventTierChanged && !ids[e.ID] {
			ids[e.ID] = true
			seen = append(seen, e.Prop("from")+">"+e.Prop("to"))
		}
		return nil
	})
	var bus *scrm.Dispatcher
	pub := scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return bus.Publish(ctx, e) })
	svc := member.New(nil, profileStore, &member.Options{Options: scrm.Options{Clock: clock, Publisher: pub}})
	bus = scrm.NewDispatcher(profiles, svc, watch)

	p := standard()
	p.Earn.Categories = map[string]decimal.Decimal{"new": dec("2")}
	// 金卡 also needs two paid orders in 90 days: read from the profile
	// Profiles folded the event into before member saw it.
	p.Tiers[2].When = rule.Event(scrm.EventOrderPaid).Within(90 * 24 * time.Hour).CountGte(2)
	_, err := svc.PutProgram(ctx, p)
	require.NoError(t, err)

	paid := scrm.Event{ID: "ev-1", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: start, Amount: dec("2400.00"),
		Props: map[string]any{"order_id": "o1", "items": []scrm.OrderItem{
			{SKU: "a", Category: "new", Price: dec("1200.00"), Quantity: 1},
			{SKU: "b", Category: "basic", Price: dec("1200.00"), Quantity: 1}}}}
	require.NoError(t, bus.Publish(ctx, paid))
	a, err := svc.Account(ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(3600), a.Points, "2400 × 1.5 for the half at ×2")
	assert.Equal(t, "silver", a.Tier, "one order: not 金卡 yet")

	require.NoError(t, bus.Publish(ctx, paid), "a replayed event changes nothing")
	a, err = svc.Account(ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(3600), a.Points)

	clock.Advance(time.Hour)
	require.NoError(t, bus.Publish(ctx, scrm.Event{ID: "ev-2", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid,
		Time: clock.Now(), Amount: dec("10.00"), Props: map[string]any{"order_id": "o2"}}))
	a, err = svc.Account(ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Equal(t, "gold", a.Tier)
	assert.Equal(t, []string{">silver", "silver>gold"}, seen)

	// A refund of o1 by event.
	require.NoError(t, bus.Publish(ctx, scrm.Event{ID: "ev-3", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderRefunded,
		Time: clock.Now(), Amount: dec("2400.00"), Props: map[string]any{"order_id": "o1"}}))
	a, err = svc.Account(ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(12), a.Points, "o2's 10 × 1.2 (earned as 银卡)")
	assert.Equal(t, int64(10), a.Growth)
	assert.Equal(t, "normal", a.Tier, "10 growth left: straight to 普卡")
}

func TestHandleIgnores(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	for name, e := range map[string]scrm.Event{
		"tenant without a program": {ID: "e1", Tenant: "other", Customer: "c1", Type: scrm.EventOrderPaid, Time: start, Amount: dec("10")},
		"zero amount":              {ID: "e2", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: start},
		"other type":               {ID: "e4", Tenant: tenant, Customer: "c1", Type: scrm.EventPageViewed, Time: start},
		"own event":                {ID: "e5", Tenant: tenant, Customer: "c1", Type: member.EventPointsExpired, Time: start},
	} {
		assert.NoError(t, f.svc.Handle(ctx, e), name)
	}
	_, err := f.svc.Account(ctx, tenant, "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")

	err = f.svc.Handle(ctx, scrm.Event{ID: "e6", Tenant: tenant, Type: scrm.EventOrderPaid, Time: start, Amount: dec("10")})
	assert.ErrorIs(t, err, scrm.ErrInvalid, "an invalid event is an error")
	err = f.svc.Handle(ctx, scrm.Event{ID: "e7", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: start.Add(time.Hour), Amount: dec("10")})
	assert.ErrorIs(t, err, scrm.ErrInvalid, "an order paid in the future")

	// Without "order_id" the event ID names the order.
	require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "e8", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: start, Amount: dec("10")}))
	_, err = f.store.Order(ctx, tenant, "c1", "e8")
	assert.NoError(t, err)
}

// A numeric "order_id", as JSON decoding leaves it, names the order by its
// decimal digits: the refund finds the order the payment earned under,
// whichever numeric form each event carries.
func TestHandleNumericOrderID(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		paid, ref any
		order     string
	}{
		{"json.Number", json.Number("20261103001"), json.Number("20261103001"), "20261103001"},
		{"float64", float64(20261103001), float64(20261103001), "20261103001"},
		{"int64", int64(20261103001), int64(20261103001), "20261103001"},
		{"int and string", 42, "42", "42"},
		{"uint32 and json.Number", uint32(7), json.Number("7"), "7"},
		{"zero fraction", json.Number("12345.00"), float64(12345), "12345"},
		{"exponent", json.Number("1.2345e4"), int(12345), "12345"},
		{"beyond int64", json.Number("123456789012345678901"), "123456789012345678901", "123456789012345678901"},
		{"named integer type", orderNo(99), "99", "99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, standard())
			require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "pay-1", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid,
				Time: start, Amount: dec("100.00"), Props: map[string]any{"order_id": tc.paid}}))
			_, err := f.store.Order(ctx, tenant, "c1", tc.order)
			require.NoError(t, err, "the order is recorded under its digits")
			before, err := f.svc.Account(ctx, tenant, "c1")
			require.NoError(t, err)
			require.Positive(t, before.Points)

			require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "ref-1", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderRefunded,
				Time: start, Amount: dec("100.00"), Props: map[string]any{"order_id": tc.ref}}))
			after, err := f.svc.Account(ctx, tenant, "c1")
			require.NoError(t, err)
			assert.Zero(t, after.Points, "the refund is not ignored: it finds the order")
			assert.Zero(t, after.Growth)
		})
	}
}

type orderNo int64

func TestHandleInvalidOrderID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	for _, typ := range []string{scrm.EventOrderPaid, scrm.EventOrderRefunded} {
		for name, v := range map[string]any{
			"fraction":          1.5,
			"json fraction":     json.Number("12.5"),
			"not a number":      json.Number("12abc"),
			"float beyond 2^53": float64(1 << 60),
			"NaN":               math.NaN(),
			"bool":              true,
			"map":               map[string]any{"id": "o1"},
			"slice":             []any{"o1"},
		} {
			err := f.svc.Handle(ctx, scrm.Event{ID: "e-" + name, Tenant: tenant, Customer: "c1", Type: typ,
				Time: start, Amount: dec("10.00"), Props: map[string]any{"order_id": v}})
			requireField(t, err, scrm.ErrInvalid, "Props.order_id")
		}
	}
	_, err := f.svc.Account(ctx, tenant, "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")

	// nil is no order_id: the event ID names the order.
	require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "e-nil", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid,
		Time: start, Amount: dec("10.00"), Props: map[string]any{"order_id": nil}}))
	_, err = f.store.Order(ctx, tenant, "c1", "e-nil")
	assert.NoError(t, err)
	// Other events do not read order_id.
	assert.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "e-view", Tenant: tenant, Customer: "c1", Type: scrm.EventPageViewed,
		Time: start, Props: map[string]any{"order_id": true}}))
}

// A refund delivered before its order.paid is remembered, and the
// order.paid that follows takes the refunded share back at once; so an
// order refunded in full before its payment event leaves nothing, and no
// upgrade. Refund called directly still answers ErrNotFound.
func TestHandleRefundBeforeItsOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	refund := func(id, order, amount string) error {
		return f.svc.Handle(ctx, scrm.Event{ID: id, Tenant: tenant, Customer: "c1", Type: scrm.EventOrderRefunded,
			Time: start, Amount: dec(amount), Props: map[string]any{"order_id": order}})
	}
	paid := func(id, order, amount string) error {
		return f.svc.Handle(ctx, scrm.Event{ID: id, Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid,
			Time: start, Amount: dec(amount), Props: map[string]any{"order_id": order}})
	}
	account := func() member.Account {
		a, err := f.svc.Account(ctx, tenant, "c1")
		require.NoError(t, err)
		return a
	}

	_, err := f.svc.Refund(ctx, member.RefundRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "r0", OrderID: "o1", Amount: dec("40")})
	require.ErrorIs(t, err, scrm.ErrNotFound, "the API still refuses a refund of an order it never saw")

	require.NoError(t, refund("r1", "o1", "40.00"))
	require.NoError(t, refund("r1", "o1", "40.00"), "a redelivery")
	require.Equal(t, int64(0), account().Points)

	// ¥100 paid, ¥40 refunded before: 100 earned, 40 taken back at once.
	res, err := f.svc.Earn(ctx, member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "p1", OrderID: "o1", Amount: dec("100")})
	require.NoError(t, err)
	assert.Equal(t, int64(100), res.Points)
	assert.Equal(t, int64(40), res.Clawed)
	assert.Equal(t, int64(40), res.GrowthClawed)
	a := account()
	assert.Equal(t, int64(60), a.Points)
	assert.Equal(t, int64(60), a.Growth)

	// The rest of the refund, in order now: everything is undone.
	require.NoError(t, refund("r2", "o1", "60.00"))
	a = account()
	assert.Equal(t, int64(0), a.Points)
	assert.Equal(t, int64(0), a.Growth)
	o, err := f.store.Order(ctx, tenant, "c1", "o1")
	require.NoError(t, err)
	assert.True(t, o.Refunded.Equal(dec("100")), "refunded %s", o.Refunded)
	assert.Equal(t, int64(100), o.PointsClawed)

	// ¥600 refunded in full before its payment: no points, no growth, and
	// no 银卡 upgrade (nor its reward) for an order that never stood.
	require.NoError(t, refund("r3", "o2", "600.00"))
	require.NoError(t, paid("p2", "o2", "600.00"))
	a = account()
	assert.Equal(t, int64(0), a.Points)
	assert.Equal(t, int64(0), a.Growth)
	assert.Equal(t, "normal", a.Tier)
	for _, e := range f.events.ofType(scrm.EventTierChanged) {
		assert.NotEqual(t, "silver", e.Props["to"], "no upgrade for an order refunded before it was paid")
	}

	// Two early refunds over the paid amount take back everything, no more.
	require.NoError(t, refund("r4", "o3", "30.00"))
	require.NoError(t, refund("r5", "o3", "30.00"))
	require.NoError(t, paid("p3", "o3", "50.00"))
	a = account()
	assert.Equal(t, int64(0), a.Points)
	assert.Equal(t, int64(0), a.Growth)
}
