package referral

import (
	"hash/maphash"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/scrm"
)

func TestMulRoundFen(t *testing.T) {
	amounts := []string{"0", "0.01", "0.05", "1", "128.00", "99.99", "12345.67", "-10.00", "0.005", "92233720368547758.07"}
	rates := []string{"0", "0.05", "0.1", "0.03", "0.125", "0.005", "0.333333333333333333", "0.999", "0.0000000000000000001", "1.5", "-0.1"}
	for _, a := range amounts {
		for _, r := range rates {
			want := scrm.RoundFen(scrm.Yuan(a).Mul(scrm.Yuan(r)))
			got := mulRoundFen(scrm.Yuan(a), scrm.Yuan(r))
			assert.True(t, want.Equal(got), "%s × %s: want %s, got %s", a, r, want, got)
		}
	}
}

func TestGreater(t *testing.T) {
	vals := []string{"0", "0.01", "0.010", "1", "128.00", "128", "-3.5", "0.001", "0.0015", "99999999999999999999"}
	for _, a := range vals {
		for _, b := range vals {
			assert.Equal(t, scrm.Yuan(a).GreaterThan(scrm.Yuan(b)), greater(scrm.Yuan(a), scrm.Yuan(b)), "%s > %s", a, b)
		}
	}
}

func TestHashIndexCollision(t *testing.T) {
	x := newHashIndex(maphash.MakeSeed(), func(v string) string { return v })
	x.put("a", "a")
	// Make "b" collide: its hash slot holds another key's value.
	x.primary[maphash.String(x.seed, "b")] = "a"
	x.put("b", "b")
	v, ok := x.get("b")
	assert.True(t, ok)
	assert.Equal(t, "b", v)
	v, ok = x.get("a")
	assert.True(t, ok)
	assert.Equal(t, "a", v)
	_, ok = x.get("c")
	assert.False(t, ok)
	n := 0
	x.all(func(string) { n++ })
	assert.Equal(t, 3, n, "a twice (its own slot and the faked one), b once")
	x.delete("b")
	_, ok = x.get("b")
	assert.False(t, ok)
	x.delete("a")
	_, ok = x.get("a")
	assert.False(t, ok)
}
