package member_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// An order.paid decoded from JSON (a queue between a host's services)
// earns exactly what the same event built in Go earns: its items' category
// multipliers apply. A malformed list is refused, naming the field, and
// nothing is earned.
func TestHandleItemsFromJSON(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Earn.Categories = map[string]decimal.Decimal{"new": dec("2")}
	const body = `{"ID":"ev-json","Tenant":"shop","Customer":"c1","Type":"order.paid",
		"Time":"2026-03-02T10:00:00+08:00","Amount":"2400",
		"Props":{"order_id":12345,"items":[
			{"sku":"a","category":"new","price":1200,"quantity":1},
			{"SKU":"b","Category":"basic","Price":"1200.00","Quantity":1,"name":"豆浆"}]}}`
	for _, useNumber := range []bool{false, true} {
		f := newFixture(t, p)
		var ev scrm.Event
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		if useNumber {
			dec.UseNumber()
		}
		require.NoError(t, dec.Decode(&ev))
		require.Equal(t, tenant, ev.Tenant, "the fixture's tenant")
		require.NoError(t, f.svc.Handle(ctx, ev), "UseNumber %v", useNumber)
		assert.Equal(t, int64(3600), f.account(t, "c1").Points, "2400 with the half in category new at ×2: 1200×2 + 1200; UseNumber %v", useNumber)
	}

	for name, tc := range map[string]struct {
		items any
		field string
	}{
		"a price that is not a number": {[]any{map[string]any{"category": "new", "price": "12,00", "quantity": 1.0}}, "Props.items[0].price"},
		"a fractional quantity":        {[]any{map[string]any{}, map[string]any{"Category": "new", "Price": "1", "Quantity": 1.5}}, "Props.items[1].Quantity"},
		"a category that is a number":  {[]any{map[string]any{"category": 7.0}}, "Props.items[0].category"},
		"an item that is a string":     {[]any{"latte"}, "Props.items[0]"},
		"a list of the wrong type":     {[]string{"latte"}, "Props.items"},
	} {
		f := newFixture(t, p)
		err := f.svc.Handle(ctx, scrm.Event{ID: "ev-bad", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: start,
			Amount: dec("10"), Props: map[string]any{"order_id": "o1", "items": tc.items}})
		var se *scrm.Error
		require.True(t, errors.As(err, &se), "%s: %v", name, err)
		assert.ErrorIs(t, err, scrm.ErrInvalid, name)
		assert.Equal(t, tc.field, se.Field, name)
		_, err = f.svc.Account(ctx, tenant, "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "%s: nothing written", name)
	}
}

// A refund booked as a negative number (as many ERPs book them) claws back
// the same as its absolute value; a zero amount refunds nothing.
func TestHandleNegativeRefund(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		amount         string
		points, growth int64
	}{{"-300.00", 400, 400}, {"300.00", 400, 400}, {"0", 700, 700}} {
		f := newFixture(t, standard())
		require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "paid", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: start,
			Amount: dec("700.00"), Props: map[string]any{"order_id": "o1"}}))
		require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: "refund", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderRefunded, Time: start,
			Amount: dec(tc.amount), Props: map[string]any{"order_id": "o1"}}))
		a := f.account(t, "c1")
		assert.Equal(t, tc.points, a.Points, "refund of %s: 700 earned as 普卡 (×1), 银卡 reached after", tc.amount)
		assert.Equal(t, tc.growth, a.Growth, tc.amount)
	}
}
