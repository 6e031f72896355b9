package scrm_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// refFen is the reference for ToFen and IsFen, computed exactly with
// big.Rat from d's coefficient and exponent: whole reports whether d is a
// whole number of fen, and ok whether that number also fits an int64.
func refFen(d decimal.Decimal) (fen int64, ok, whole bool) {
	c := d.Coefficient()
	exp := int64(d.Exponent()) + 2 // d in fen is coefficient * 10^exp
	if absInt64(exp) > 1e5 {       // 10^exp too large to build: decide by digits
		switch {
		case c.Sign() == 0:
			return 0, true, true
		case exp > 0:
			return 0, false, true
		case int64(len(c.Text(10))) <= -exp: // |c| < 10^-exp: not divisible
			return 0, false, false
		}
		panic("refFen: coefficient too long for its exponent")
	}
	r := new(big.Rat).SetInt(c)
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(absInt64(exp)), nil))
	if exp >= 0 {
		r.Mul(r, p)
	} else {
		r.Quo(r, p)
	}
	if !r.IsInt() {
		return 0, false, false
	}
	if !r.Num().IsInt64() {
		return 0, false, true
	}
	return r.Num().Int64(), true, true
}

func absInt64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// checkFen compares ToFen and IsFen on d with refFen.
func checkFen(t *testing.T, d decimal.Decimal, how string) {
	t.Helper()
	wantFen, wantOK, wantWhole := refFen(d)
	fen, ok := scrm.ToFen(d)
	if fen != wantFen || ok != wantOK {
		t.Fatalf("%s: ToFen(%s) (coefficient %s, exponent %d) = %d, %v; want %d, %v",
			how, d, d.Coefficient(), d.Exponent(), fen, ok, wantFen, wantOK)
	}
	if got := scrm.IsFen(d); got != wantWhole {
		t.Fatalf("%s: IsFen(%s) (exponent %d) = %v, want %v", how, d, d.Exponent(), got, wantWhole)
	}
	if ok && !scrm.FromFen(fen).Equal(d) {
		t.Fatalf("%s: FromFen(ToFen(%s)) = %s", how, d, scrm.FromFen(fen))
	}
}

// withZeros returns d with its coefficient multiplied by 10^z and its
// exponent lowered by z: the same value, written longer.
func withZeros(d decimal.Decimal, z int) decimal.Decimal {
	c := d.Coefficient()
	c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(z)), nil))
	return decimal.NewFromBigInt(c, d.Exponent()-int32(z))
}

// TestToFenMatchesReference checks ToFen and IsFen against refFen on
// decimals built every way money reaches them: parsed with trailing zeros,
// Div and Mul results, long coefficients, large exponents of either sign,
// negatives and amounts at and beyond the int64 bounds.
func TestToFenMatchesReference(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "0.00000000000000000000000", "0e40", "0.01", "-0.01", "0.001", "0.010",
		"0.01000000000000000000", "-0.01000000000000000000", "0.01000000000000000001",
		"250.0000000000000000", "19.90", "1e16", "1e17", "1e-2", "1e-3", "100e-4", "12300e-4",
		"92233720368547758.07", "92233720368547758.08", "-92233720368547758.08", "-92233720368547758.09",
		"92233720368547758.0700000000", "-92233720368547758.080000000000", "92233720368547758.071",
		"922337203685477580700e-4", "9223372036854775807e-2", "9223372036854775808e-2",
		"123456789012345678901.23", "123456789012345678901.235", "1e-10000", "1e10000", "-5e9999",
	} {
		checkFen(t, scrm.Yuan(s), s)
	}
	for _, d := range []decimal.Decimal{
		scrm.Yuan("1000").Div(decimal.NewFromInt(4)),
		scrm.Yuan("-1000").Div(decimal.NewFromInt(4)),
		scrm.Yuan("100").Div(decimal.NewFromInt(3)),
		scrm.Yuan("0.03").Div(decimal.NewFromInt(3)),
		scrm.Yuan("1").Div(decimal.NewFromInt(8)),
		decimal.New(1, math.MinInt32), decimal.New(-7, math.MinInt32), decimal.New(1, math.MaxInt32),
		decimal.New(math.MaxInt64, -2), decimal.New(math.MinInt64, -2), decimal.New(math.MaxInt64, -21),
		decimal.New(math.MinInt64, 0), decimal.New(math.MaxInt64, -1),
		decimal.NewFromBigInt(new(big.Int).Lsh(big.NewInt(1), 200), -2),
		decimal.NewFromBigInt(new(big.Int).Lsh(big.NewInt(1), 200), -1000),
	} {
		checkFen(t, d, "fixed")
	}

	rng := rand.New(rand.NewPCG(1, 2))
	randFen := func() int64 {
		switch rng.IntN(5) {
		case 0:
			return rng.Int64N(20000) - 10000
		case 1:
			return math.MaxInt64 - rng.Int64N(1000)
		case 2:
			return math.MinInt64 + rng.Int64N(1000)
		case 3:
			return int64(rng.Uint64()) // any int64
		}
		return rng.Int64N(1e12) * 10
	}
	for i := 0; i < 20000; i++ {
		f := randFen()
		var d decimal.Decimal
		how := ""
		switch i % 9 {
		case 0: // parsed, with trailing zeros
			how = "parsed"
			d = scrm.Yuan(scrm.FromFen(f).StringFixed(int32(2 + rng.IntN(25))))
		case 1: // a Div result: exponent -16 when inexact or long
			how = "div"
			k := int64(1 + rng.IntN(12))
			d = scrm.FromFen(f / 16).Mul(decimal.NewFromInt(k)).Div(decimal.NewFromInt(k))
		case 2: // an arbitrary Div result, usually not whole fen
			how = "div any"
			d = scrm.FromFen(f).Div(decimal.NewFromInt(int64(1 + rng.IntN(1000))))
		case 3: // a Mul result with a long exponent
			how = "mul"
			d = scrm.FromFen(f / 1000).Mul(scrm.Yuan("1.00000000000000000000").Mul(decimal.NewFromInt(int64(rng.IntN(1000)))))
		case 4: // a Mul by a price with fractional digits
			how = "mul price"
			d = scrm.FromFen(f % 1e9).Mul(decimal.New(rng.Int64N(1e6), -int32(rng.IntN(8))))
		case 5: // the same value with many trailing zeros
			how = "zeros"
			d = withZeros(scrm.FromFen(f), rng.IntN(60))
		case 6: // beyond the fen: a small remainder on a long coefficient
			how = "remainder"
			z := 1 + rng.IntN(40)
			d = withZeros(scrm.FromFen(f), z).Add(decimal.New(int64(1+rng.IntN(9)), -2-int32(z)))
		case 7: // any coefficient, any exponent in [-60, 40]
			how = "exp"
			d = decimal.New(int64(rng.Uint64())>>rng.IntN(64), int32(rng.IntN(101)-60))
		case 8: // just beyond the int64 of fen, written long
			how = "bound"
			c := new(big.Int).SetInt64(f)
			c.Add(c, big.NewInt(int64(rng.IntN(3)-1)))
			d = withZeros(decimal.NewFromBigInt(c, -2), rng.IntN(20))
		}
		checkFen(t, d, how)
		checkFen(t, d.Neg(), how+" negated")
	}
}

// TestToFenShortDoesNotAllocate: the fast path, for coefficients of at most
// 18 digits, allocates nothing.
func TestToFenShortDoesNotAllocate(t *testing.T) {
	amounts := []decimal.Decimal{scrm.Yuan("19.90"), scrm.Yuan("0.001"), scrm.Yuan("-5"), decimal.New(3, 2), decimal.Zero}
	allocs := testing.AllocsPerRun(100, func() {
		for _, d := range amounts {
			scrm.ToFen(d)
			scrm.IsFen(d)
		}
	})
	assert.Zero(t, allocs)
}

// FuzzToFen: for every string NewFromString accepts, ToFen and IsFen agree
// with the big.Rat reference.
func FuzzToFen(f *testing.F) {
	for _, s := range []string{
		"19.90", "0.001", "0.01000000000000000000", "250.0000000000000000", "-250.0000000000000000",
		"92233720368547758.07", "92233720368547758.08", "-92233720368547758.08", "1e16", "1e-9999",
		"123456789012345678901.23", "1.5e3", "-0", "0.010000000000000000001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := decimal.NewFromString(s)
		if err != nil {
			return
		}
		checkFen(t, d, s)
	})
}

// The reference itself, on a few hand-checked values.
func TestRefFen(t *testing.T) {
	for _, tt := range []struct {
		s         string
		fen       int64
		ok, whole bool
	}{
		{"19.9", 1990, true, true},
		{"0.001", 0, false, false},
		{"92233720368547758.08", 0, false, true},
		{"-92233720368547758.08", math.MinInt64, true, true},
	} {
		fen, ok, whole := refFen(scrm.Yuan(tt.s))
		require.Equal(t, tt.ok, ok, tt.s)
		assert.Equal(t, tt.fen, fen, tt.s)
		assert.Equal(t, tt.whole, whole, tt.s)
	}
}
