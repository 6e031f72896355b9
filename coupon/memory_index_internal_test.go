package coupon

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHindexCollisions forces keys onto one hash, which real hashes almost
// never do, to check that colliding keys are told apart.
func TestHindexCollisions(t *testing.T) {
	x := newHindex(couponKey)
	a, b, c := &Coupon{ID: "a"}, &Coupon{ID: "b"}, &Coupon{ID: "c"}
	const h = 42
	for _, cp := range []*Coupon{a, b, c} {
		_, ok, taken := x.get(h, cp.ID)
		assert.False(t, ok)
		x.set(h, cp.ID, cp, taken)
	}
	for _, cp := range []*Coupon{a, b, c} {
		got, ok, taken := x.get(h, cp.ID)
		assert.True(t, ok && taken)
		assert.Same(t, cp, got)
	}
	_, ok, taken := x.get(h, "d")
	assert.False(t, ok)
	assert.True(t, taken, "the slot is taken by another key")
	_, ok, taken = x.get(7, "a")
	assert.False(t, ok || taken)

	// Updating a spilled key and a primary key.
	b2 := &Coupon{ID: "b", Order: "o"}
	_, _, taken = x.get(h, "b")
	x.set(h, "b", b2, taken)
	a2 := &Coupon{ID: "a", Order: "o"}
	x.set(h, "a", a2, true)
	got, _, _ := x.get(h, "b")
	assert.Same(t, b2, got)
	got, _, _ = x.get(h, "a")
	assert.Same(t, a2, got)

	var ids []string
	x.each(func(c *Coupon) bool { ids = append(ids, c.ID); return true })
	slices.Sort(ids)
	assert.Equal(t, []string{"a", "b", "c"}, ids)
}
