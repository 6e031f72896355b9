package scrm

import "github.com/shopspring/decimal"

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
	return d.Equal(d.Round(2)) // beyond an int64 of fen
}

// ToFen returns d in fen (0.01 yuan) as an int64 without allocating. ok is
// false when d has digits below the fen or is too large for an int64 of fen
// (beyond about 10^16 yuan).
func ToFen(d decimal.Decimal) (fen int64, ok bool) {
	if d.IsZero() { // the zero Reward.Amount of every points grant
		return 0, true
	}
	if d.NumDigits() > 18 {
		return 0, false
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

// FromFen returns fen (0.01 yuan) as a decimal amount of yuan.
func FromFen(fen int64) decimal.Decimal {
	return decimal.New(fen, -2)
}
