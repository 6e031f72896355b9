package member

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// numDate returns the yyyymmdd date of a day number (the inverse of
// dateNum), through the time package.
func numDate(n int64) int32 {
	y, m, d := time.Unix(n*86400, 0).UTC().Date()
	return int32(y*10000 + int(m)*100 + d)
}

func TestCivilDays(t *testing.T) {
	for d := time.Date(1899, 12, 25, 12, 0, 0, 0, time.UTC); d.Year() < 2201; d = d.AddDate(0, 0, 13) {
		y, m, day := d.Date()
		n := civilDays(y, int(m), day)
		require.Equal(t, (d.Unix()-43200)/86400, n, d) // noon: an exact day
		require.Equal(t, int32(y*10000+int(m)*100+day), numDate(n), d)
	}
	assert.Equal(t, "2026-03-09", dateString(20260309))
	assert.Equal(t, int32(20240301), numDate(dateNum(20240229)+1))
}

// TestRunsProperty inserts random dates in random order and checks the runs
// against the set of dates: sorted, disjoint, not adjacent, covering exactly
// the set, and each insert reporting the date's position in its run.
func TestRunsProperty(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		base := dateNum(20260201)
		set := map[int64]bool{}
		var runs []DayRun
		for i := 0; i < 40; i++ {
			n := base + rng.Int64N(60)
			if set[n] {
				require.True(t, runsHave(runs, numDate(n)))
				continue
			}
			require.False(t, runsHave(runs, numDate(n)))
			var pos int
			runs, pos = runsInsert(runs, numDate(n))
			set[n] = true
			first := n
			for set[first-1] {
				first--
			}
			require.Equal(t, int(n-first+1), pos, "seed %d", seed)
			// The runs are exactly the set.
			var got []int64
			for j, r := range runs {
				if j > 0 {
					require.Greater(t, dateNum(r.First), dateNum(runs[j-1].Last)+1, "disjoint and not adjacent")
				}
				for d := dateNum(r.First); d <= dateNum(r.Last); d++ {
					got = append(got, d)
				}
			}
			var want []int64
			for d := range set {
				want = append(want, d)
			}
			slices.Sort(want)
			require.Equal(t, want, got, "seed %d", seed)
		}
		// Pruning keeps the latest run and every run ending within
		// runsKeep days.
		today := numDate(base + 70)
		pruned := runsPrune(slices.Clone(runs), today)
		require.NotEmpty(t, pruned)
		assert.Equal(t, runs[len(runs)-1], pruned[len(pruned)-1])
		for _, r := range runs {
			keep := dateNum(r.Last) >= dateNum(today)-runsKeep || r == runs[len(runs)-1]
			assert.Equal(t, keep, slices.Contains(pruned, r))
		}
	}
}

func TestRunsStreak(t *testing.T) {
	runs := []DayRun{{First: 20260301, Last: 20260303}, {First: 20260305, Last: 20260308}}
	assert.Equal(t, 4, runsStreak(runs, 20260308), "today included")
	assert.Equal(t, 4, runsStreak(runs, 20260309), "yesterday's streak is still alive")
	assert.Equal(t, 0, runsStreak(runs, 20260310), "broken")
	assert.Equal(t, 0, runsStreak(nil, 20260310))
}
