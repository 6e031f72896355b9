package scrm

import (
	"math/big"

	"github.com/shopspring/decimal"
)

// Yuan parses a decimal amount of yuan such as "19.90". It panics on bad
// input, so it is meant for literals in code and tests; parse outside input
// with decimal.NewFromString and report the error.
func Yuan(s string) decimal.Decimal {
	return decimal.RequireFromString(s)
}

// RoundFen rounds d to the fen (0.01 yuan), half away from zero (四舍五入):
// 1.005 becomes 1.01 and -1.005 becomes -1.01. scrmkit rounds money only at
// the points its doc comments name, and always with this function.
func RoundFen(d decimal.Decimal) decimal.Decimal {
	return d.Round(2)
}

// IsFen reports whether d has no digits below the fen, i.e. RoundFen(d)
// equals d.
func IsFen(d decimal.Decimal) bool {
	if _, ok := ToFen(d); ok {
		return true // the common case, answered without allocating
	}
	switch {
	case d.Exponent() >= -2:
		return true // beyond an int64 of fen, but no digits below the fen
	case d.NumDigits() <= 18:
		return false // ToFen only divided, and found a remainder
	}
	return divExact(d.Coefficient(), -2-int64(d.Exponent())) // d is not zero here
}

// ToFen returns d in fen (0.01 yuan) as an int64. ok is false, and fen 0,
// when d has digits below the fen or is too large for an int64 of fen
// (beyond about 9.2*10^16 yuan); otherwise ok is true, however d is
// written: 250 yuan gives 25000 whether its coefficient is 250, 25000 or
// the 2500000000000000000 (exponent -16) that Div produces. It does not
// allocate when d's coefficient has at most 18 digits.
func ToFen(d decimal.Decimal) (fen int64, ok bool) {
	if d.IsZero() { // the zero Reward.Amount of every points grant
		return 0, true
	}
	if d.NumDigits() > 18 {
		return toFenLong(d)
	}
	c, exp := d.CoefficientInt64(), d.Exponent()
	if c == 0 {
		return 0, true
	}
	if exp < -2-19 || exp > 19 {
		return 0, false // an 18-digit coefficient cannot be a whole fen, or overflows
	}
	for ; exp > -2; exp-- {
		if c > maxFen/10 || c < -maxFen/10 {
			return 0, false
		}
		c *= 10
	}
	for ; exp < -2; exp++ {
		if c%10 != 0 {
			return 0, false
		}
		c /= 10
	}
	return c, true
}

const maxFen = int64(^uint64(0) >> 1)

// toFenLong is ToFen for a coefficient too long for int64 arithmetic, such
// as one with the trailing zeros of a Div result (exponent -16) or of a
// parsed "0.01000000000000000000".
func toFenLong(d decimal.Decimal) (int64, bool) {
	shift := int64(d.Exponent()) + 2 // d in fen is coefficient * 10^shift
	if shift > 18 {
		return 0, false // a non-zero coefficient times 10^19 overflows
	}
	c := d.Coefficient()
	if shift >= 0 {
		c.Mul(c, pow10(shift))
	} else if !divExact(c, -shift) {
		return 0, false
	}
	if !c.IsInt64() {
		return 0, false
	}
	return c.Int64(), true
}

// divExact divides the non-zero c by 10^k (k > 0) in place and reports
// whether the division was exact. It never builds a 10^k larger than c, so a
// huge k (an exponent near -2^31) costs nothing.
func divExact(c *big.Int, k int64) bool {
	if k > int64(c.BitLen()) { // 10^k > 2^k >= 2^BitLen > |c| > 0
		return false
	}
	var r big.Int
	c.QuoRem(c, pow10(k), &r)
	return r.Sign() == 0
}

// pow10 returns 10^k as a new big.Int.
func pow10(k int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(k), nil)
}

// FromFen returns fen (0.01 yuan) as a decimal amount of yuan.
func FromFen(fen int64) decimal.Decimal {
	return decimal.New(fen, -2)
}
