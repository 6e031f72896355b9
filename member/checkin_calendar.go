package member

import (
	"context"
	"errors"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// CheckInCalendar is a customer's check-in month, as a calendar page shows
// it.
type CheckInCalendar struct {
	// Month is the first instant of the month, in the tenant's zone.
	Month time.Time
	// Days are the month's dates, in order.
	Days []CalendarDay
	// Streak is the customer's current streak: the run of consecutive days
	// that ends today or yesterday (0 when it is broken); CheckedInToday
	// tells whether today is already in it.
	Streak         int
	CheckedInToday bool
	// Total is the days checked in ever.
	Total int64
	// MakeUpsLeft is how many make-ups the customer may still use this
	// month; 0 for any other month.
	MakeUpsLeft int
}

// CalendarDay is one date of a CheckInCalendar.
type CalendarDay struct {
	// Date is the first instant of the local date.
	Date      time.Time
	CheckedIn bool
	MakeUp    bool
	// Streak and Rewards are the check-in's, as recorded.
	Streak  int
	Rewards []scrm.Reward
	// MakeUpAvailable tells that MakeUp can fill the date: missed, before
	// today in the current month, with make-ups left.
	MakeUpAvailable bool
}

// CheckInCalendar returns a customer's check-ins in the local month of
// month (zero means the current one), with the current streak and the
// make-ups left.
//
// Errors: ErrInvalid for a malformed tenant or customer; ErrNotFound when
// the tenant has no check-in rule.
func (s *Service) CheckInCalendar(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, month time.Time) (CheckInCalendar, error) {
	const op = "member.CheckInCalendar"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return CheckInCalendar{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return CheckInCalendar{}, err
	}
	rule, err := s.checkInRule(ctx, op, tenant)
	if err != nil {
		return CheckInCalendar{}, err
	}
	now := s.clock.Now()
	if month.IsZero() {
		month = now
	}
	loc := s.opts.LocationOf(tenant)
	y, m, _ := month.In(loc).Date()
	n := time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
	first := int32(y*10000 + int(m)*100 + 1)
	last := first + int32(n) - 1
	recs, err := s.store.CheckIns(ctx, ListCheckInsParams{Tenant: tenant, Customer: customer, From: first, To: last})
	if err != nil {
		return CheckInCalendar{}, wrap(op, err)
	}
	st, err := s.store.CheckInState(ctx, tenant, customer)
	if err != nil && !errors.Is(err, scrm.ErrNotFound) {
		return CheckInCalendar{}, wrap(op, err)
	}
	today := dayKey(now, loc)
	cal := CheckInCalendar{Month: dateStart(first, loc), Streak: runsStreak(st.Runs, today),
		CheckedInToday: runsHave(st.Runs, today), Total: st.Total}
	if today/100 == first/100 {
		used := 0
		if st.MakeUpMonth == monthKey(now, loc) {
			used = int(st.MakeUps)
		}
		cal.MakeUpsLeft = max(0, rule.MakeUpPerMonth-used)
	}
	cal.Days = make([]CalendarDay, n)
	for i := range cal.Days {
		date := first + int32(i)
		d := &cal.Days[i]
		d.Date = dateStart(date, loc)
		for len(recs) > 0 && recs[0].Date < date {
			recs = recs[1:]
		}
		if len(recs) > 0 && recs[0].Date == date {
			r := recs[0]
			d.CheckedIn, d.MakeUp, d.Streak, d.Rewards = true, r.MakeUp, r.Streak, r.Rewards
			continue
		}
		d.MakeUpAvailable = date < today && cal.MakeUpsLeft > 0
	}
	return cal, nil
}
