package referral

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idIndex must behave as a map from keys to values through inserts,
// deletes (with their backward shifts) and growth.
func TestIDIndex(t *testing.T) {
	var keys []string
	x := newIDIndex(maphash.MakeSeed(), func(i int32) string { return keys[i] })
	want := map[string]int32{}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		k := "k" + strconv.Itoa(rng.IntN(3000))
		if i, ok := want[k]; ok {
			got, found := x.get(k)
			require.True(t, found, "step %d: %s", step, k)
			require.Equal(t, i, got)
			if rng.IntN(3) == 0 {
				x.delete(k)
				delete(want, k)
			}
			continue
		}
		_, sl, found := x.find(k)
		require.False(t, found, "step %d: %s", step, k)
		keys = append(keys, k)
		i := int32(len(keys) - 1)
		if rng.IntN(2) == 0 {
			x.store(sl, i)
		} else {
			x.put(k, i)
		}
		want[k] = i
	}
	assert.Equal(t, len(want), x.idx.Len())
	seen := map[int32]bool{}
	x.all(func(i int32) { seen[i] = true })
	assert.Len(t, seen, len(want))
	for k, i := range want {
		got, ok := x.get(k)
		assert.True(t, ok, k)
		assert.Equal(t, i, got, k)
		assert.True(t, seen[i])
	}
}

// Slots found before other keys were stored still store correctly.
func TestIDIndexStaleSlots(t *testing.T) {
	var keys []string
	x := newIDIndex(maphash.MakeSeed(), func(i int32) string { return keys[i] })
	var slots []idSlot
	for i := range 100 {
		k := "s" + strconv.Itoa(i)
		_, sl, _ := x.find(k)
		slots = append(slots, sl)
		keys = append(keys, k)
	}
	for i, sl := range slots {
		x.store(sl, int32(i))
	}
	for i, k := range keys {
		got, ok := x.get(k)
		assert.True(t, ok, k)
		assert.Equal(t, int32(i), got)
	}
}
