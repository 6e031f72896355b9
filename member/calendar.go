package member

import "time"

// dayStart returns the first instant of the local date y-m-d in loc; the
// date is normalized as time.Date does (day 32 of January is 1 February).
// Where a DST gap swallows local midnight, the day starts at the transition.
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if t.Hour() >= 12 {
		// Midnight does not exist and time.Date resolved it into the
		// previous day: the day begins where that zone period ends.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			t = end
		}
	}
	return t
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

// ExpiresAt returns when points earned at earned expire under r in loc:
// the zero time for ExpireNever, otherwise a local midnight (see ExpiryKind).
func (r ExpiryRule) ExpiresAt(earned time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := earned.In(loc).Date()
	switch r.Kind {
	case ExpireAfterDays:
		return dayStart(y, m, d+r.Days+1, loc)
	case ExpireEndOfPeriod:
		k := r.Periods + 1
		switch r.Unit {
		case Year:
			return dayStart(y+k, time.January, 1, loc)
		case Quarter:
			q := (int(m) - 1) / 3
			return dayStart(y, time.Month(q*3+3*k+1), 1, loc)
		case Month:
			return dayStart(y, m+time.Month(k), 1, loc)
		}
	}
	return time.Time{}
}
