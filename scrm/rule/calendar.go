package rule

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Calendar helpers for time operators. They parse by hand so that string
// attributes holding dates do not allocate during Eval.

// parseDate parses "YYYY-MM-DD" into a valid calendar date.
func parseDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func validDate(y, m, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// dayNumber returns the number of days from 1970-01-01 to the civil date
// y-m-d (proleptic Gregorian), after H. Hinnant's days_from_civil.
func dayNumber(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// anniversary returns the day number of the birthday m-d in year y; a 29
// February birthday falls on 28 February in non-leap years.
func anniversary(y, m, d int) int64 {
	if m == 2 && d == 29 && !isLeap(y) {
		d = 28
	}
	return dayNumber(y, m, d)
}

// daysUntilBirthday returns how many days from the local date of now until
// the next anniversary (0 when it is today).
func daysUntilBirthday(m, d int, now time.Time, loc *time.Location) int64 {
	y, tm, td := now.In(loc).Date()
	today := dayNumber(y, int(tm), td)
	next := anniversary(y, m, d)
	if next < today {
		next = anniversary(y+1, m, d)
	}
	return next - today
}

// startOfDay returns the first instant of y-m-d in loc: local midnight, or
// the transition when a DST gap swallows midnight (see scrm.DayStart).
func startOfDay(y, m, d int, loc *time.Location) time.Time {
	return scrm.DayStart(y, time.Month(m), d, loc)
}

// timeOf reads a time attribute: a non-zero time.Time (or *time.Time), a
// date string "YYYY-MM-DD" (its start in loc), or an RFC 3339 string. The
// last form goes through time.Parse and may allocate; store times as
// time.Time to keep evaluation allocation-free.
func timeOf(v any, loc *time.Location) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, !x.IsZero()
	case *time.Time:
		if x == nil || x.IsZero() {
			return time.Time{}, false
		}
		return *x, true
	case string:
		if y, m, d, ok := parseDate(x); ok {
			return startOfDay(y, m, d, loc), true
		}
		if len(x) < 20 || x[4] != '-' || x[10] != 'T' {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	if s, ok := namedString(v); ok {
		return timeOf(s, loc)
	}
	return time.Time{}, false
}

// monthDayOf reads a birthday attribute in any form scrm.BirthdayOf
// accepts (a time.Time, "YYYY-MM-DD", "MM-DD", or RFC 3339 as a time.Time
// reads after a JSON round trip).
func monthDayOf(v any) (m, d int, ok bool) { return scrm.BirthdayOf(v) }
