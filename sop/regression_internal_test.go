package sop

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// next must return the earliest instant that meets every constraint.
func TestNextWeekdayThenQuietIsEarliest(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	c := constraints{weekdays: 1 << time.Tuesday, quiet: &window{start: 22 * 60, end: 8 * 60}}
	from := time.Date(2026, 3, 2, 23, 0, 0, 0, sh) // Monday 23:00
	got, ok := c.next(from, sh)
	require.True(t, ok)
	want := time.Date(2026, 3, 3, 8, 0, 0, 0, sh) // Tuesday 08:00 is allowed
	assert.True(t, got.Equal(want), "got %s, want %s", got, want)
}

func TestNextOccurrenceAcrossFallBack(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	occ := time.Date(2026, 10, 31, 10, 0, 0, 0, ny) // Saturday, EDT
	now := time.Date(2026, 11, 7, 9, 30, 0, 0, ny)  // next Saturday, EST: 168.5 h later
	want := time.Date(2026, 11, 7, 10, 0, 0, 0, ny) // still 30 minutes ahead
	got := nextOccurrence(occ, now, ny)
	assert.True(t, got.Equal(want), "got %s, want %s", got, want)
}

// The retry backoff is base·2^(attempts-1) capped at the maximum, for every
// attempt number: never negative, never past the maximum, never shorter
// than an earlier attempt's.
func TestRetryBackoffCappedForEveryShift(t *testing.T) {
	cases := []struct {
		name        string
		base, limit time.Duration
	}{
		{"defaults", time.Minute, time.Hour},
		{"nanosecond base", time.Nanosecond, time.Duration(1<<63 - 1)},
		{"base above the maximum", 2 * time.Hour, time.Hour},
		{"maximum duration", time.Second, time.Duration(1<<63 - 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prev := time.Duration(0)
			for shift := 0; shift <= 70; shift++ {
				got := retryBackoff(c.base, c.limit, shift+1)
				want := c.limit
				if shift < 63 {
					// base·2^shift, computed without overflow.
					if f := float64(c.base) * float64(uint64(1)<<shift); f < float64(c.limit) {
						want = c.base << shift
					}
				}
				require.Equal(t, want, got, "shift %d", shift)
				require.Positive(t, got, "shift %d", shift)
				require.LessOrEqual(t, got, c.limit, "shift %d", shift)
				require.GreaterOrEqual(t, got, prev, "shift %d", shift)
				prev = got
			}
		})
	}
	assert.Equal(t, time.Minute, retryBackoff(time.Minute, time.Hour, 0), "no attempt yet: the base")
}

// The memory store keeps times as int64 Unix nanoseconds: a time past 2262
// (or before 1678) is clamped to the nearest end, so a far future stays in
// the future instead of wrapping into the past.
func TestNanosSaturate(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, now.UnixNano(), nanos(now))
	assert.Equal(t, int64(0), nanos(time.Time{}))
	far := now.Add(time.Duration(1<<63 - 1))
	assert.Equal(t, int64(math.MaxInt64), nanos(far))
	assert.Equal(t, int64(math.MaxInt64), nanos(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, int64(math.MinInt64), nanos(time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)))
	edge := time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, edge.UnixNano(), nanos(edge))
}
