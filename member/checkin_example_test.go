package member_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// Daily check-in: 5 points a day, 50 on the seventh day of a streak; a
// missed day is made up for 20 points and the streak goes on.
func ExampleService_CheckIn() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, scrm.DefaultLocation())) // a Monday
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	if _, err := svc.PutProgram(ctx, member.Program{Tenant: "cafe"}); err != nil { // the points ledger
		fmt.Println(err)
		return
	}
	if _, err := svc.PutCheckInRule(ctx, member.CheckInRule{
		Tenant: "cafe",
		Ladder: []member.CheckInStep{
			{Day: 1, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 5}}},
			{Day: 7, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 50}}},
		},
		Cycle:          7,
		MakeUpPerMonth: 2,
		MakeUpCost:     20,
	}); err != nil {
		fmt.Println(err)
		return
	}

	for day := 1; day <= 7; day++ {
		if day == 4 {
			clock.Advance(24 * time.Hour) // Thursday forgotten
			continue
		}
		r, err := svc.CheckIn(ctx, member.CheckInRequest{Tenant: "cafe", Customer: "C1"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s streak %d, +%d points\n", r.Date.Format("Mon 01-02"), r.Streak, r.Rewards[0].Points)
		if day == 5 {
			// Friday: make up Thursday, joining Monday–Wednesday to today.
			m, err := svc.MakeUp(ctx, member.MakeUpRequest{Tenant: "cafe", Customer: "C1", IdempotencyKey: "makeup-0305",
				Date: clock.Now().Add(-24 * time.Hour)})
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("%s made up for %d points\n", m.Date.Format("Mon 01-02"), m.Cost)
		}
		clock.Advance(24 * time.Hour)
	}
	// Monday: day 8 of the streak is day 1 of the cycle; checking in again
	// the same day changes nothing.
	r, _ := svc.CheckIn(ctx, member.CheckInRequest{Tenant: "cafe", Customer: "C1"})
	clock.Advance(9 * time.Hour)
	again, _ := svc.CheckIn(ctx, member.CheckInRequest{Tenant: "cafe", Customer: "C1"})
	fmt.Printf("%s streak %d, cycle day %d, +%d points; again at 17:00: replayed %v\n",
		r.Date.Format("Mon 01-02"), r.Streak, r.CycleDay, r.Rewards[0].Points, again.Replayed)
	cal, _ := svc.CheckInCalendar(ctx, "cafe", "C1", clock.Now())
	a, _ := svc.Account(ctx, "cafe", "C1")
	fmt.Printf("streak %d, %d days in total, %d make-up left, %d points\n", cal.Streak, cal.Total, cal.MakeUpsLeft, a.Points)
	// Output:
	// Mon 03-02 streak 1, +5 points
	// Tue 03-03 streak 2, +5 points
	// Wed 03-04 streak 3, +5 points
	// Fri 03-06 streak 1, +5 points
	// Thu 03-05 made up for 20 points
	// Sat 03-07 streak 6, +5 points
	// Sun 03-08 streak 7, +50 points
	// Mon 03-09 streak 8, cycle day 1, +5 points; again at 17:00: replayed true
	// streak 8, 8 days in total, 1 make-up left, 60 points
}
