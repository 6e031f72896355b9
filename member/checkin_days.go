package member

import "time"

// Calendar arithmetic of check-ins on local dates written as yyyymmdd. A date
// has no time zone of its own: it is the tenant's local date, found with
// dayKey, and days between dates are counted on the proleptic Gregorian
// calendar, so DST never makes a day 23 or 25 hours long here.

// civilDays returns the number of days from 1970-01-01 to y-m-d.
func civilDays(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

// dateNum returns the day number (civilDays) of a yyyymmdd date.
func dateNum(date int32) int64 {
	return civilDays(int(date/10000), int(date/100%100), int(date%100))
}

// civilDate returns the yyyymmdd date of a day number, the inverse of
// dateNum.
func civilDate(n int64) int32 {
	z := n + 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return int32(y*10000 + m*100 + d)
}

// dateStart returns the first instant of a yyyymmdd date in loc.
func dateStart(date int32, loc *time.Location) time.Time {
	return dayStart(int(date/10000), time.Month(date/100%100), int(date%100), loc)
}

// dateString formats a yyyymmdd date as yyyy-mm-dd.
func dateString(date int32) string {
	b := [10]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'}
	y, m, d := int(date/10000), int(date/100%100), int(date%100)
	for i := 3; i >= 0; i-- {
		b[i] = byte('0' + y%10)
		y /= 10
	}
	b[5], b[6] = byte('0'+m/10), byte('0'+m%10)
	b[8], b[9] = byte('0'+d/10), byte('0'+d%10)
	return string(b[:])
}

// runsInsert adds date to runs (sorted, disjoint and not adjacent),
// extending or joining runs, and returns the runs and the date's position in
// its run (1 for the first date of a run). The date must not be in a run.
// It compares dates as yyyymmdd numbers, which sort as the days do, against
// the dates either side of date.
func runsInsert(runs []DayRun, date int32) ([]DayRun, int) {
	prev, next := prevDate(date), nextDate(date)
	i := 0
	for i < len(runs) && runs[i].Last < prev {
		i++
	}
	switch {
	case i < len(runs) && runs[i].Last == prev:
		runs[i].Last = date
		if i+1 < len(runs) && runs[i+1].First == next {
			runs[i].Last = runs[i+1].Last
			runs = append(runs[:i+1], runs[i+2:]...)
		}
	case i < len(runs) && runs[i].First == next:
		runs[i].First = date
	default:
		runs = append(runs, DayRun{})
		copy(runs[i+1:], runs[i:])
		runs[i] = DayRun{First: date, Last: date}
	}
	return runs, int(daysBetween(runs[i].First, date)) + 1
}

// nextDate returns the yyyymmdd date after date.
func nextDate(date int32) int32 {
	if date%100 < 28 {
		return date + 1
	}
	return civilDate(dateNum(date) + 1)
}

// prevDate returns the yyyymmdd date before date.
func prevDate(date int32) int32 {
	if date%100 > 1 {
		return date - 1
	}
	return civilDate(dateNum(date) - 1)
}

// daysBetween returns the days from the yyyymmdd date a to b.
func daysBetween(a, b int32) int64 {
	if a/100 == b/100 {
		return int64(b - a)
	}
	return dateNum(b) - dateNum(a)
}

// runsHave reports whether date is in one of runs.
func runsHave(runs []DayRun, date int32) bool {
	for _, r := range runs {
		if r.First <= date && date <= r.Last {
			return true
		}
	}
	return false
}

// runsStreak returns the length of the latest run when it reaches today or
// yesterday (the streak a check-in today would continue), else 0.
func runsStreak(runs []DayRun, today int32) int {
	if len(runs) == 0 {
		return 0
	}
	r := runs[len(runs)-1]
	last := dateNum(r.Last)
	if last < dateNum(today)-1 {
		return 0
	}
	return int(last - dateNum(r.First) + 1)
}

// runsKeep is how many days back runs are kept: a make-up reaches at most
// the start of the current month, and a late check-in a day back.
const runsKeep = 62

// runsPrune drops the runs that ended more than runsKeep days before today,
// keeping the latest.
func runsPrune(runs []DayRun, today int32) []DayRun {
	// today-200 is the same day two months back as a yyyymmdd number (or,
	// for a day the month lacks, a number sorting just before the next
	// month's first): at most 61 days back, so a first run ending at or
	// after it is kept, and so are all after it.
	if len(runs) == 0 || runs[0].Last >= today-200 {
		return runs
	}
	lo := dateNum(today) - runsKeep
	k := 0
	for k < len(runs)-1 && dateNum(runs[k].Last) < lo {
		k++
	}
	if k == 0 {
		return runs
	}
	return append(runs[:0], runs[k:]...)
}
