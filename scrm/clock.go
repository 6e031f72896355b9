package scrm

import "time"

// Clock tells the time. Services never call time.Now; they ask the Clock in
// their Options, so tests and simulations can drive time (see
// scrmtest.NewClock).
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to the Clock interface.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock returns the wall clock.
func SystemClock() Clock { return ClockFunc(time.Now) }

// DefaultLocation returns the time zone calendar logic uses when a tenant has
// none configured: Asia/Shanghai. When the host has no time zone database
// (a scratch container without time/tzdata), it falls back to a fixed UTC+8
// zone named "CST", which is exact for China: it has observed no daylight
// saving time since 1991.
func DefaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// DayStart returns the first instant of the local date y-m-d in loc; the
// date is normalized as time.Date normalizes it (32 January is 1 February).
// Use it, not time.Date(y, m, d, 0, 0, 0, 0, loc), wherever a day, week or
// month begins: the two differ on the days a zone change moves midnight.
//
//   - Where a daylight-saving gap swallows midnight (America/Asuncion on
//     1 October 2023, clocks jumping from 00:00 to 01:00), the day begins
//     at the transition; time.Date resolves the missing midnight to an
//     instant of the previous day (23:00 on 30 September).
//   - Where midnight happens twice (Asia/Amman on 31 October 2014, clocks
//     going back from 01:00 to 00:00), the day begins at the first one;
//     time.Date may return the second.
//   - A date skipped entirely (Pacific/Apia, 30 December 2011) begins,
//     empty, where the next day does.
//
// DayStart is a pure function of its arguments. Like time.Date, it panics
// if loc is nil.
func DayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if start, end := t.ZoneBounds(); (start.IsZero() || t.Sub(start) > 48*time.Hour) &&
		(end.IsZero() || end.Sub(t) > 48*time.Hour) {
		// The usual case: no zone change within two days either side, so
		// the local clock runs evenly around t, which is then the date's
		// only midnight.
		return t
	}
	return dayStartNearChange(y, m, d, loc, t)
}

// dayStartNearChange is DayStart for a date near a zone change; t is
// time.Date's midnight of it.
func dayStartNearChange(y int, m time.Month, d int, loc *time.Location, t time.Time) time.Time {
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // the normalized date
	wy, wm, wd := day.Date()
	onDate := func(t time.Time) bool {
		ty, tm, td := t.Date()
		return ty == wy && tm == wm && td == wd
	}
	if !onDate(t) {
		// Midnight falls in a gap and time.Date resolved it with the offset
		// after the gap, to an instant of an earlier date. Every instant of
		// that zone period shows a time before the gap, so the day begins
		// where the period ends.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
		return t
	}
	// t shows the date; find the earliest instant that does, walking back
	// one zone period at a time while the instant before a period's start
	// still shows the date (a fall-back transition during it). Within a
	// period the local clock runs with the instant, so there the date
	// starts at the period's own midnight, or at the period's start if
	// that midnight lies before it.
	for {
		start, _ := t.ZoneBounds()
		_, off := t.Zone()
		first := time.Unix(day.Unix()-int64(off), 0).In(loc)
		if start.IsZero() {
			return first
		}
		if first.Before(start) {
			first = start
		}
		before := start.Add(-time.Nanosecond)
		if !onDate(before) {
			return first
		}
		t = before
	}
}
