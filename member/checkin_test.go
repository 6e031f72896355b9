package member_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// ladder is the check-in rule of the issue: 5 points on days 1–6, 50 points
// and a coupon on day 7, a 7-day cycle, two make-ups a month at 20 points.
func ladder() member.CheckInRule {
	return member.CheckInRule{
		Tenant: tenant,
		Ladder: []member.CheckInStep{
			{Day: 1, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 5}}},
			{Day: 7, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 50}, {Kind: scrm.RewardCoupon, Template: "c-7day"}}},
		},
		Cycle:          7,
		MakeUpPerMonth: 2,
		MakeUpCost:     20,
	}
}

func newCheckInFixture(t testing.TB) *fixture {
	t.Helper()
	f := newFixture(t, standard())
	_, err := f.svc.PutCheckInRule(bg, ladder())
	require.NoError(t, err)
	return f
}

func (f *fixture) checkIn(t testing.TB, c scrm.CustomerID) member.CheckInResult {
	t.Helper()
	r, err := f.svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: c})
	require.NoError(t, err)
	return r
}

func (f *fixture) coupons(c scrm.CustomerID) int {
	n := 0
	for _, g := range f.grants.list() {
		if g.Customer == c && g.Reward.Kind == scrm.RewardCoupon {
			n++
		}
	}
	return n
}

func TestCheckInLadderAndCycle(t *testing.T) {
	f := newCheckInFixture(t)
	var points int64
	for day := 1; day <= 15; day++ {
		r := f.checkIn(t, "C1")
		assert.Equal(t, day, r.Streak, "day %d", day)
		wantCycle := (day-1)%7 + 1
		assert.Equal(t, wantCycle, r.CycleDay, "day %d", day)
		assert.False(t, r.Replayed)
		if wantCycle == 7 {
			require.Len(t, r.Rewards, 2)
			points += 50
		} else {
			require.Len(t, r.Rewards, 1)
			points += 5
		}
		assert.True(t, time.Date(2026, 3, 1+day, 0, 0, 0, 0, shanghai).Equal(r.Date), "day %d: %s", day, r.Date)
		f.clock.Advance(24 * time.Hour)
	}
	assert.Equal(t, int64(165), points)
	assert.Equal(t, points, f.account(t, "C1").Points, "the ladder's points reached the ledger")
	assert.Equal(t, 2, f.coupons("C1"), "a coupon on each day 7")
}

func TestCheckInTwiceADay(t *testing.T) {
	f := newCheckInFixture(t)
	first := f.checkIn(t, "C1")
	f.clock.Advance(10 * time.Hour) // 20:00, the same local day
	again := f.checkIn(t, "C1")
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Date, again.Date)
	assert.Equal(t, first.Streak, again.Streak)
	assert.Equal(t, int64(5), f.account(t, "C1").Points, "granted once")

	// 50 goroutines checking in on the same (next) day: exactly one records.
	f.clock.Advance(14 * time.Hour)
	var wg sync.WaitGroup
	results := make([]member.CheckInResult, 50)
	errs := make([]error, 50)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1"})
		}()
	}
	wg.Wait()
	fresh := 0
	for i, r := range results {
		require.NoError(t, errs[i])
		assert.Equal(t, 2, r.Streak)
		if !r.Replayed {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh)
	assert.Equal(t, int64(10), f.account(t, "C1").Points)
	cal, err := f.svc.CheckInCalendar(bg, tenant, "C1", f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, int64(2), cal.Total)
}

func TestCheckInMissedDayResets(t *testing.T) {
	f := newCheckInFixture(t)
	f.checkIn(t, "C1")
	f.clock.Advance(24 * time.Hour)
	assert.Equal(t, 2, f.checkIn(t, "C1").Streak)
	f.clock.Advance(48 * time.Hour) // a day missed
	assert.Equal(t, 1, f.checkIn(t, "C1").Streak)
}

func TestCheckInTimes(t *testing.T) {
	f := newCheckInFixture(t)
	_, err := f.svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1", At: start.Add(time.Hour)})
	requireField(t, err, scrm.ErrInvalid, "At")
	_, err = f.svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1", At: start.Add(-24 * time.Hour)})
	requireField(t, err, scrm.ErrInvalid, "At")
	_, err = f.svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: ""})
	requireField(t, err, scrm.ErrInvalid, "Customer")
	_, err = f.store.CheckInState(bg, tenant, "C1")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")

	// A tap at 23:59:58 that arrives at 00:00:30 counts for the day it was
	// made.
	f.clock.Set(time.Date(2026, 3, 3, 0, 0, 30, 0, shanghai))
	r, err := f.svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1", At: time.Date(2026, 3, 2, 23, 59, 58, 0, shanghai)})
	require.NoError(t, err)
	assert.Equal(t, "2026-03-02", r.Date.Format("2006-01-02"))
	assert.Equal(t, 2, f.checkIn(t, "C1").Streak, "and today continues it")
}

func requireField(t *testing.T, err error, code error, field string) {
	t.Helper()
	require.ErrorIs(t, err, code)
	var se *scrm.Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, field, se.Field)
}

func TestCheckInAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	clock := scrmtest.NewClock(time.Date(2026, 3, 7, 23, 30, 0, 0, ny)) // DST starts 8 March 02:00
	svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock, Location: ny}})
	rule := ladder()
	rule.Ladder = nil
	_, err = svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	for i, at := range []time.Time{
		time.Date(2026, 3, 7, 23, 30, 0, 0, ny),
		time.Date(2026, 3, 8, 0, 30, 0, 0, ny), // the 23-hour day
		time.Date(2026, 3, 8, 23, 59, 0, 0, ny),
		time.Date(2026, 3, 9, 0, 1, 0, 0, ny),
	} {
		clock.Set(at)
		r, err := svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1"})
		require.NoError(t, err)
		want := []int{1, 2, 2, 3}[i]
		assert.Equal(t, want, r.Streak, "%s", at)
		assert.Equal(t, i == 2, r.Replayed, "%s", at)
		y, m, d := at.Date()
		assert.Equal(t, time.Date(y, m, d, 0, 0, 0, 0, ny), r.Date)
	}
}

func TestMakeUp(t *testing.T) {
	f := newCheckInFixture(t)
	adjust := func(key string, points int64) {
		t.Helper()
		_, err := f.svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: key, Points: points, Reason: "test", Operator: "op"})
		require.NoError(t, err)
	}
	adjust("adj-1", 100)
	// Monday 2 and Tuesday 3 March checked in, Wednesday missed, Thursday
	// 5 March checked in: a new streak.
	f.checkIn(t, "C1")
	f.clock.Advance(24 * time.Hour)
	f.checkIn(t, "C1")
	f.clock.Advance(48 * time.Hour)
	assert.Equal(t, 1, f.checkIn(t, "C1").Streak)
	require.Equal(t, int64(115), f.account(t, "C1").Points)

	wed := time.Date(2026, 3, 4, 12, 0, 0, 0, shanghai)
	r, err := f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-1", Date: wed})
	require.NoError(t, err)
	assert.True(t, r.MakeUp)
	assert.Equal(t, int64(20), r.Cost)
	assert.Equal(t, 3, r.Streak, "Wednesday continues Monday and Tuesday")
	assert.Empty(t, r.Rewards, "a make-up earns no ladder reward")
	assert.Equal(t, int64(95), f.account(t, "C1").Points, "20 points spent")

	// Friday continues the joined streak: day 5.
	f.clock.Advance(24 * time.Hour)
	assert.Equal(t, 5, f.checkIn(t, "C1").Streak)
	assert.Equal(t, int64(100), f.account(t, "C1").Points)

	// The same key replays; the date again under another key conflicts.
	again, err := f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-1", Date: wed})
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, 3, again.Streak)
	_, err = f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-2", Date: wed})
	assert.ErrorIs(t, err, scrm.ErrConflict)
	assert.Equal(t, int64(100), f.account(t, "C1").Points, "charged once")

	// Bad dates: today, the future, last month.
	for _, d := range []time.Time{f.clock.Now(), f.clock.Now().Add(48 * time.Hour), time.Date(2026, 2, 27, 12, 0, 0, 0, shanghai)} {
		_, err = f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-3", Date: d})
		requireField(t, err, scrm.ErrInvalid, "Date")
	}

	// Points short: nothing written.
	adjust("adj-2", -100)
	sun := time.Date(2026, 3, 1, 12, 0, 0, 0, shanghai)
	_, err = f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-4", Date: sun})
	assert.ErrorIs(t, err, scrm.ErrExhausted)
	cal, err := f.svc.CheckInCalendar(bg, tenant, "C1", sun)
	require.NoError(t, err)
	assert.False(t, cal.Days[0].CheckedIn)
	assert.Equal(t, 1, cal.MakeUpsLeft)

	// With points, the second make-up of the month works (and joins the
	// run of 2–6 March), and the third is refused before anything is
	// spent.
	adjust("adj-3", 100)
	r, err = f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-4", Date: sun})
	require.NoError(t, err)
	assert.Equal(t, 1, r.Streak)
	assert.Equal(t, int64(80), f.account(t, "C1").Points)
	f.clock.Advance(48 * time.Hour) // Sunday 8 March; Saturday 7 missed
	_, err = f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-5",
		Date: time.Date(2026, 3, 7, 12, 0, 0, 0, shanghai)})
	assert.ErrorIs(t, err, scrm.ErrExhausted)
	assert.Equal(t, int64(80), f.account(t, "C1").Points)
	cal, err = f.svc.CheckInCalendar(bg, tenant, "C1", f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 0, cal.Streak, "Saturday was missed and not made up")
	assert.Equal(t, int64(6), cal.Total)
}

func TestMakeUpDisabledAndFree(t *testing.T) {
	f := newFixture(t, standard())
	rule := ladder()
	rule.MakeUpPerMonth = 0
	_, err := f.svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	f.clock.Advance(48 * time.Hour)
	_, err = f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "k", Date: start})
	assert.ErrorIs(t, err, scrm.ErrForbidden)

	rule.MakeUpPerMonth, rule.MakeUpCost = 1, 0
	_, err = f.svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	r, err := f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "k", Date: start.Add(24 * time.Hour)})
	require.NoError(t, err)
	assert.Zero(t, r.Cost)
	assert.Equal(t, 2, f.checkIn(t, "C1").Streak, "3 March made up for free, then 4 March")
}

func TestCheckInCalendar(t *testing.T) {
	f := newCheckInFixture(t)
	// 2, 3 and 5 March checked in, 4 March made up; calendar on 6 March.
	f.checkIn(t, "C1")
	f.clock.Advance(24 * time.Hour)
	f.checkIn(t, "C1")
	f.clock.Advance(48 * time.Hour)
	f.checkIn(t, "C1")
	_, err := f.svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "adj", Points: 100, Reason: "test", Operator: "op"})
	require.NoError(t, err)
	_, err = f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu", Date: time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)})
	require.NoError(t, err)
	f.clock.Advance(24 * time.Hour)

	cal, err := f.svc.CheckInCalendar(bg, tenant, "C1", f.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai), cal.Month)
	require.Len(t, cal.Days, 31)
	var got []string
	for _, d := range cal.Days {
		if d.CheckedIn {
			got = append(got, fmt.Sprintf("%d:%d:%v", d.Date.Day(), d.Streak, d.MakeUp))
		}
	}
	assert.Equal(t, []string{"2:1:false", "3:2:false", "4:3:true", "5:1:false"}, got, "streaks as recorded")
	assert.True(t, cal.Days[0].MakeUpAvailable, "1 March was missed")
	assert.False(t, cal.Days[5].MakeUpAvailable, "today is not a make-up day")
	assert.Equal(t, 4, cal.Streak, "2–5 March, not yet broken on the 6th")
	assert.False(t, cal.CheckedInToday)
	assert.Equal(t, int64(4), cal.Total)
	assert.Equal(t, 1, cal.MakeUpsLeft)

	// Another month: nothing, and no make-ups there.
	feb, err := f.svc.CheckInCalendar(bg, tenant, "C1", time.Date(2026, 2, 10, 0, 0, 0, 0, shanghai))
	require.NoError(t, err)
	require.Len(t, feb.Days, 28)
	for _, d := range feb.Days {
		assert.False(t, d.CheckedIn || d.MakeUpAvailable)
	}
	assert.Zero(t, feb.MakeUpsLeft)

	// A customer who never checked in.
	none, err := f.svc.CheckInCalendar(bg, tenant, "nobody", f.clock.Now())
	require.NoError(t, err)
	assert.Zero(t, none.Total)
	assert.Equal(t, 2, none.MakeUpsLeft)
}

func TestCheckInRuleValidation(t *testing.T) {
	svc := member.New(nil, nil, nil)
	tests := []struct {
		name  string
		edit  func(r *member.CheckInRule)
		field string
	}{
		{"no tenant", func(r *member.CheckInRule) { r.Tenant = "" }, "Tenant"},
		{"day zero", func(r *member.CheckInRule) { r.Ladder[0].Day = 0 }, "Ladder[0].Day"},
		{"days out of order", func(r *member.CheckInRule) { r.Ladder[1].Day = 1 }, "Ladder[1].Day"},
		{"zero points", func(r *member.CheckInRule) { r.Ladder[0].Rewards[0].Points = 0 }, "Ladder[0].Rewards[0].Points"},
		{"no reward kind", func(r *member.CheckInRule) { r.Ladder[0].Rewards[0].Kind = "" }, "Ladder[0].Rewards[0].Kind"},
		{"coupon without template", func(r *member.CheckInRule) { r.Ladder[1].Rewards[1].Template = "" }, "Ladder[1].Rewards[1].Template"},
		{"cycle shorter than the ladder", func(r *member.CheckInRule) { r.Cycle = 6 }, "Cycle"},
		{"negative cycle", func(r *member.CheckInRule) { r.Cycle = -1 }, "Cycle"},
		{"negative cost", func(r *member.CheckInRule) { r.MakeUpCost = -20 }, "MakeUpCost"},
		{"make-ups over a month", func(r *member.CheckInRule) { r.MakeUpPerMonth = 32 }, "MakeUpPerMonth"},
		{"coupon without a rewarder", func(r *member.CheckInRule) {}, "Ladder[1].Rewards[1].Kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ladder()
			tc.edit(&r)
			_, err := svc.PutCheckInRule(bg, r)
			requireField(t, err, scrm.ErrInvalid, tc.field)
		})
	}
	_, err := svc.CheckInRule(bg, tenant)
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
	_, err = svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1"})
	assert.ErrorIs(t, err, scrm.ErrNotFound, "no rule, no check-in")
}

// slowCheckIns is a Store whose UpdateCheckIn waits a random moment
// first, widening the window between a make-up's spend and its record.
type slowCheckIns struct{ member.Store }

func (s slowCheckIns) UpdateCheckIn(ctx context.Context, p member.CheckInParams, fn func(tx *member.CheckInTx) error) (member.CheckInRecord, bool, error) {
	time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	return s.Store.UpdateCheckIn(ctx, p, fn)
}

// TestMakeUpConcurrentOneKey: eight requests make up one date with one key
// at once, for many customers. Whatever the interleaving (a request may
// return a spend another one is still recording, and charge the next
// attempt itself), all succeed with the one recorded make-up, and the
// customer is charged exactly once.
func TestMakeUpConcurrentOneKey(t *testing.T) {
	store := slowCheckIns{member.NewMemoryStore()}
	clock := scrmtest.NewClock(time.Date(2026, 3, 10, 10, 0, 0, 0, shanghai))
	svc := member.New(store, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	rule := ladder()
	rule.Ladder = nil
	_, err = svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	date := time.Date(2026, 3, 5, 12, 0, 0, 0, shanghai)
	const customers, n = 40, 8
	retried := 0
	for c := range customers {
		cust := scrm.CustomerID(fmt.Sprintf("C%d", c))
		key := "mu-" + string(cust)
		_, err := svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: cust, IdempotencyKey: "adj-" + string(cust),
			Points: 100, Reason: "test", Operator: "op"})
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: cust, IdempotencyKey: key, Date: date})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err, "customer %s", cust)
		}
		a, err := svc.Account(bg, tenant, cust)
		require.NoError(t, err)
		assert.Equal(t, int64(80), a.Points, "customer %s charged once", cust)
		recs, err := store.CheckIns(bg, member.ListCheckInsParams{Tenant: tenant, Customer: cust, From: 20260301, To: 20260331})
		require.NoError(t, err)
		require.Len(t, recs, 1, "customer %s", cust)
		assert.True(t, recs[0].MakeUp)
		assert.Equal(t, key, recs[0].Key)
		cal, err := svc.CheckInCalendar(bg, tenant, cust, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, 1, cal.MakeUpsLeft, "customer %s: one make-up used", cust)
		page, err := svc.Entries(bg, member.ListEntriesParams{Tenant: tenant, Customer: cust})
		require.NoError(t, err)
		if len(page.Entries) > 2 {
			retried++
		}
	}
	t.Logf("%d of %d customers' make-ups went past the first attempt", retried, customers)
}

// TestMakeUpConcurrentOneKeyFails: eight requests with one key, each past
// the unlocked check (it saw the state before the month's last make-up was
// used), race to make up a date and all fail: no points are kept.
func TestMakeUpConcurrentOneKeyFails(t *testing.T) {
	store := &staleCheckIns{Store: slowCheckIns{member.NewMemoryStore()}}
	clock := scrmtest.NewClock(time.Date(2026, 3, 10, 10, 0, 0, 0, shanghai))
	svc := member.New(store, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	rule := ladder()
	rule.Ladder, rule.MakeUpPerMonth = nil, 1
	_, err = svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	for c := range 10 {
		cust := scrm.CustomerID(fmt.Sprintf("C%d", c))
		_, err := svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: cust, IdempotencyKey: "adj-" + string(cust),
			Points: 100, Reason: "test", Operator: "op"})
		require.NoError(t, err)
		store.snap = &member.CheckInState{}
		_, err = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: cust, IdempotencyKey: "first-" + string(cust),
			Date: time.Date(2026, 3, 4, 12, 0, 0, 0, shanghai)})
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: cust, IdempotencyKey: "mu-" + string(cust),
					Date: time.Date(2026, 3, 5, 12, 0, 0, 0, shanghai)})
			}()
		}
		wg.Wait()
		store.snap = nil
		for _, err := range errs {
			require.ErrorIs(t, err, scrm.ErrExhausted, "customer %s", cust)
		}
		a, err := svc.Account(bg, tenant, cust)
		require.NoError(t, err)
		assert.Equal(t, int64(80), a.Points, "customer %s paid for the first make-up only", cust)
	}
}

// failCheckIns is a Store whose next UpdateCheckIn fails with
// ErrUnavailable without calling the update: a make-up that crashed
// between spending and recording.
type failCheckIns struct {
	member.Store
	fail bool
}

func (s *failCheckIns) UpdateCheckIn(ctx context.Context, p member.CheckInParams, fn func(tx *member.CheckInTx) error) (member.CheckInRecord, bool, error) {
	if s.fail {
		s.fail = false
		return member.CheckInRecord{}, false, scrm.Errorf(scrm.ErrUnavailable, "test", "connection lost")
	}
	return s.Store.UpdateCheckIn(ctx, p, fn)
}

// TestMakeUpRetryAfterCrash: a make-up whose spend was saved but whose
// record was not (the store went away in between) is retried with the same
// key: the stranded spend is returned and the retry charged afresh, so the
// customer pays once for the one make-up.
func TestMakeUpRetryAfterCrash(t *testing.T) {
	store := &failCheckIns{Store: member.NewMemoryStore()}
	clock := scrmtest.NewClock(time.Date(2026, 3, 10, 10, 0, 0, 0, shanghai))
	svc := member.New(store, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	rule := ladder()
	rule.Ladder = nil
	_, err = svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	_, err = svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "adj", Points: 100, Reason: "test", Operator: "op"})
	require.NoError(t, err)
	points := func() int64 {
		a, err := svc.Account(bg, tenant, "C1")
		require.NoError(t, err)
		return a.Points
	}
	req := member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu", Date: time.Date(2026, 3, 5, 12, 0, 0, 0, shanghai)}
	store.fail = true
	_, err = svc.MakeUp(bg, req)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.Equal(t, int64(80), points(), "spent, not recorded, not returned")

	r, err := svc.MakeUp(bg, req)
	require.NoError(t, err)
	assert.False(t, r.Replayed)
	assert.Equal(t, int64(20), r.Cost)
	assert.Equal(t, int64(80), points(), "the stranded spend returned, the retry charged")
	again, err := svc.MakeUp(bg, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, int64(80), points(), "a replay charges nothing")

	page, err := svc.Entries(bg, member.ListEntriesParams{Tenant: tenant, Customer: "C1"})
	require.NoError(t, err)
	var keys []string
	for _, e := range page.Entries {
		keys = append(keys, string(e.Kind)+" "+e.Key)
	}
	assert.Equal(t, []string{"adjust adj", "spend checkin.makeup:mu", "spend checkin.makeup.1:mu", "refund checkin.makeup.refund:mu"}, keys)
}
