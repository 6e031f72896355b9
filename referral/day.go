package referral

import (
	"sync/atomic"
	"time"
)

// dayCache remembers the last calendar date it formatted, so that lucky
// draws, which count per customer and day, do not allocate the same
// "2006-01-02" again and again. It is safe for concurrent use; its zero
// value is ready.
type dayCache struct {
	last atomic.Pointer[cachedDay]
}

type cachedDay struct {
	year  int
	month time.Month
	day   int
	s     string
}

// of returns t's calendar date in loc, "2006-01-02": a day runs from one
// local midnight to the next, whatever their distance (23 or 25 hours
// across DST).
func (c *dayCache) of(t time.Time, loc *time.Location) string {
	y, m, d := t.In(loc).Date()
	if last := c.last.Load(); last != nil && last.year == y && last.month == m && last.day == d {
		return last.s
	}
	cd := &cachedDay{year: y, month: m, day: d, s: time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Format(time.DateOnly)}
	c.last.Store(cd)
	return cd.s
}
