package segment_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/segment"
)

func TestSplitDistribution(t *testing.T) {
	const n = 100_000
	for _, tc := range []struct {
		salt    string
		weights []int
	}{
		{"ab", []int{50, 50}},
		{"holdout", []int{10, 45, 45}},
		{"abcd", []int{1, 2, 3, 4}},
		{"skewed", []int{5, 95}},
		{"with-empty-arm", []int{30, 0, 70}},
	} {
		t.Run(fmt.Sprint(tc.weights), func(t *testing.T) {
			counts := make([]int, len(tc.weights))
			total := 0
			for _, w := range tc.weights {
				total += w
			}
			for i := 0; i < n; i++ {
				arm := segment.Split(fmt.Sprintf("c%07d", i), tc.salt, tc.weights...)
				if !assert.True(t, arm >= 0 && arm < len(tc.weights), "arm %d", arm) {
					return
				}
				counts[arm]++
			}
			for arm, w := range tc.weights {
				want := float64(w) / float64(total)
				got := float64(counts[arm]) / n
				assert.InDelta(t, want, got, 0.01, "arm %d: %d of %d customers, want share %.2f", arm, counts[arm], n, want)
				if w == 0 {
					assert.Zero(t, counts[arm], "an arm of weight 0 gets nobody")
				}
			}
		})
	}
}

func TestSplitIsDeterministicAndSalted(t *testing.T) {
	same, moved := 0, 0
	for i := 0; i < 10_000; i++ {
		c := fmt.Sprint("customer-", i)
		a := segment.Split(c, "exp-1", 50, 50)
		assert.Equal(t, a, segment.Split(c, "exp-1", 50, 50), "same inputs, same arm")
		if a == segment.Split(c, "exp-2", 50, 50) {
			same++
		}
		// Re-weighting the treatments with the same total moves nobody into
		// or out of the holdout (arm 0).
		before := segment.Split(c, "exp-3", 10, 45, 45)
		after := segment.Split(c, "exp-3", 10, 20, 70)
		if (before == 0) != (after == 0) {
			moved++
		}
	}
	assert.InDelta(t, 5_000, same, 300, "another salt splits independently")
	assert.Zero(t, moved, "the holdout is stable under re-weighting")
}

// TestSplitAlgorithm pins the documented algorithm, so that other systems
// can reproduce it.
func TestSplitAlgorithm(t *testing.T) {
	for _, c := range []string{"c1", "13800138000", "会员-42", ""} {
		sum := sha256.Sum256([]byte("salt\x00" + c))
		h := binary.BigEndian.Uint64(sum[:8])
		x := new(big.Int).Mul(new(big.Int).SetUint64(h), big.NewInt(7))
		x.Rsh(x, 64)
		want := 0
		if x.Int64() >= 3 {
			want = 1
		}
		assert.Equal(t, want, segment.Split(c, "salt", 3, 4), "customer %q", c)
	}
}

func TestSplitBadWeights(t *testing.T) {
	for _, tc := range []struct {
		weights []int
		field   string
	}{
		{nil, "weights"},
		{[]int{0, 0}, "weights"},
		{[]int{50, -1, 50}, "weights[1]"},
		{[]int{int(^uint(0) >> 1), 1}, "weights"},
	} {
		assert.Equal(t, -1, segment.Split("c1", "s", tc.weights...), "%v", tc.weights)
		requireField(t, segment.CheckWeights(tc.weights...), tc.field)
	}
	assert.NoError(t, segment.CheckWeights(0, 1))
}
