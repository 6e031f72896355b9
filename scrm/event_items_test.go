package scrm_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

func itemsEvent(items any) scrm.Event {
	return scrm.Event{Props: map[string]any{"items": items}}
}

func TestOrderItemsForms(t *testing.T) {
	latte := scrm.OrderItem{SKU: "latte", Category: "coffee", Price: decimal.RequireFromString("32.5"), Quantity: 2}
	for name, items := range map[string]any{
		"Go values":          []scrm.OrderItem{latte},
		"Go pointers":        []*scrm.OrderItem{nil, &latte},
		"objects, Go names":  []any{map[string]any{"SKU": "latte", "Category": "coffee", "Price": "32.50", "Quantity": 2.0}},
		"objects, lower":     []any{map[string]any{"sku": "latte", "category": "coffee", "price": 32.5, "quantity": 2.0, "name": "拿铁"}},
		"json.Number":        []any{map[string]any{"sku": "latte", "category": "coffee", "price": json.Number("32.50"), "quantity": json.Number("2")}},
		"map slice, Go ints": []map[string]any{{"SKU": "latte", "Category": "coffee", "Price": decimal.RequireFromString("32.5"), "Quantity": 2}},
		"mixed list":         []any{&latte},
	} {
		got, err := itemsEvent(items).OrderItems("op")
		require.NoError(t, err, name)
		require.Len(t, got, 1, name)
		assert.Equal(t, latte.SKU, got[0].SKU, name)
		assert.Equal(t, latte.Category, got[0].Category, name)
		assert.True(t, latte.Price.Equal(got[0].Price), "%s: price %s", name, got[0].Price)
		assert.Equal(t, latte.Quantity, got[0].Quantity, name)
		assert.Equal(t, got, itemsEvent(items).Items(), name)
	}

	got, err := itemsEvent(nil).OrderItems("op")
	assert.NoError(t, err)
	assert.Nil(t, got)
	got, err = scrm.Event{}.OrderItems("op")
	assert.NoError(t, err)
	assert.Nil(t, got)
	got, err = itemsEvent([]any{map[string]any{"price": 5, "quantity": int64(3)}}).OrderItems("op")
	require.NoError(t, err)
	assert.Equal(t, "5", got[0].Price.String())
	assert.Equal(t, 3, got[0].Quantity)
}

func TestOrderItemsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		items any
		field string
	}{
		"a string":               {"latte", "Props.items"},
		"a list of strings":      {[]string{"latte"}, "Props.items"},
		"an element not object":  {[]any{map[string]any{}, 3.0}, "Props.items[1]"},
		"a nil pointer in []any": {[]any{(*scrm.OrderItem)(nil)}, "Props.items[0]"},
		"a SKU number":           {[]any{map[string]any{"sku": 12.0}}, "Props.items[0].sku"},
		"a price with a comma":   {[]any{map[string]any{"Price": "1,000"}}, "Props.items[0].Price"},
		"a price exponent":       {[]any{map[string]any{"price": "1e400000000"}}, "Props.items[0].price"},
		"a json.Number exponent": {[]any{map[string]any{"price": json.Number("1e3")}}, "Props.items[0].price"},
		"a NaN price":            {[]any{map[string]any{"price": math.NaN()}}, "Props.items[0].price"},
		"an empty price":         {[]any{map[string]any{"price": ""}}, "Props.items[0].price"},
		"a bool price":           {[]any{map[string]any{"price": true}}, "Props.items[0].price"},
		"a fractional quantity":  {[]any{map[string]any{"quantity": 0.5}}, "Props.items[0].quantity"},
		"a huge quantity":        {[]any{map[string]any{"quantity": 1e12}}, "Props.items[0].quantity"},
		"a string quantity":      {[]any{map[string]any{"quantity": "2"}}, "Props.items[0].quantity"},
		"an int64 quantity":      {[]map[string]any{{"Quantity": int64(1) << 40}}, "Props.items[0].Quantity"},
	} {
		got, err := itemsEvent(tc.items).OrderItems("op")
		assert.Nil(t, got, name)
		var se *scrm.Error
		require.True(t, errors.As(err, &se), "%s: %v", name, err)
		assert.ErrorIs(t, err, scrm.ErrInvalid, name)
		assert.Equal(t, tc.field, se.Field, name)
		assert.Nil(t, itemsEvent(tc.items).Items(), "%s: Items drops what OrderItems refuses", name)
	}
}

// FuzzOrderItemsJSON decodes arbitrary JSON as a host's event props would be
// (with and without UseNumber) and reads its items. OrderItems must never
// panic, must refuse with ErrInvalid only, and what it accepts must survive
// a round trip: encoded as JSON and decoded again, the items read the same.
func FuzzOrderItemsJSON(f *testing.F) {
	for _, s := range []string{
		`[{"sku":"a","category":"new","price":12.5,"quantity":2}]`,
		`[{"SKU":"b","Price":"0.01","Quantity":1}]`,
		`[{"price":"-3"},{}]`, `[]`, `null`, `"x"`, `[1]`, `[{"price":1e400}]`, `[{"quantity":2147483648}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, useNumber := range []bool{false, true} {
			var items any
			d := json.NewDecoder(bytes.NewReader(data))
			if useNumber {
				d.UseNumber()
			}
			if d.Decode(&items) != nil {
				return
			}
			got, err := itemsEvent(items).OrderItems("op")
			if err != nil {
				if !errors.Is(err, scrm.ErrInvalid) {
					t.Fatalf("%s: %v is not ErrInvalid", data, err)
				}
				continue
			}
			enc, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("%s: encode %v: %v", data, got, err)
			}
			var again any
			d = json.NewDecoder(bytes.NewReader(enc))
			d.UseNumber()
			if err := d.Decode(&again); err != nil {
				t.Fatalf("%s: decode %s: %v", data, enc, err)
			}
			back, err := itemsEvent(again).OrderItems("op")
			if err != nil {
				t.Fatalf("%s: round trip %s refused: %v", data, enc, err)
			}
			if len(back) != len(got) {
				t.Fatalf("%s: %d items came back as %d", data, len(got), len(back))
			}
			for i := range got {
				if back[i].SKU != got[i].SKU || back[i].Category != got[i].Category ||
					back[i].Quantity != got[i].Quantity || !back[i].Price.Equal(got[i].Price) {
					t.Fatalf("%s: item %d %+v came back as %+v", data, i, got[i], back[i])
				}
			}
		}
	})
}
