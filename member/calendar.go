package member

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// dayStart returns the first instant of the local date y-m-d in loc, which
// is not always local midnight (see scrm.DayStart).
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	return scrm.DayStart(y, m, d, loc)
}

// dayKey numbers t's local date as yyyymmdd.
func dayKey(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return int32(y*10000 + int(m)*100 + d)
}

// monthKey numbers t's local month as year*12 + month-1.
func monthKey(t time.Time, loc *time.Location) int32 {
	y, m, _ := t.In(loc).Date()
	return int32(y*12 + int(m) - 1)
}

// monthStart returns the first instant of the month numbered k (monthKey).
func monthStart(k int32, loc *time.Location) time.Time {
	return dayStart(int(k/12), time.Month(k%12+1), 1, loc)
}

// addMonthsClamped returns the date months after y-m-d, with the day clamped
// to the target month's last day (31 August + 6 months = 28 or 29 February).
func addMonthsClamped(y int, m time.Month, d, months int) (int, time.Month, int) {
	first := time.Date(y, m+time.Month(months), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.Year(), first.Month(), min(d, last)
}

// periodEnd returns the end of a tier period of months started at t: the
// period covers the local date months later entirely, so a tier reached on
// 15 March for 6 months is kept through 15 September and the period ends at
// 00:00 on 16 September.
func periodEnd(t time.Time, months int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	y, m, d = addMonthsClamped(y, m, d, months)
	return dayStart(y, m, d+1, loc)
}

// lastExpiryYear is the year whose first local midnight is the latest
// expiry a lot gets: instants past it would leave the range the ledger
// stores (maxUnix, Unix nanoseconds end in 2262).
const lastExpiryYear = 2200

// ExpiresAt returns when points earned at earned expire under r in loc:
// the zero time for ExpireNever, otherwise a local midnight (see ExpiryKind),
// at the latest 00:00 on 1 January 2200 (see ExpiryRule).
func (r ExpiryRule) ExpiresAt(earned time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := earned.In(loc).Date()
	var t time.Time
	switch r.Kind {
	case ExpireAfterDays:
		t = dayStart(y, m, d+r.Days+1, loc)
	case ExpireEndOfPeriod:
		k := r.Periods + 1
		switch r.Unit {
		case Year:
			t = dayStart(y+k, time.January, 1, loc)
		case Quarter:
			q := (int(m) - 1) / 3
			t = dayStart(y, time.Month(q*3+3*k+1), 1, loc)
		case Month:
			t = dayStart(y, m+time.Month(k), 1, loc)
		}
	}
	if !t.IsZero() && t.Year() >= lastExpiryYear {
		t = dayStart(lastExpiryYear, time.January, 1, loc)
	}
	return t
}
