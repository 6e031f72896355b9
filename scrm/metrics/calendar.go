package metrics

import (
	"fmt"
	"math"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// calendar divides time into the months or ISO weeks of the tenant's zone.
// starts[i] is the first instant of bucket i (unix nanoseconds), and the
// last entry ends the last bucket, so a bucket lookup is a binary search
// over a handful of instants instead of a time-zone conversion per event.
type calendar struct {
	loc    *time.Location
	period Period
	starts []int64
}

// periodStart returns the first instant of the period containing t: the
// start (scrm.DayStart, so a midnight a DST gap swallows is handled) of
// the first day of its month, or of the Monday of its ISO week.
func periodStart(p Period, t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	if p == Week {
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return scrm.DayStart(t.Year(), t.Month(), t.Day()-back, loc)
	}
	return scrm.DayStart(t.Year(), t.Month(), 1, loc)
}

// nextStart returns the first instant of the period after the one that
// contains s. Dates are built from calendar fields, so a DST change inside
// the period does not shift its end, and the result is always after s.
func nextStart(p Period, s time.Time, loc *time.Location) time.Time {
	s = s.In(loc)
	if p == Week {
		back := (int(s.Weekday()) + 6) % 7
		return scrm.DayStart(s.Year(), s.Month(), s.Day()-back+7, loc)
	}
	return scrm.DayStart(s.Year(), s.Month()+1, 1, loc)
}

// The calendar's range: a bucket boundary must fit in unix nanoseconds
// (years 1677 to 2262), so from and to are clamped to whole years inside
// it, leaving room for the period around each end.
var (
	calendarMin = time.Date(1678, time.January, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	calendarMax = time.Date(2262, time.January, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

// newCalendar covers the periods from the one containing from to the one
// containing to (unix nanoseconds, from ≤ to), both clamped to
// [calendarMin, calendarMax]: about 30,000 ISO weeks at the very most.
func newCalendar(p Period, loc *time.Location, from, to int64) calendar {
	if p == "" {
		p = Month
	}
	from = min(max(from, calendarMin), calendarMax)
	to = min(max(to, from), calendarMax)
	c := calendar{loc: loc, period: p}
	s := periodStart(p, time.Unix(0, from), loc)
	end := time.Unix(0, to)
	for {
		c.starts = append(c.starts, s.UnixNano())
		if s.After(end) {
			break
		}
		next := nextStart(p, s, loc)
		if !next.After(s) {
			// Unreachable: every period holds at least one day. Without
			// this the loop would spin forever if that ever broke.
			panic("metrics: calendar period " + s.String() + " does not advance")
		}
		s = next
	}
	return c
}

// len returns the number of periods covered.
func (c *calendar) len() int { return len(c.starts) - 1 }

// index returns the period containing t, or -1 outside the calendar.
func (c *calendar) index(t int64) int {
	lo, hi := 0, len(c.starts)-1 // starts[lo] ≤ t < starts[hi] once t is inside
	if t < c.starts[lo] || t >= c.starts[hi] {
		return -1
	}
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if c.starts[m] <= t {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// start returns the first instant of period i in the tenant's zone.
func (c *calendar) start(i int) time.Time { return time.Unix(0, c.starts[i]).In(c.loc) }

// label names period i: "2006-01" for a month, "2006-W01" for an ISO week.
func (c *calendar) label(i int) string { return periodLabel(c.period, c.start(i)) }

func periodLabel(p Period, s time.Time) string {
	if p == Week {
		y, w := s.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	}
	return s.Format("2006-01")
}

// validPeriod reports whether p is a known period or empty (Month).
func validPeriod(p Period) bool { return p == "" || p == Month || p == Week }

// nanosOf returns t in unix nanoseconds, clamped to the int64 range, with
// the zero time as math.MinInt64.
func nanosOf(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Year() < 1678:
		return math.MinInt64
	case t.Year() > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}
