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

// onDay reports whether c allows the weekday.
func (c constraints) onDay(wd time.Weekday) bool {
	return c.weekdays == 0 || c.weekdays&(1<<uint(wd)) != 0
}

// allows reports whether c allows the local time lt: its weekday, and its
// minute inside the window and outside quiet hours.
func (c constraints) allows(lt time.Time) bool {
	mod := lt.Hour()*60 + lt.Minute()
	return c.onDay(lt.Weekday()) && (c.window == nil || c.window.contains(mod)) &&
		(c.quiet == nil || !c.quiet.contains(mod))
}

// span is a half-open range [lo, hi) of minutes after midnight.
type span struct{ lo, hi int }

// spans returns the times of day inside the window and outside quiet
// hours, in order (at most three spans); n is 0 when the window lies
// entirely in quiet hours.
func (c constraints) spans() (out [4]span, n int) {
	in, nin := [2]span{{0, 24 * 60}}, 1
	if w := c.window; w != nil {
		if w.start < w.end {
			in[0] = span{w.start, w.end}
		} else {
			in, nin = [2]span{{0, w.end}, {w.start, 24 * 60}}, 2
		}
	}
	out0, nout := [2]span{{0, 24 * 60}}, 1
	if q := c.quiet; q != nil {
		if q.start < q.end {
			out0, nout = [2]span{{0, q.start}, {q.end, 24 * 60}}, 2
		} else {
			out0[0] = span{q.end, q.start}
		}
	}
	// Both lists are ordered and disjoint, so the intersections come out
	// in order.
	for _, a := range in[:nin] {
		for _, b := range out0[:nout] {
			if lo, hi := max(a.lo, b.lo), min(a.hi, b.hi); lo < hi {
				out[n] = span{lo, hi}
				n++
			}
		}
	}
	return out, n
}

// searchDays bounds the local dates next looks at after t's. The allowed
// times repeat every week, except on a day with a DST change, when a gap
// can swallow them: two weeks and a day always reach an ordinary one.
const searchDays = 15

// next returns when something due at t may happen under c in loc: t itself
// when c allows it, else the first allowed wall time after it, as follows;
// false when there is none (a window lying entirely in quiet hours).
//
//   - Wall times are walked on local calendar dates, never by adding
//     hours. An allowed wall time is on an allowed weekday, inside the
//     window and outside quiet hours.
//   - When t's weekday is allowed, the result is the first allowed wall
//     time after t: later on t's date, else on the first later date that
//     has one, from its midnight: the earliest wall time meeting c.
//   - When t's weekday is not allowed, the result keeps t's time of day:
//     on the first later allowed date with any allowed time, the first
//     allowed time at or after t's time of day, or, when that date has
//     none so late, its first allowed time (so Monday 23:00 with quiet
//     hours 22:00–08:00 and only Tuesdays allowed is Tuesday 08:00).
//   - A wall time becomes an instant as in localTime: one the clock skips
//     (a spring-forward gap) moves forward by the gap, and counts only if
//     the time it then shows is allowed too; one the clock shows twice is
//     the first, unless t is already in the second pass. So a window that
//     opens inside a gap opens the gap's length later (02:30 at 03:30),
//     and the result's own local time always meets c.
//   - When t's weekday is allowed and t is in the first pass of a
//     clock-back overlap, the instants of the second pass count too, in
//     real time: the clock shows wall times there that are not after t's,
//     which the walk above never returns to. So in New York, quiet hours
//     01:30–04:00 at 01:53 EDT on the day clocks go back end at 01:00 EST,
//     7 minutes later, not at 04:00 EST.
//
// FuzzConstraintsNext and TestConstraintsNextMatchesScan check this
// against a minute-by-minute scan.
func (c constraints) next(t time.Time, loc *time.Location) (time.Time, bool) {
	if c.none() {
		return t, true
	}
	lt := t.In(loc)
	if c.allows(lt) {
		return t, true
	}
	sp, n := c.spans()
	if n == 0 {
		return time.Time{}, false
	}
	keep := !c.onDay(lt.Weekday())
	u, ok := c.walk(t, lt, loc, sp[:n], keep)
	if !keep {
		if r, rok := c.repeated(t, lt); rok && (!ok || r.Before(u)) {
			return r, true
		}
	}
	return u, ok
}

// walk is next's walk over wall times on local dates (see next), with
// spans c.spans() and keep true when t's weekday is not allowed.
func (c constraints) walk(t, lt time.Time, loc *time.Location, spans []span, keep bool) (time.Time, bool) {
	day := dayScan{t: t, loc: loc, tod: lt.Hour()*3600 + lt.Minute()*60 + lt.Second(), spans: spans}
	day.y, day.mo, day.d = lt.Date()
	if !keep {
		if u, ok := day.first(c, 0, day.tod+1); ok {
			return u, true
		}
	}
	for i := 1; i <= searchDays; i++ {
		if !c.onDay((lt.Weekday() + time.Weekday(i%7)) % 7) {
			continue
		}
		if keep {
			if u, ok := day.first(c, i, day.tod); ok {
				return u, true
			}
		}
		if u, ok := day.first(c, i, 0); ok {
			return u, true
		}
	}
	return time.Time{}, false
}

// repeated returns the first instant whose local time c allows in the
// second pass of a clock-back overlap that t (lt is t in next's location)
// is in the first pass of, if any: the instants after t at which the
// clock shows a wall time not after t's. It steps through them a local
// minute at a time; allowance only changes on whole minutes.
func (c constraints) repeated(t, lt time.Time) (time.Time, bool) {
	_, end := lt.ZoneBounds()
	if end.IsZero() {
		return time.Time{}, false
	}
	_, before := lt.Zone()
	_, after := end.Zone()
	back := time.Duration(before-after) * time.Second
	if back <= 0 || !t.Add(back).After(end) {
		// No clock-back next, or t is before its first pass.
		return time.Time{}, false
	}
	for u, stop := end, end.Add(back); u.Before(stop); u = u.Add(time.Minute - time.Duration(u.Second())*time.Second - time.Duration(u.Nanosecond())) {
		if c.allows(u) {
			return u, true
		}
	}
	return time.Time{}, false
}

// dayScan looks for allowed wall times on the dates after t's (see next).
type dayScan struct {
	t     time.Time
	loc   *time.Location
	y     int
	mo    time.Month
	d     int
	tod   int // t's local time of day, in seconds
	spans []span
}

// first returns the first allowed wall time on the date i days after t's,
// from the second of the day from on, as an instant not before t.
func (s *dayScan) first(c constraints, i, from int) (time.Time, bool) {
	for _, sp := range s.spans {
		// Allowance only changes on whole minutes; past from, step by them.
		for w := max(sp.lo*60, from); w < sp.hi*60; w = (w/60 + 1) * 60 {
			u := localTime(s.y, s.mo, s.d+i, 0, 0, w, s.loc)
			if u.Before(s.t) {
				// t is in the second pass of an autumn overlap: the wall
				// time comes round again this far after t.
				u = s.t.Add(time.Duration((i*86400+w-s.tod))*time.Second - time.Duration(s.t.Nanosecond()))
			}
			if c.allows(u.In(s.loc)) {
				return u, true
			}
			// w lies in a DST gap and moved to a time c does not allow:
			// try the next minute. Past the gap the clock shows w itself,
			// which the span allows.
		}
	}
	return time.Time{}, false
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
