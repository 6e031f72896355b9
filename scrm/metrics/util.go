package metrics

import (
	"math/bits"
	"strconv"
	"strings"
)

// ratio returns num ÷ den as a float64, or 0 when den is 0. Rates in this
// package are ratios of integer counts; the counts are always reported
// beside them, so an exact fraction can be rebuilt.
func ratio(num, den int64) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

func itoa(i int) string { return strconv.Itoa(i) }

func trailingZeros(x uint64) int { return bits.TrailingZeros64(x) }

func cmpString(a, b string) int { return strings.Compare(a, b) }
