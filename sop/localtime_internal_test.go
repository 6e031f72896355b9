package sop

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestLocalTimeAcrossDST(t *testing.T) {
	ny := zone(t, "America/New_York")
	syd := zone(t, "Australia/Sydney")
	for _, tc := range []struct {
		name string
		loc  *time.Location
		y    int
		mo   time.Month
		d    int
		h, m int
		want string // RFC 3339 in the zone
	}{
		{"ordinary", ny, 2026, 3, 7, 10, 0, "2026-03-07T10:00:00-05:00"},
		{"gap moves forward by the gap", ny, 2026, 3, 8, 2, 30, "2026-03-08T03:30:00-04:00"},
		{"gap start", ny, 2026, 3, 8, 2, 0, "2026-03-08T03:00:00-04:00"},
		{"after the gap", ny, 2026, 3, 8, 10, 0, "2026-03-08T10:00:00-04:00"},
		{"overlap takes the first", ny, 2026, 11, 1, 1, 30, "2026-11-01T01:30:00-04:00"},
		{"after the overlap", ny, 2026, 11, 1, 2, 0, "2026-11-01T02:00:00-05:00"},
		{"southern gap", syd, 2026, 10, 4, 2, 15, "2026-10-04T03:15:00+11:00"},
		{"southern overlap", syd, 2026, 4, 5, 2, 30, "2026-04-05T02:30:00+11:00"},
		{"normalizes days", ny, 2026, 2, 30, 9, 0, "2026-03-02T09:00:00-05:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := localTime(tc.y, tc.mo, tc.d, tc.h, tc.m, 0, tc.loc)
			assert.Equal(t, tc.want, got.Format(time.RFC3339))
		})
	}
}

func TestParseClock(t *testing.T) {
	for s, want := range map[string]int{"00:00": 0, "10:00": 600, "23:59": 1439, "08:05": 485} {
		got, err := parseClock(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "24:00", "25:00", "10:60", "9:00", "10:0", "1000", "ab:cd", "10:00 ", "-1:00", "１０:００"} {
		_, err := parseClock(s)
		assert.Error(t, err, s)
	}
}

func TestConstraintsNext(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	ny := zone(t, "America/New_York")
	d := func(loc *time.Location, mo time.Month, day, h, m int) time.Time {
		return time.Date(2026, mo, day, h, m, 0, 0, loc)
	}
	quiet := &window{start: 22 * 60, end: 8 * 60}
	for _, tc := range []struct {
		name string
		c    constraints
		loc  *time.Location
		from time.Time
		want time.Time
	}{
		{"free", constraints{}, sh, d(sh, 3, 4, 3, 7), d(sh, 3, 4, 3, 7)},
		{"quiet before midnight", constraints{quiet: quiet}, sh, d(sh, 3, 4, 23, 10), d(sh, 3, 5, 8, 0)},
		{"quiet after midnight", constraints{quiet: quiet}, sh, d(sh, 3, 5, 3, 0), d(sh, 3, 5, 8, 0)},
		{"quiet edge", constraints{quiet: quiet}, sh, d(sh, 3, 5, 8, 0), d(sh, 3, 5, 8, 0)},
		{"window later today", constraints{window: &window{600, 720}}, sh, d(sh, 3, 4, 9, 0), d(sh, 3, 4, 10, 0)},
		{"window tomorrow", constraints{window: &window{600, 720}}, sh, d(sh, 3, 4, 12, 0), d(sh, 3, 5, 10, 0)},
		{"weekend", constraints{weekdays: 1<<time.Saturday | 1<<time.Sunday}, sh, d(sh, 3, 4, 15, 0), d(sh, 3, 7, 15, 0)},
		{"weekend window", constraints{weekdays: 1 << time.Saturday, window: &window{600, 1200}}, sh, d(sh, 3, 7, 21, 0), d(sh, 3, 14, 10, 0)},
		{"weekday keeps the time of day", constraints{weekdays: 1 << time.Monday}, sh, d(sh, 3, 7, 10, 0), d(sh, 3, 9, 10, 0)},
		{"window inside quiet hours", constraints{window: &window{23 * 60, 23*60 + 30}, quiet: quiet}, sh, d(sh, 3, 4, 9, 0), time.Time{}},
		{"opening in a DST gap", constraints{window: &window{150, 600}}, ny, d(ny, 3, 8, 1, 0), d(ny, 3, 8, 3, 30)},
		{"quiet end across fall back", constraints{quiet: &window{0, 120}}, ny, d(ny, 11, 1, 0, 30), time.Date(2026, 11, 1, 2, 0, 0, 0, ny)},
		{"quiet end in the repeated hour", constraints{quiet: &window{90, 240}}, ny, time.Date(2026, 11, 1, 5, 53, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.c.next(tc.from, tc.loc)
			if tc.want.IsZero() {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.True(t, got.Equal(tc.want), "got %s, want %s", got.In(tc.loc), tc.want)
		})
	}
}

func TestPeriods(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 3, 4, 15, 0, 0, 0, sh) // Wednesday
	for _, tc := range []struct {
		p          Period
		start, end time.Time
	}{
		{Day, time.Date(2026, 3, 4, 0, 0, 0, 0, sh), time.Date(2026, 3, 5, 0, 0, 0, 0, sh)},
		{Week, time.Date(2026, 3, 2, 0, 0, 0, 0, sh), time.Date(2026, 3, 9, 0, 0, 0, 0, sh)},
		{Month, time.Date(2026, 3, 1, 0, 0, 0, 0, sh), time.Date(2026, 4, 1, 0, 0, 0, 0, sh)},
	} {
		s, e := periodStart(tc.p, now, sh)
		assert.True(t, s.Equal(tc.start), "%s start %s", tc.p, s)
		assert.True(t, e.Equal(tc.end), "%s end %s", tc.p, e)
	}
	s, _ := periodStart(Week, time.Date(2026, 3, 8, 23, 0, 0, 0, sh), sh) // Sunday belongs to the week of Monday the 2nd
	assert.True(t, s.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, sh)))
}

func TestJobIDs(t *testing.T) {
	assert.Equal(t, "sop:t1:p:c1:2:s1", JobID("t1", "p", "c1", 2, "s1"))
	a := JobID("t1", "a:b", "c", 1, "s")
	b := JobID("t1", "a", "b:c", 1, "s")
	assert.NotEqual(t, a, b, "parts with ':' are digested, not joined")
	assert.Regexp(t, `^sop:h:[0-9a-f]{32}$`, a)
	long := make([]byte, 120)
	for i := range long {
		long[i] = 'x'
	}
	assert.LessOrEqual(t, len(JobID("t1", string(long), "c", 1, "s")), 128)
	occ := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	assert.Equal(t, "sop:t1:cal:c:0:g1:20260302T0200Z", PostID("t1", "c", 0, "g1", occ))
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"10:00", "23:59", "25:00", "9:00", "", "ab:cd", "00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseClock(s)
		if err != nil {
			return
		}
		if m < 0 || m >= 24*60 {
			t.Fatalf("%q parsed to %d minutes", s, m)
		}
		if back := time.Date(2000, 1, 1, m/60, m%60, 0, 0, time.UTC).Format("15:04"); back != s {
			t.Fatalf("%q parsed to %s", s, back)
		}
	})
}

// FuzzConstraintsNext checks that next returns an instant no earlier than
// its input that meets every constraint, in a zone with DST (and one
// without), and that it is the instant scanNext finds.
func FuzzConstraintsNext(f *testing.F) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Skip("no time zone database")
	}
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		f.Skip("no time zone database")
	}
	f.Add(int64(1772953200), uint16(600), uint16(720), uint8(0x41), uint16(1320), uint16(480), false)
	f.Add(int64(1793512800), uint16(60), uint16(180), uint8(0), uint16(0), uint16(0), false)
	f.Add(int64(1772431200), uint16(0), uint16(0), uint8(1<<time.Tuesday), uint16(1320), uint16(480), true)
	f.Add(int64(1772866800), uint16(150), uint16(200), uint8(1<<time.Sunday), uint16(0), uint16(0), false)
	f.Fuzz(func(t *testing.T, unix int64, ws, we uint16, days uint8, qs, qe uint16, shanghai bool) {
		loc := ny
		if shanghai {
			loc = sh
		}
		from := time.Unix(1767225600+unix%(3*365*86400), 0) // 2026-2028
		c := constraints{weekdays: days & 0x7f}
		if ws%1440 != we%1440 {
			c.window = &window{int(ws % 1440), int(we % 1440)}
		}
		if qs%1440 != qe%1440 {
			c.quiet = &window{int(qs % 1440), int(qe % 1440)}
		}
		got, ok := c.next(from, loc)
		want, wantOK := scanNext(c, from, loc)
		if ok != wantOK || !got.Equal(want) {
			t.Fatalf("%+v next(%s) = %s, %v; the scan finds %s, %v", describe(c), from.In(loc), got.In(loc), ok, want.In(loc), wantOK)
		}
		if !ok {
			return
		}
		if got.Before(from) {
			t.Fatalf("next(%s) = %s, earlier", from, got)
		}
		lt := got.In(loc)
		mod := lt.Hour()*60 + lt.Minute()
		if c.weekdays != 0 && c.weekdays&(1<<uint(lt.Weekday())) == 0 {
			t.Fatalf("next(%s) = %s, a forbidden weekday", from, lt)
		}
		if c.window != nil && !c.window.contains(mod) {
			t.Fatalf("next(%s) = %s, outside the window %v", from, lt, *c.window)
		}
		if c.quiet != nil && c.quiet.contains(mod) {
			t.Fatalf("next(%s) = %s, inside quiet hours %v", from, lt, *c.quiet)
		}
	})
}

// TestConstraintsNextMatchesScan compares next with scanNext for random
// constraints and start times over a few weeks around the 2026 DST changes
// of New York (8 March, 1 November), in New York and in Shanghai.
func TestConstraintsNextMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260308, 20261101))
	// Boundaries near the small hours, where the DST changes are, and at
	// ordinary times of day.
	clock := func() int {
		if rng.IntN(2) == 0 {
			return rng.IntN(5*60) / 15 * 15
		}
		return rng.IntN(24*60) / 30 * 30
	}
	n := 1500
	if testing.Short() {
		n = 300
	}
	for _, name := range []string{"America/New_York", "Asia/Shanghai"} {
		loc := zone(t, name)
		for _, base := range []time.Time{time.Date(2026, 2, 28, 0, 0, 0, 0, loc), time.Date(2026, 10, 24, 0, 0, 0, 0, loc)} {
			for range n {
				var c constraints
				if rng.IntN(2) == 0 {
					c.window = &window{clock(), clock()}
				}
				if rng.IntN(2) == 0 {
					c.quiet = &window{clock(), clock()}
				}
				if rng.IntN(2) == 0 {
					c.weekdays = uint8(rng.IntN(0x7f)) + 1
				}
				if (c.window != nil && c.window.start == c.window.end) || (c.quiet != nil && c.quiet.start == c.quiet.end) {
					continue
				}
				from := base.Add(time.Duration(rng.Int64N(int64(21*24*time.Hour))) / time.Second * time.Second)
				got, ok := c.next(from, loc)
				want, wantOK := scanNext(c, from, loc)
				if ok != wantOK || !got.Equal(want) {
					t.Fatalf("%s %+v: next(%s) = %s, %v; the scan finds %s, %v", name, describe(c), from.In(loc), got.In(loc), ok, want.In(loc), wantOK)
				}
			}
		}
	}
}

// scanNext is next by brute force, written from next's documented rule:
// it tries the wall times after t's one minute at a time, and turns each
// into an instant by looking at both offsets around it.
func scanNext(c constraints, t time.Time, loc *time.Location) (time.Time, bool) {
	meets := func(lt time.Time) bool {
		mod := lt.Hour()*60 + lt.Minute()
		return (c.weekdays == 0 || c.weekdays&(1<<uint(lt.Weekday())) != 0) &&
			(c.window == nil || c.window.contains(mod)) && (c.quiet == nil || !c.quiet.contains(mod))
	}
	lt := t.In(loc)
	if meets(lt) {
		return t, true
	}
	y, mo, d := lt.Date()
	tod := lt.Hour()*3600 + lt.Minute()*60 + lt.Second()
	// instant returns the first instant not before t at which the clock
	// shows second w of the date i days after t's; for a time the clock
	// skips, the instant that reading it with the offset before the gap
	// gives.
	instant := func(i, w int) (time.Time, bool) {
		wall := time.Date(y, mo, d+i, 0, 0, w, 0, time.UTC).Unix()
		_, before := time.Unix(wall-86400, 0).In(loc).Zone()
		_, after := time.Unix(wall+86400, 0).In(loc).Zone()
		var best time.Time
		shown := false
		for _, off := range []int{before, after} {
			u := time.Unix(wall-int64(off), 0)
			if _, o := u.In(loc).Zone(); o != off {
				continue
			}
			shown = true
			if !u.Before(t) && (best.IsZero() || u.Before(best)) {
				best = u
			}
		}
		if !shown {
			best = time.Unix(wall-int64(before), 0)
		}
		return best, !best.IsZero() && !best.Before(t)
	}
	// scan tries the wall times of the date i days after t's from second
	// lo (included) to hi (excluded): lo itself, then each whole minute.
	scan := func(i, lo, hi int) (time.Time, bool) {
		wd := time.Date(y, mo, d+i, 12, 0, 0, 0, time.UTC).Weekday()
		if c.weekdays != 0 && c.weekdays&(1<<uint(wd)) == 0 {
			return time.Time{}, false
		}
		for w := lo; w < hi; w = (w/60 + 1) * 60 {
			mod := w / 60
			if (c.window != nil && !c.window.contains(mod)) || (c.quiet != nil && c.quiet.contains(mod)) {
				continue
			}
			if u, ok := instant(i, w); ok && meets(u.In(loc)) {
				return u, true
			}
		}
		return time.Time{}, false
	}
	keep := c.weekdays != 0 && c.weekdays&(1<<uint(lt.Weekday())) == 0
	walk := func() (time.Time, bool) {
		if !keep {
			if u, ok := scan(0, tod+1, 86400); ok {
				return u, true
			}
		}
		for i := 1; i <= 15; i++ {
			if keep {
				if u, ok := scan(i, tod, 86400); ok {
					return u, true
				}
			}
			if u, ok := scan(i, 0, 86400); ok {
				return u, true
			}
		}
		return time.Time{}, false
	}
	u, ok := walk()
	// When t's weekday is allowed, the instants after t at which the clock
	// shows a wall time not after t's (the second pass of a clock-back t
	// is in the first pass of) count too, in real time.
	if _, o0 := t.In(loc).Zone(); !keep {
		if _, o1 := t.Add(26 * time.Hour).In(loc).Zone(); o1 < o0 {
			wall := func(v time.Time) time.Time {
				l := v.In(loc)
				return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
			}
			for v := t.Truncate(time.Minute).Add(time.Minute); v.Before(t.Add(26*time.Hour)) && (!ok || v.Before(u)); v = v.Add(time.Minute) {
				if !wall(v).After(wall(t)) && meets(v.In(loc)) {
					return v, true
				}
			}
		}
	}
	return u, ok
}

func describe(c constraints) string {
	var b strings.Builder
	if c.window != nil {
		fmt.Fprintf(&b, "window %02d:%02d-%02d:%02d ", c.window.start/60, c.window.start%60, c.window.end/60, c.window.end%60)
	}
	if c.quiet != nil {
		fmt.Fprintf(&b, "quiet %02d:%02d-%02d:%02d ", c.quiet.start/60, c.quiet.start%60, c.quiet.end/60, c.quiet.end%60)
	}
	if c.weekdays != 0 {
		for wd := time.Sunday; wd <= time.Saturday; wd++ {
			if c.weekdays&(1<<uint(wd)) != 0 {
				b.WriteString(wd.String()[:3] + " ")
			}
		}
	}
	return strings.TrimSpace(b.String())
}
