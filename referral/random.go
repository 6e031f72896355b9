package referral

import (
	"math/bits"
	"math/rand/v2"
)

// The random outcomes of this package (bargain cuts, lottery draws) are
// reproducible: each comes from a PCG generator (math/rand/v2, PCG-DXSM,
// whose output for a given seed is fixed by its specification) seeded with
// the seed recorded on the session or draw and a stream number, and turned
// into a bounded integer by uniform below rather than by rand.Rand's
// methods, whose algorithms the standard library does not promise to keep.
// Anyone holding the recorded seed can recompute the outcome.

// The PCG streams: the second PCG seed word.
const (
	streamLottery = 0x6c6f7474657279 // "lottery"
)

// uniform returns a uniformly distributed integer in [0, n) from p, by
// Lemire's multiply-and-reject method: the high word of x·n for a 64-bit x,
// drawing again while the low word falls in the biased sliver.
func uniform(p *rand.PCG, n uint64) uint64 {
	if n == 0 {
		return 0
	}
	hi, lo := bits.Mul64(p.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(p.Uint64(), n)
		}
	}
	return hi
}
