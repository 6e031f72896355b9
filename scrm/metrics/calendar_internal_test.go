package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// In America/Asuncion local midnight of 2023-10-01 did not exist (clocks
// jumped from 00:00 to 01:00 -03). time.Date(2023, 10, 1, 0, 0, 0, 0, loc)
// normalises to 2023-09-30 23:00 -04, an instant in September; a calendar
// built on it would map that instant back to itself (newCalendar's loop
// would never end) and October's bucket would start inside 30 September
// and be labelled "2023-09".
//
// This test calls the helpers directly so that a regression fails here
// rather than hanging a report.
func TestCalendarMidnightDSTGap(t *testing.T) {
	loc, err := time.LoadLocation("America/Asuncion")
	require.NoError(t, err)
	sep1 := time.Date(2023, 9, 1, 0, 0, 0, 0, loc)

	oct := nextStart(Month, sep1, loc)
	assert.Equal(t, time.October, oct.In(loc).Month(), "the first instant of October is in October, got %s", oct.In(loc))
	assert.Equal(t, "2023-10", periodLabel(Month, oct.In(loc)))

	nov := nextStart(Month, oct, loc)
	assert.True(t, nov.After(oct), "nextStart must advance: nextStart(%s) = %s", oct.In(loc), nov.In(loc))

	late := time.Date(2023, 9, 30, 23, 30, 0, 0, loc) // still 30 September locally
	require.Equal(t, time.September, late.Month())
	assert.True(t, late.Before(oct), "30 Sep 23:30 belongs to September's bucket")

	s := periodStart(Month, time.Date(2023, 10, 15, 12, 0, 0, 0, loc), loc)
	assert.Equal(t, time.October, s.In(loc).Month(), "periodStart of an October instant is in October, got %s", s.In(loc))
}

// Every bucket starts where scrm.DayStart says its first day (the 1st, or
// the ISO week's Monday) starts, including the Mondays and 1sts whose
// midnight a DST gap swallowed, west and east of UTC.
func TestCalendarStartsAreDayStarts(t *testing.T) {
	cases := []struct {
		zone     string
		from, to time.Time
	}{
		{"America/Asuncion", time.Date(1989, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)}, // Monday 1 October 1990
		{"America/Asuncion", time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"America/Sao_Paulo", time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC)}, // Monday 6 October 1997
		{"Asia/Tehran", time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)},       // Monday 22 March 2021
		{"America/Havana", time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"Asia/Shanghai", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		require.NoError(t, err)
		for _, p := range []Period{Month, Week} {
			cal := newCalendar(p, loc, c.from.UnixNano(), c.to.UnixNano())
			require.Greater(t, cal.len(), 10, "%s %s", c.zone, p)
			seen := map[string]bool{}
			for i := range cal.starts {
				s := cal.start(i)
				y, m, d := s.Date()
				want := scrm.DayStart(y, m, 1, loc)
				if p == Week {
					require.Equal(t, time.Monday, s.Weekday(), "%s %s", c.zone, s)
					want = scrm.DayStart(y, m, d, loc)
				}
				require.True(t, want.Equal(s), "%s %s: bucket %d starts at %s, want %s", c.zone, p, i, s, want)
				if i > 0 {
					require.True(t, s.After(cal.start(i-1)), "%s %s: bucket %d", c.zone, p, i)
					assert.Equal(t, i-1, cal.index(s.UnixNano()-1))
				}
				if i < cal.len() {
					assert.Equal(t, i, cal.index(s.UnixNano()))
					l := cal.label(i)
					assert.False(t, seen[l], "%s %s: label %s twice", c.zone, p, l)
					seen[l] = true
				}
			}
		}
	}
}

// newCalendar ends for any bounds, however far apart: they are clamped to
// whole years the unix nanosecond range holds.
func TestCalendarExtremeBounds(t *testing.T) {
	loc := scrm.DefaultLocation()
	for _, p := range []Period{Month, Week} {
		cal := newCalendar(p, loc, math.MinInt64, math.MaxInt64)
		assert.Less(t, cal.len(), 32000, p)
		for i := 1; i < len(cal.starts); i++ {
			require.Greater(t, cal.starts[i], cal.starts[i-1], "%s bucket %d", p, i)
		}
		assert.Contains(t, []int{1677, 1678}, cal.start(0).Year(), p) // the period holding 1 January 1678
		assert.LessOrEqual(t, cal.starts[0], calendarMin, p)
		assert.Equal(t, 2262, cal.start(cal.len()).Year(), p)
		assert.Greater(t, cal.starts[len(cal.starts)-1], calendarMax, p)
		cal = newCalendar(p, loc, math.MaxInt64, math.MaxInt64)
		assert.Equal(t, 1, cal.len(), p)
	}
}
