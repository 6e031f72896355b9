package member

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
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
		require.Equal(t, numDate(n), civilDate(n), d)
		require.Equal(t, numDate(n+1), nextDate(numDate(n)), d)
		require.Equal(t, numDate(n-1), prevDate(numDate(n)), d)
		for _, k := range []int64{0, 1, 27, 28, 31, 365, 800} {
			require.Equal(t, k, daysBetween(numDate(n), numDate(n+k)), d)
		}
	}
	for n := int64(-719000); n < 2900000; n += 997 { // years 1–9909
		require.Equal(t, numDate(n), civilDate(n), n)
		require.Equal(t, n, dateNum(civilDate(n)), n)
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
		// Two months from a day in 2023–2026: across month and year ends
		// and the leap day of 2024.
		base := dateNum(20230101) + rng.Int64N(4*365)
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
		for _, later := range []int64{60, 62, 63, 70, 90, 121, 122, 123} {
			today := numDate(base + later)
			pruned := runsPrune(slices.Clone(runs), today)
			require.NotEmpty(t, pruned)
			assert.Equal(t, runs[len(runs)-1], pruned[len(pruned)-1])
			for _, r := range runs {
				keep := dateNum(r.Last) >= dateNum(today)-runsKeep || r == runs[len(runs)-1]
				assert.Equal(t, keep, slices.Contains(pruned, r), "seed %d today %d run %v", seed, today, r)
			}
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

// TestCheckInGrantKey pins checkInGrantKey to the deriveID form it writes
// faster, for dates of every length and reward indexes on both sides of
// the one-digit path, and for customers long enough to need the hashed
// form.
func TestCheckInGrantKey(t *testing.T) {
	for _, c := range []string{"C1", "customer-x", string(slices.Repeat([]byte("c"), 110))} {
		for _, date := range []int32{20261123, 10000101, 99991231, 10000100, 99991232, 9991231, 1, 0, -20261123, 2147483647} {
			for _, i := range []int{0, 1, 9, 10, 11, 123, -1} {
				want := deriveID("checkin", c, strconv.Itoa(int(date)), strconv.Itoa(i))
				require.Equal(t, want, checkInGrantKey(scrm.CustomerID(c), date, i), "%s %d %d", c, date, i)
			}
		}
	}
}
