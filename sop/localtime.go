package sop

import (
	"fmt"
	"time"
)

// parseClock parses a local time of day "HH:MM" (two digits each, 00:00 to
// 23:59) into minutes after midnight.
func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf(`want "HH:MM", got %q`, s)
	}
	d := func(c byte) int {
		if c < '0' || c > '9' {
			return -100
		}
		return int(c - '0')
	}
	h, m := d(s[0])*10+d(s[1]), d(s[3])*10+d(s[4])
	if h < 0 || m < 0 {
		return 0, fmt.Errorf(`want "HH:MM", got %q`, s)
	}
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("%q is not a time of day (00:00 to 23:59)", s)
	}
	return h*60 + m, nil
}

// localTime returns the instant the wall clock in loc shows y-mo-d hh:mm:ss
// (out-of-range values normalize, as in time.Date). Unlike time.Date it is
// exact around DST changes: a wall time that does not exist (in a spring
// gap) moves forward by the length of the gap (02:30 becomes 03:30), and
// one that happens twice (in an autumn overlap) takes the first.
func localTime(y int, mo time.Month, d, hh, mm, ss int, loc *time.Location) time.Time {
	w := time.Date(y, mo, d, hh, mm, ss, 0, time.UTC).Unix()
	// The zone offsets around the wall time: transitions are months apart,
	// so a day on either side sees the offsets before and after any
	// transition near w.
	_, before := time.Unix(w-86400, 0).In(loc).Zone()
	_, after := time.Unix(w+86400, 0).In(loc).Zone()
	var best int64
	found := false
	for _, off := range [2]int{before, after} {
		u := w - int64(off)
		if _, o := time.Unix(u, 0).In(loc).Zone(); o == off && (!found || u < best) {
			best, found = u, true
		}
	}
	if !found {
		// A gap: read the wall time with the offset in force before it,
		// which lands the same distance past the gap's end.
		best = w - int64(before)
	}
	return time.Unix(best, 0).In(loc)
}

// window is a parsed Window: minutes after midnight, start included, end
// excluded; end < start wraps past midnight.
type window struct{ start, end int }

func (w window) contains(mod int) bool {
	if w.start < w.end {
		return mod >= w.start && mod < w.end
	}
	return mod >= w.start || mod < w.end
}

func parseWindow(w *Window) (*window, string, error) {
	if w == nil {
		return nil, "", nil
	}
	s, err := parseClock(w.Start)
	if err != nil {
		return nil, "Start", err
	}
	e, err := parseClock(w.End)
	if err != nil {
		return nil, "End", err
	}
	if s == e {
		return nil, "End", fmt.Errorf("equals Start %s: an empty window", w.Start)
	}
	return &window{start: s, end: e}, "", nil
}

// constraints limit when something may happen: inside window, on one of
// weekdays (a bit mask; 0 means any day), outside quiet.
type constraints struct {
	window   *window
	weekdays uint8
	quiet    *window
}

func (c constraints) none() bool { return c.window == nil && c.weekdays == 0 && c.quiet == nil }

// maxHops bounds the jumps next makes; satisfiable constraints need fewer
// than 30 (a week of weekday jumps, each followed by a window and a quiet
// jump).
const maxHops = 64

// next returns the earliest instant at or after t that meets c in loc, and
// false when there is none (a window lying entirely in quiet hours).
func (c constraints) next(t time.Time, loc *time.Location) (time.Time, bool) {
	if c.none() {
		return t, true
	}
	for range maxHops {
		lt := t.In(loc)
		y, mo, d := lt.Date()
		mod := lt.Hour()*60 + lt.Minute()
		var nt time.Time
		switch {
		case c.weekdays != 0 && c.weekdays&(1<<uint(lt.Weekday())) == 0:
			// The next day at the same local time of day, or at the
			// window's opening when that time is outside the window.
			hh, mm, ss := lt.Clock()
			if c.window != nil && !c.window.contains(mod) {
				hh, mm, ss = c.window.start/60, c.window.start%60, 0
			}
			nt = localTime(y, mo, d+1, hh, mm, ss, loc)
		case c.window != nil && !c.window.contains(mod):
			nt = at(t, lt, mod, c.window.start, loc)
		case c.quiet != nil && c.quiet.contains(mod):
			nt = at(t, lt, mod, c.quiet.end, loc)
		default:
			return t, true
		}
		t = nt
	}
	return time.Time{}, false
}

// at returns the next instant after t (whose local time is lt, mod minutes
// after midnight) at which the local clock shows target: today when target
// is later in the day, else tomorrow.
func at(t, lt time.Time, mod, target int, loc *time.Location) time.Time {
	y, mo, d := lt.Date()
	if mod >= target {
		return localTime(y, mo, d+1, target/60, target%60, 0, loc)
	}
	nt := localTime(y, mo, d, target/60, target%60, 0, loc)
	if !nt.After(t) {
		// t lies in the second pass of an autumn overlap and the first
		// occurrence of target is behind it: count the minutes instead.
		nt = t.Truncate(time.Minute).Add(time.Duration(target-mod) * time.Minute)
	}
	return nt
}

// periodStart returns the start of the calendar period holding t in loc,
// and the start of the next one.
func periodStart(p Period, t time.Time, loc *time.Location) (start, end time.Time) {
	lt := t.In(loc)
	y, mo, d := lt.Date()
	switch p {
	case Day:
		return localTime(y, mo, d, 0, 0, 0, loc), localTime(y, mo, d+1, 0, 0, 0, loc)
	case Week:
		back := (int(lt.Weekday()) + 6) % 7 // days since Monday
		return localTime(y, mo, d-back, 0, 0, 0, loc), localTime(y, mo, d-back+7, 0, 0, 0, loc)
	default: // Month
		return localTime(y, mo, 1, 0, 0, 0, loc), localTime(y, mo+1, 1, 0, 0, 0, loc)
	}
}
