package slots

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCollisions drives values whose tags all collide: each is still
// found by its own match, replaced and removed alone (from the middle, the
// start and the end of the probe).
func TestCollisions(t *testing.T) {
	var x Index
	const tag = 42
	for v := int32(0); v < 3; v++ {
		require.Equal(t, int32(-1), x.Find(tag, func(i int32) bool { return i == v }))
		x.Insert(tag, v)
	}
	assert.Equal(t, 3, x.Len())
	for v := int32(0); v < 3; v++ {
		assert.Equal(t, v, x.Find(tag, func(i int32) bool { return i == v }))
	}
	x.Replace(tag, 2, 7)
	assert.Equal(t, int32(-1), x.Find(tag, func(i int32) bool { return i == 2 }))
	assert.Equal(t, int32(7), x.Find(tag, func(i int32) bool { return i == 7 }))
	for _, v := range []int32{1, 7, 0} {
		x.Remove(tag, v)
		assert.Equal(t, int32(-1), x.Find(tag, func(i int32) bool { return i == v }))
	}
	assert.Zero(t, x.Len())
	x.Remove(tag, 5) // not stored: nothing happens
	assert.Zero(t, x.Len())
}

// TestAsMap checks the index against a map through random inserts (some
// at slots probed before other inserts), removes and lookups.
func TestAsMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	seed := maphash.MakeSeed()
	var keys []string
	var x Index
	want := map[string]int32{}
	tag := func(k string) uint32 { return Tag(maphash.String(seed, k)) }
	find := func(k string) (int32, Slot) {
		return x.Probe(tag(k), func(i int32) bool { return keys[i] == k })
	}
	var pending []struct {
		k  string
		sl Slot
	}
	for op := 0; op < 20000; op++ {
		k := "k" + strconv.Itoa(rng.IntN(3000))
		got, sl := find(k)
		w, ok := want[k]
		if ok {
			require.Equal(t, w, got, k)
		} else {
			require.Equal(t, int32(-1), got, k)
		}
		switch {
		case ok && rng.IntN(3) == 0:
			x.Remove(tag(k), w)
			delete(want, k)
			pending = pending[:0] // a remove invalidates probed slots
		case !ok && rng.IntN(2) == 0:
			pending = append(pending, struct {
				k  string
				sl Slot
			}{k, sl})
		}
		if len(pending) > 0 && rng.IntN(4) == 0 { // store the probed keys, some slots stale by now
			for _, p := range pending {
				if _, dup := want[p.k]; dup {
					continue
				}
				keys = append(keys, p.k)
				x.Store(p.sl, int32(len(keys)-1))
				want[p.k] = int32(len(keys) - 1)
			}
			pending = pending[:0]
		}
	}
	require.Equal(t, len(want), x.Len())
	seen := 0
	x.All(func(int32) { seen++ })
	require.Equal(t, len(want), seen)
	for k, w := range want {
		got, _ := find(k)
		require.Equal(t, w, got, k)
	}
}
