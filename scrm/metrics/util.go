package metrics

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
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

// addSat returns t + d (unix nanoseconds, d ≥ 0), saturating at
// math.MaxInt64, so that a window as long as the largest Duration ("ever")
// ends after every event instead of wrapping around to before them.
func addSat(t int64, d time.Duration) int64 {
	if t > 0 && int64(d) > math.MaxInt64-t {
		return math.MaxInt64
	}
	return t + int64(d)
}
