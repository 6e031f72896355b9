package rule

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustNumber(t testing.TB, s string) number {
	t.Helper()
	n, ok, msg := parseNumberText(s)
	require.True(t, ok, s)
	require.Empty(t, msg, s)
	return n
}

func TestParseFixed(t *testing.T) {
	for _, tc := range []struct {
		in   string
		coef int64
		exp  int32
		ok   bool
	}{
		{"0", 0, 0, true},
		{"-0", 0, 0, true},
		{"12", 12, 0, true},
		{"-12.50", -1250, -2, true},
		{"0.05", 5, -2, true},
		{"+7", 7, 0, true},
		{"000123", 123, 0, true},
		{"999999999999999999", 999999999999999999, 0, true},
		{"0.000000000000000000001", 1, -21, true},
		{"1000000000000000000", 0, 0, false}, // 19 significant digits
		{"", 0, 0, false},
		{"-", 0, 0, false},
		{".5", 0, 0, false},
		{"5.", 0, 0, false},
		{"1e3", 0, 0, false},
		{"1.2.3", 0, 0, false},
		{"--1", 0, 0, false},
		{" 1", 0, 0, false},
	} {
		coef, exp, ok := parseFixed(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		if tc.ok {
			assert.Equal(t, tc.coef, coef, tc.in)
			assert.Equal(t, tc.exp, exp, tc.in)
		}
	}
}

func TestNumberForms(t *testing.T) {
	for _, tc := range []struct {
		in    string
		iform intForm
		i     int64
		fixed bool
	}{
		{"5", intExact, 5, true},
		{"5.00", intExact, 5, true},
		{"2.5", intFrac, 2, true},
		{"-2.5", intFrac, -3, true},
		{"1e30", intAbove, 0, true},
		{"-1e30", intBelow, 0, true},
		{"9223372036854775807", intExact, math.MaxInt64, false},
		{"9223372036854775808", intAbove, 0, false},
		{"-9223372036854775808", intExact, math.MinInt64, false},
		{"-9223372036854775808.5", intBelow, 0, false},
	} {
		n := mustNumber(t, tc.in)
		assert.Equal(t, tc.iform, n.iform, tc.in)
		assert.Equal(t, tc.fixed, n.fixed, tc.in)
		if tc.iform == intExact || tc.iform == intFrac {
			assert.Equal(t, tc.i, n.i, tc.in)
		}
	}
	for _, bad := range []string{"1e41", "1e-41", "1e99999", "123456789012345678901234567890123456789012345678901234567890123456789"} {
		_, ok, msg := parseNumberText(bad)
		assert.True(t, ok && msg != "", bad)
	}
}

// TestCmpNumAgreesWithDecimal checks every attribute representation against
// decimal.Cmp on random values.
func TestCmpNumAgreesWithDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randDec := func() decimal.Decimal {
		switch r.IntN(4) {
		case 0:
			return decimal.New(r.Int64N(2000)-1000, int32(r.IntN(5)-2))
		case 1:
			return decimal.New(r.Int64()-math.MaxInt64/2, int32(r.IntN(40)-20))
		case 2:
			return decimal.New(int64(r.IntN(7)-3), 0)
		}
		return decimal.New(r.Int64N(1e6), -int32(r.IntN(4)))
	}
	for range 20000 {
		a, b := randDec(), randDec()
		c, msg := newNumber(b, "")
		if msg != "" {
			continue
		}
		want := a.Cmp(b)
		got, ok := cmpNum(a, &c)
		require.True(t, ok)
		require.Equal(t, want, got, "decimal %s vs %s", a, b)
		got, ok = cmpNum(json.Number(a.String()), &c)
		require.True(t, ok)
		require.Equal(t, want, got, "json.Number %s vs %s", a, b)
		if a.IsInteger() && a.BigInt().IsInt64() {
			got, ok = cmpNum(a.IntPart(), &c)
			require.True(t, ok)
			require.Equal(t, want, got, "int64 %s vs %s", a, b)
		}
	}
}

func FuzzNumberCompare(f *testing.F) {
	f.Add("1", "1.0")
	f.Add("-2.5", "-3")
	f.Add("123456789012345678901234567890", "1e29")
	f.Add("0.000001", "1e-6")
	f.Fuzz(func(t *testing.T, a, b string) {
		da, err := decimal.NewFromString(a)
		if err != nil || !isJSONNumber(a) || len(a) > 200 {
			return
		}
		c, ok, msg := parseNumberText(b)
		if !ok || msg != "" {
			return
		}
		want := da.Cmp(c.d)
		got, ok := cmpNum(json.Number(a), &c)
		require.True(t, ok)
		require.Equal(t, want, got, "json.Number")
		if da.NumDigits() <= 60 && da.Exponent() > -60 && da.Exponent() < 60 {
			got, _ = cmpNum(da, &c)
			require.Equal(t, want, got, "decimal")
		}
		if i, err := strconv.ParseInt(a, 10, 64); err == nil {
			got, _ = cmpNum(i, &c)
			require.Equal(t, want, got, "int64")
		}
	})
}
