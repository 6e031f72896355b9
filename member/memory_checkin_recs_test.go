package member

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCIRecsOrder inserts dates in random order (with runs of new latest
// dates, as check-ins come) and checks after each insert that the records
// are in date order, that search finds every date inserted and places the
// others where they belong, and that walking with next visits all.
func TestCIRecsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		var r ciRecs
		var want []int32
		seen := map[int32]bool{}
		latest := int32(1000)
		for len(want) < 600 {
			var d int32
			if rng.IntN(3) == 0 {
				d = int32(rng.IntN(int(latest) + 50)) // anywhere, a make-up
			} else {
				latest += int32(1 + rng.IntN(2))
				d = latest
			}
			if seen[d] {
				_, found := r.search(d)
				require.True(t, found, "date %d", d)
				continue
			}
			seen[d] = true
			p, found := r.search(d)
			require.False(t, found)
			r.insert(p, ciRec{date: d})
			i, _ := slices.BinarySearch(want, d)
			want = slices.Insert(want, i, d)
			latest = max(latest, d)

			var got []int32
			for p, ok := (ciPos{}), r.valid(ciPos{}); ok; p, ok = r.next(p) {
				got = append(got, r.at(p).date)
			}
			require.Equal(t, want, got)
			for _, ch := range r.chunks {
				require.NotEmpty(t, ch)
				require.LessOrEqual(t, len(ch), ciChunk)
			}
		}
		for _, d := range want {
			p, found := r.search(d)
			require.True(t, found)
			require.Equal(t, d, r.at(p).date)
		}
		p, found := r.search(latest + 1)
		require.False(t, found)
		require.Equal(t, r.end(), p)
		require.False(t, r.valid(p))
	}
}
