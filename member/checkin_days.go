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
func runsInsert(runs []DayRun, date int32) ([]DayRun, int) {
	n := dateNum(date)
	i := 0
	for i < len(runs) && dateNum(runs[i].Last) < n-1 {
		i++
	}
	switch {
	case i < len(runs) && dateNum(runs[i].Last) == n-1:
		runs[i].Last = date
		if i+1 < len(runs) && dateNum(runs[i+1].First) == n+1 {
			runs[i].Last = runs[i+1].Last
			runs = append(runs[:i+1], runs[i+2:]...)
		}
	case i < len(runs) && dateNum(runs[i].First) == n+1:
		runs[i].First = date
	default:
		runs = append(runs, DayRun{})
		copy(runs[i+1:], runs[i:])
		runs[i] = DayRun{First: date, Last: date}
	}
	return runs, int(n - dateNum(runs[i].First) + 1)
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
