package referral

import (
	"math/bits"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// greater reports a > b, comparing whole numbers of fen as int64 (the
// decimal comparison of two exponents allocates).
func greater(a, b decimal.Decimal) bool {
	if af, ok := scrm.ToFen(a); ok {
		if bf, ok := scrm.ToFen(b); ok {
			return af > bf
		}
	}
	return a.GreaterThan(b)
}

// mulRoundFen returns scrm.RoundFen(amount.Mul(rate)) (half away from
// zero); see shareFen.
func mulRoundFen(amount, rate decimal.Decimal) decimal.Decimal {
	if fen, ok := mulFen(amount, rate); ok {
		return scrm.FromFen(fen)
	}
	return scrm.RoundFen(amount.Mul(rate))
}

// shareFen returns scrm.RoundFen(amount.Mul(rate)) as fen (inFen) when
// mulFen can compute it, else as a decimal: a decimal costs big.Int
// allocations on the Handle hot path, and the memory store keeps fen.
func shareFen(amount, rate decimal.Decimal) (fen int64, d decimal.Decimal, inFen bool) {
	if fen, ok := mulFen(amount, rate); ok {
		return fen, decimal.Decimal{}, true
	}
	return 0, scrm.RoundFen(amount.Mul(rate)), false
}

// mulFen returns scrm.RoundFen(amount.Mul(rate)) (half away from zero) in
// fen, computed in int64, when amount is a positive whole number of fen and
// rate a positive decimal of at most 18 digits below the point, as the
// rates of a validated program are, and the product fits; ok is false
// otherwise.
func mulFen(amount, rate decimal.Decimal) (fen int64, ok bool) {
	fen, ok = scrm.ToFen(amount)
	c, exp := rate.CoefficientInt64(), rate.Exponent()
	if !ok || fen <= 0 || c <= 0 || exp > 0 || exp < -18 || rate.NumDigits() > 18 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(fen), uint64(c))
	if hi != 0 || lo > 1<<62 {
		return 0, false
	}
	// fen × c × 10^exp fen, rounded half up (both are positive).
	d := uint64(1)
	for range -exp {
		d *= 10
	}
	q, r := lo/d, lo%d
	if 2*r >= d {
		q++
	}
	return int64(q), true
}

// mulDivRound returns round_half_up(a × b ÷ c), computed in 128 bits, for
// a ≥ 0 and c > 0: 0 when a, b or c is not positive, a when b ≥ c. It
// reduces an entry's gross in proportion to its order's refunds
// (memOrder.applyRefunds).
func mulDivRound(a, b, c int64) int64 {
	switch {
	case a <= 0 || b <= 0 || c <= 0:
		return 0
	case b >= c:
		return a
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, r := bits.Div64(hi, lo, uint64(c)) // hi < c, as b < c
	if r >= uint64(c)-r {                 // 2r ≥ c, without overflow
		q++
	}
	return int64(q)
}
