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
	return d.Equal(d.Round(2))
}
