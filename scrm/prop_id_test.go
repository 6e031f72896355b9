package scrm_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

type orderNo int64

// IDProp reads an ID prop in every form JSON decoding and host structs
// leave it, and refuses the rest naming the field.
func TestEventIDProp(t *testing.T) {
	ev := func(v any) scrm.Event { return scrm.Event{Props: map[string]any{"order_id": v}} }
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, ""}, {"", ""}, {"o1", "o1"}, {scrm.CustomerID("c1"), "c1"},
		{42, "42"}, {int64(-7), "-7"}, {uint32(7), "7"}, {orderNo(99), "99"},
		{float64(20261103001), "20261103001"}, {float32(12), "12"}, {math.Copysign(0, -1), "0"},
		{json.Number("12345"), "12345"}, {json.Number("12345.00"), "12345"}, {json.Number("-7"), "-7"},
		{json.Number("1.2345e4"), "12345"}, {json.Number("123456789012345678901"), "123456789012345678901"},
	} {
		got, err := ev(tc.v).IDProp("op", "order_id")
		require.NoError(t, err, "%T %v", tc.v, tc.v)
		assert.Equal(t, tc.want, got, "%T %v", tc.v, tc.v)
	}
	got, err := scrm.Event{}.IDProp("op", "order_id")
	require.NoError(t, err)
	assert.Empty(t, got, "missing")
	for _, v := range []any{1.5, float64(1 << 60), math.NaN(), math.Inf(1), json.Number("12.5"),
		json.Number("x"), json.Number("012"), true, []string{"o1"}, map[string]any{}} {
		_, err := ev(v).IDProp("op", "order_id")
		var e *scrm.Error
		if assert.ErrorAs(t, err, &e, "%T %v", v, v) {
			assert.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, "Props.order_id", e.Field)
		}
	}
}
