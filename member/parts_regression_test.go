package member_test

import (
	"context"
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

// TestReviewPartsWithdrawSingleTopUpNoExcess: Withdraw's doc promises that
// "Proportional payments from a single top-up never create an excess". A
// single ¥300 top-up (+¥30 bonus), then two proportional payments of ¥6.00
// and ¥0.06: the payments draw 0.55 + 0.01 = 0.56 of bonus, the withdraw
// formula's fair share is round(6.06 × 30/330) = 0.55, so 1 fen of
// principal is kept from the customer.
func TestWithdrawSingleTopUpNoExcess(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "top", "300") // 300 + 30
	r1 := pay(t, svc, "C1", "o1", "6")
	assertDec(t, "0.55", r1.Bonus) // round(600 × 3000/33000) = 55 fen
	r2 := pay(t, svc, "C1", "o2", "0.06")
	assertDec(t, "0.01", r2.Bonus) // round(6 × 2945/32400) = 1 fen
	b, err := svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "294.50", b.Principal)

	w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w"})
	require.NoError(t, err)
	assertDec(t, "0", w.Kept, "a single top-up spent proportionally creates no excess")
	assertDec(t, "294.50", w.Paid, "the whole remaining principal is paid out")
}

// TestReviewPartsCheckInModel drives check-ins and make-ups at random times
// of day (near midnight too) over 2024's leap day and the year end, in
// Shanghai and New York, and compares every result with a model over local
// dates.
func TestCheckInModel(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for _, loc := range []*time.Location{shanghai, ny} {
		for seed := uint64(1); seed <= 6; seed++ {
			t.Run(fmt.Sprintf("%s/%d", loc, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 9))
				clock := scrmtest.NewClock(time.Date(2024, 1, 20, 10, 0, 0, 0, loc))
				svc := member.New(nil, nil, &member.Options{Options: scrm.Options{Clock: clock, Location: loc}})
				_, err := svc.PutProgram(bg, standard())
				require.NoError(t, err)
				rule := member.CheckInRule{Tenant: tenant, Cycle: 5, MakeUpPerMonth: 2,
					Ladder: []member.CheckInStep{
						{Day: 2, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 2}}},
						{Day: 5, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 5}}},
					}}
				_, err = svc.PutCheckInRule(bg, rule)
				require.NoError(t, err)
				type d struct {
					y  int
					m  time.Month
					dd int
				}
				key := func(tm time.Time) d { y, m, dd := tm.In(loc).Date(); return d{y, m, dd} }
				checked := map[d]bool{}
				makeUps := map[[2]int]int{}
				prev := func(x d) d { tm := time.Date(x.y, x.m, x.dd-1, 12, 0, 0, 0, loc); return key(tm) }
				pos := func(x d) int {
					n := 0
					for c := x; checked[c]; c = prev(c) {
						n++
					}
					return n
				}
				day := time.Date(2024, 1, 20, 0, 0, 0, 0, loc)
				for i := 0; i < 400; i++ {
					// A random time of the day, often within minutes of midnight.
					var tod time.Duration
					switch rng.IntN(3) {
					case 0:
						tod = time.Duration(rng.IntN(5*60)) * time.Second
					case 1:
						tod = 24*time.Hour - time.Duration(1+rng.IntN(5*60))*time.Second
					default:
						tod = time.Duration(rng.IntN(24*3600)) * time.Second
					}
					y, m, dd := day.Date()
					now := time.Date(y, m, dd, 0, 0, 0, 0, loc).Add(tod)
					if key(now) != (d{y, m, dd}) {
						now = time.Date(y, m, dd, 12, 0, 0, 0, loc)
					}
					clock.Set(now)
					today := key(now)
					switch op := rng.IntN(10); {
					case op < 6:
						req := member.CheckInRequest{Tenant: tenant, Customer: "C"}
						if tod < 4*time.Minute && rng.IntN(2) == 0 {
							// A tap just before midnight arriving just after.
							req.At = now.Add(-tod - time.Second)
							today = key(req.At)
						}
						r, err := svc.CheckIn(bg, req)
						require.NoError(t, err)
						if checked[today] {
							assert.True(t, r.Replayed, "%s", now)
						} else {
							checked[today] = true
							assert.False(t, r.Replayed, "%s", now)
						}
						want := pos(today)
						if !r.Replayed {
							assert.Equal(t, want, r.Streak, "%s", now)
							cd := (want-1)%5 + 1
							assert.Equal(t, cd, r.CycleDay, "%s", now)
						}
						assert.Equal(t, today, key(r.Date))
						assert.True(t, r.Date.Equal(time.Date(today.y, today.m, today.dd, 0, 0, 0, 0, loc)), "%s: %s", now, r.Date)
					case op < 8:
						if today.dd == 1 {
							break
						}
						md := d{today.y, today.m, 1 + rng.IntN(today.dd-1)}
						mk := [2]int{today.y, int(today.m)}
						r, err := svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C", IdempotencyKey: fmt.Sprintf("mu%d", i),
							Date: time.Date(md.y, md.m, md.dd, rng.IntN(24), 0, 0, 0, loc)})
						switch {
						case checked[md]:
							assert.ErrorIs(t, err, scrm.ErrConflict, "%s make-up %v", now, md)
						case makeUps[mk] >= 2:
							assert.ErrorIs(t, err, scrm.ErrExhausted, "%s make-up %v", now, md)
						default:
							require.NoError(t, err, "%s make-up %v", now, md)
							checked[md] = true
							makeUps[mk]++
							assert.Equal(t, pos(md), r.Streak, "%s make-up %v", now, md)
						}
					default:
						cal, err := svc.CheckInCalendar(bg, tenant, "C", time.Time{})
						require.NoError(t, err)
						streak := pos(today)
						if !checked[today] {
							streak = pos(prev(today))
						}
						assert.Equal(t, streak, cal.Streak, "%s calendar", now)
						assert.Equal(t, checked[today], cal.CheckedInToday)
						assert.Equal(t, 2-makeUps[[2]int{today.y, int(today.m)}], cal.MakeUpsLeft)
						for _, cd := range cal.Days {
							if cd.CheckedIn {
								assert.True(t, checked[key(cd.Date)])
							} else {
								assert.False(t, checked[key(cd.Date)], "%s", cd.Date)
							}
						}
					}
					// Advance 1 or 2 days (sometimes skipping one).
					day = time.Date(y, m, dd+1+rng.IntN(2)*rng.IntN(2), 0, 0, 0, 0, loc)
				}
			})
		}
	}
}

// TestReviewPartsWithdrawAfterPartialRefundNoExcess: the same 1-fen loss
// through a partial refund. ¥300 (+¥30) topped up, ¥110 paid (100 + 10,
// exactly the fair share), 6 fen refunded (all to the principal: floor(10 ×
// 0.06/110) = 0): the cycle has used 109.94 of which 10 bonus, the fair
// share round(109.94/11) = 9.99, so Withdraw keeps 1 fen of principal.
func TestWithdrawAfterPartialRefundNoExcess(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "top", "300")
	pay(t, svc, "C1", "o1", "110")
	r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("0.06")})
	require.NoError(t, err)
	assertDec(t, "0", r.Bonus)
	w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w"})
	require.NoError(t, err)
	assertDec(t, "0", w.Kept, "no bonus was used beyond its share")
	assertDec(t, "200.06", w.Paid)
}

// staleCheckIns is a Store whose CheckInState returns a snapshot taken
// earlier: what a make-up's unlocked pre-check sees when a concurrent
// make-up commits between it and the locked update.
type staleCheckIns struct {
	member.Store
	snap *member.CheckInState
}

func (s *staleCheckIns) CheckInState(ctx context.Context, tn scrm.TenantID, c scrm.CustomerID) (member.CheckInState, error) {
	if s.snap != nil {
		return s.snap.Clone(), nil
	}
	return s.Store.CheckInState(ctx, tn, c)
}

// TestMakeUpRetryAfterRefundIsCharged: a make-up that lost the race
// for the month's last make-up has its 20 points spent and returned. When
// the operator then allows more make-ups and the client retries the same
// key (which the failure freed), the make-up is recorded with Cost 20, but
// the spend step replays the original (refunded) spend: nothing is charged.
func TestMakeUpRetryAfterRefundIsCharged(t *testing.T) {
	store := &staleCheckIns{Store: member.NewMemoryStore()}
	clock := scrmtest.NewClock(start) // Monday 2 March 2026
	svc := member.New(store, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	rule := ladder()
	rule.Ladder = nil
	rule.MakeUpPerMonth = 1
	_, err = svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	_, err = svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "adj", Points: 100, Reason: "test", Operator: "op"})
	require.NoError(t, err)
	clock.Set(time.Date(2026, 3, 6, 10, 0, 0, 0, shanghai))
	_, err = svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1"})
	require.NoError(t, err)
	st, err := store.CheckInState(bg, tenant, "C1")
	require.NoError(t, err)

	_, err = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-1", Date: time.Date(2026, 3, 5, 9, 0, 0, 0, shanghai)})
	require.NoError(t, err)
	points := func() int64 {
		a, err := svc.Account(bg, tenant, "C1")
		require.NoError(t, err)
		return a.Points
	}
	require.Equal(t, int64(80), points())

	// mu-2's pre-check ran before mu-1 committed: it spends, then loses.
	store.snap = &st
	_, err = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-2", Date: time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)})
	require.ErrorIs(t, err, scrm.ErrExhausted)
	store.snap = nil
	require.Equal(t, int64(80), points(), "the points came back")

	// The operator allows two make-ups a month; the client retries mu-2.
	rule.MakeUpPerMonth = 2
	_, err = svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	r, err := svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "mu-2", Date: time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)})
	require.NoError(t, err)
	assert.Equal(t, int64(20), r.Cost)
	assert.Equal(t, int64(60), points(), "the make-up that happened was paid for")
}

// hookPublisher runs hook once, on the first event of type typ.
type hookPublisher struct {
	mu   sync.Mutex
	typ  string
	hook func()
}

func (p *hookPublisher) Publish(_ context.Context, e scrm.Event) error {
	p.mu.Lock()
	h := p.hook
	if e.Type == p.typ {
		p.hook = nil
	}
	p.mu.Unlock()
	if h != nil && e.Type == p.typ {
		h()
	}
	return nil
}

// TestRunPlansStalePlanSetKeepsTerm: RunPlans loads the
// tenant's plans once, at its start. A membership it visits that meanwhile
// got a term of a plan version published after that (a concurrent PutPlan
// and Subscribe) has its DueAt recomputed with the stale plan set, which
// skips the unknown term: DueAt becomes zero and the paid term is never
// visited again (no further tranches, no break-even settlement, no
// plan_ended).
func TestRunPlansStalePlanSetKeepsTerm(t *testing.T) {
	clock := scrmtest.NewClock(start)
	pub := &hookPublisher{typ: member.EventPlanEnded}
	store := member.NewMemoryStore()
	router := scrm.NewRewardRouter()
	coupons := &grants{}
	svc := member.New(store, nil, &member.Options{Options: scrm.Options{Clock: clock, Publisher: pub}, Rewarder: router})
	router.Route(scrm.RewardPoints, svc)
	router.Route(scrm.RewardStoredValue, svc)
	router.Route(scrm.RewardCoupon, coupons)
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	_, err = svc.PutPlan(bg, monthly())
	require.NoError(t, err)
	_, err = svc.StartTrial(bg, member.TrialRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "t1"})
	require.NoError(t, err)

	// The trial ended at 10:00 on 9 March; at 10:01 RunPlans closes it. While
	// it runs, the operator publishes a new version of the plan and the
	// customer buys a month of it.
	clock.Set(time.Date(2026, 3, 9, 10, 1, 0, 0, shanghai))
	pub.hook = func() {
		_, err := svc.PutPlan(bg, monthly())
		require.NoError(t, err)
		_, err = svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "s1", Paid: dec("18")})
		require.NoError(t, err)
	}
	r, err := svc.RunPlans(bg, tenant)
	require.NoError(t, err)
	// The run published plan_ended (the hook ran); the Subscribe made
	// during it closed the trial first, so the run, which counts only what
	// it recorded, does not count the end.
	pub.mu.Lock()
	require.Nil(t, pub.hook, "plan_ended published")
	pub.mu.Unlock()
	require.Equal(t, 0, r.Ended)
	st, err := store.Membership(bg, tenant, "C1")
	require.NoError(t, err)
	assert.False(t, st.DueAt.IsZero(), "the paid month still has tranches, an end and a settlement due")
	require.Len(t, coupons.list(), 1, "the paid month's first tranche")

	// A week later the second tranche is due; at the month's end the
	// break-even guarantee pays back the ¥18.
	clock.Set(time.Date(2026, 3, 16, 0, 1, 0, 0, shanghai))
	_, err = svc.RunPlans(bg, tenant)
	require.NoError(t, err)
	assert.Len(t, coupons.list(), 2, "the second tranche")
	clock.Set(time.Date(2026, 4, 9, 11, 0, 0, 0, shanghai))
	r, err = svc.RunPlans(bg, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, r.Settlements)
	b, err := svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "18", b.Bonus, "break-even settled")
}
