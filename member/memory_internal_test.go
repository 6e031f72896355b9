package member

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyHashCollisions drives the memory store's key records through
// keys whose hashes collide (one hash forced for all), which real keys
// practically never do.
func TestKeyHashCollisions(t *testing.T) {
	mt := &memTenant{keys: make(map[uint64]int)}
	const h = 42
	keys := []string{"a", "bb", "ccc"}
	recs := make([]int, len(keys))
	for n, k := range keys {
		i, r := mt.reserveKey(h, k)
		require.Equal(t, -1, i, k)
		require.GreaterOrEqual(t, r, 0, k)
		recs[n] = r
	}
	assert.Len(t, mt.keys, 1)
	for n, k := range keys {
		i, r := mt.reserveKey(h, k)
		assert.Equal(t, recs[n], i, k)
		assert.Equal(t, -1, r, k)
		assert.Equal(t, recs[n], mt.findKey(h, k), k)
	}
	assert.Equal(t, -1, mt.findKey(h, "dddd"))

	// Unlink from the middle, the head and the end of the chain.
	mt.unlinkHash(recs[1], h)
	assert.Equal(t, -1, mt.findKey(h, "bb"))
	assert.Equal(t, recs[0], mt.findKey(h, "a"))
	assert.Equal(t, recs[2], mt.findKey(h, "ccc"))
	mt.unlinkHash(recs[2], h)
	assert.Equal(t, -1, mt.findKey(h, "ccc"))
	assert.Equal(t, recs[0], mt.findKey(h, "a"))
	mt.unlinkHash(recs[0], h)
	assert.Equal(t, -1, mt.findKey(h, "a"))
	assert.Empty(t, mt.keys)
}

// TestOrderHashCollisions does the same for an account's order records.
func TestOrderHashCollisions(t *testing.T) {
	a := &memAccount{orders: map[uint64]int{7: 2}, orderRecs: []*OrderRecord{{OrderID: "x"}, {OrderID: "y"}}, orderNext: []int{0, 1}}
	assert.Equal(t, 1, a.findOrder(7, "y"))
	assert.Equal(t, 0, a.findOrder(7, "x"))
	assert.Equal(t, -1, a.findOrder(7, "z"))
	assert.Equal(t, -1, a.findOrder(8, "x"))
}
