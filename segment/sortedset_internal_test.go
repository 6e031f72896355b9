package segment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// TestIDSetModel checks idSet against a map through random inserts and
// removals, enough to split and empty many blocks.
func TestIDSetModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s idSet
	model := map[scrm.CustomerID]bool{}
	for step := 0; step < 40_000; step++ {
		id := scrm.CustomerID(fmt.Sprintf("c%05d", r.IntN(5000)))
		if r.IntN(3) == 0 {
			assert.Equal(t, model[id], s.remove(id), "remove %s", id)
			delete(model, id)
		} else {
			assert.Equal(t, !model[id], s.insert(id), "insert %s", id)
			model[id] = true
		}
		if step%5000 == 0 || step == 39_999 {
			want := make([]scrm.CustomerID, 0, len(model))
			for id := range model {
				want = append(want, id)
			}
			slices.Sort(want)
			require.Equal(t, len(want), s.n)
			got, more := s.after("", len(want)+1, nil)
			require.False(t, more)
			require.Equal(t, want, got)
			for _, blk := range s.blocks {
				require.NotEmpty(t, blk)
				require.LessOrEqual(t, len(blk), idBlock)
			}
			// Paging from arbitrary cursors.
			for k := 0; k < 20 && len(want) > 0; k++ {
				i := r.IntN(len(want))
				page, _ := s.after(string(want[i]), 7, nil)
				assert.Equal(t, len(want[i+1:min(i+8, len(want))]), len(page))
				if len(page) > 0 {
					assert.Equal(t, want[i+1:min(i+8, len(want))], page)
				}
			}
		}
	}
}
