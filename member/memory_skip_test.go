package member

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// TestSkipIndexMoves: the memory store's index by (time, customer) (a skip
// list whose nodes are in the items, with a finger for inserts) stays
// ordered through random moves, runs of moves to one time in customer
// order (what RunPlans and Sweep do), and removals; after lists from a
// key.
func TestSkipIndexMoves(t *testing.T) {
	type item struct{ node skipNode[item] }
	rng := rand.New(rand.NewPCG(1, 2))
	x := newSkipIndex[item]()
	items := make([]*item, 2000)
	perm := rng.Perm(len(items))
	for i := range items {
		it := &item{}
		it.node.item, it.node.c = it, scrm.CustomerID(fmt.Sprintf("c%05d", perm[i]))
		items[i] = it
	}
	check := func() {
		var want []*skipNode[item]
		for _, it := range items {
			if it.node.ok {
				want = append(want, &it.node)
			}
		}
		slices.SortFunc(want, func(a, b *skipNode[item]) int {
			if a.before(b.at, b.c) {
				return -1
			}
			return 1
		})
		var got []*skipNode[item]
		for n := x.head[0]; n != nil; n = n.next0 {
			got = append(got, n)
		}
		require.Equal(t, len(want), len(got))
		for i := range want {
			require.Same(t, want[i], got[i], "position %d", i)
			require.Same(t, got[i], &got[i].item.node)
		}
		for i := 1; i < x.level; i++ { // every level is a sorted sublist
			for n := x.head[i]; n != nil && n.up[i-1] != nil; n = n.up[i-1] {
				m := n.up[i-1]
				require.True(t, n.before(m.at, m.c))
			}
		}
		if len(want) > 10 { // after a key lists from the next one
			k := idxKey{at: want[9].at, c: want[9].c}
			require.Same(t, want[10], x.after(&k))
		}
	}
	for round := 0; round < 30; round++ {
		switch round % 3 {
		case 0: // random moves, some out of the index
			for _, it := range items {
				x.move(&it.node, int64(rng.IntN(50)), rng.IntN(10) != 0)
			}
		case 1: // the due ones in order to one later time
			var due []*skipNode[item]
			for n := x.head[0]; n != nil && n.at <= 25; n = n.next0 {
				due = append(due, n)
			}
			for _, n := range due {
				x.move(n, 100+int64(round), true)
			}
		default: // moves interleaved with removals of finger nodes
			for i, it := range items {
				if i%3 == 0 {
					x.move(&it.node, int64(rng.IntN(200)), rng.IntN(4) != 0)
				}
			}
		}
		check()
	}
}
