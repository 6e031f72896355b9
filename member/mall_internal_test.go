package member

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMallKeyHashCollisions drives the memory store's exchange keys through
// keys whose hashes collide (one hash forced for all), which real keys
// practically never do.
func TestMallKeyHashCollisions(t *testing.T) {
	mt := &mallTenant{}
	const h = 7
	keys := []string{"a", "bb", "ccc"}
	recs := make([]int, len(keys))
	for n, k := range keys {
		i, r := mt.reserveHash(h, k)
		require.Equal(t, -1, i, k)
		require.Equal(t, n, r, k)
		recs[n] = r
		mt.rec(r).state = stateNum(ExchangePending) // saved
	}
	assert.Equal(t, 3, mt.byKey.Len())
	for n, k := range keys {
		i, r := mt.reserveHash(h, k)
		assert.Equal(t, recs[n], i, k)
		assert.Equal(t, -1, r, k)
		assert.Equal(t, recs[n], mt.findHash(h, k), k)
	}
	assert.Equal(t, -1, mt.findHash(h, "dddd"))
	assert.Equal(t, 3, mt.n)

	// Free the last reserved record (the slot is reused) and one in the
	// middle (a hole); the others stay found.
	i, r := mt.reserveHash(h, "dddd")
	require.Equal(t, -1, i)
	mt.unreserveHash(h, r)
	assert.Equal(t, 3, mt.n, "the last slot is given back")
	assert.Equal(t, -1, mt.findHash(h, "dddd"))
	mt.unreserveHash(h, recs[1])
	assert.Equal(t, -1, mt.findHash(h, "bb"))
	assert.Equal(t, memExchange{}, *mt.rec(recs[1]), "a hole")
	assert.Equal(t, recs[0], mt.findHash(h, "a"))
	assert.Equal(t, recs[2], mt.findHash(h, "ccc"))
	mt.unreserveHash(h, recs[0])
	assert.Equal(t, 1, mt.byKey.Len())
	assert.Equal(t, recs[2], mt.findHash(h, "ccc"))
}
