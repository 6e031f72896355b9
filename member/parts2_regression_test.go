package member_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// withdrawAll withdraws C1's stored value under key "w".
func withdrawAll(t *testing.T, svc *member.Service) member.WithdrawResult {
	t.Helper()
	w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w"})
	require.NoError(t, err)
	return w
}

// grantValue grants C1 amount yuan of stored value (bonus) under key.
func grantValue(t *testing.T, svc *member.Service, key, amount string) {
	t.Helper()
	require.NoError(t, svc.Grant(bg, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: key,
		Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec(amount)}, Source: "plan:annual:break_even"}))
}

// TestWithdrawPaysBackPrincipalToppedUpAfterGift: the break-even guarantee
// (and any stored_value reward) credits bonus with no principal behind it.
// A customer given ¥198 (an annual plan's break-even settlement) spends
// ¥100 of it — PayProportional draws in proportion to the balances, i.e.
// all bonus, as there is no principal — then tops up ¥1000 (+¥100 bonus)
// and withdraws at once. Withdraw pays out the principal minus the bonus
// used beyond proportion; nothing was (the payment drew exactly the
// balances' proportion, and the ¥1000 was never touched), so the ¥1000 is
// paid back in full: the top-up settles the use made with no principal
// left instead of counting the gift and the top-up as one mix.
func TestWithdrawPaysBackPrincipalToppedUpAfterGift(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	grantValue(t, svc, "be-1", "198")
	p := pay(t, svc, "C1", "o1", "100")
	assertDec(t, "100", p.Bonus, "no principal: the payment draws bonus only")
	topUp(t, svc, "C1", "t1", "1000")
	w := withdrawAll(t, svc)
	assertDec(t, "0", w.Kept, "the ¥1000 of principal was never touched")
	assertDec(t, "1000", w.Paid)
	assertDec(t, "198", w.Forfeited)
}

// TestWithdrawAfterGiftThenTopUp: a gift then a top-up with nothing spent:
// the principal comes back whole, the bonus of both is forfeited.
func TestWithdrawAfterGiftThenTopUp(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	grantValue(t, svc, "g", "198")
	topUp(t, svc, "C1", "t1", "1000") // +100
	w := withdrawAll(t, svc)
	assertDec(t, "1000", w.Paid)
	assertDec(t, "0", w.Kept)
	assertDec(t, "298", w.Forfeited)
}

// TestPayAfterGiftThenTopUpDrawsBalancesProportion: after the gift's use
// is settled by the top-up, payments draw in proportion to the balances
// (¥1000 / ¥198), not principal only to make the earlier all-bonus payment
// look proportional to the gift and the top-up together; withdrawing then
// keeps nothing.
func TestPayAfterGiftThenTopUpDrawsBalancesProportion(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	grantValue(t, svc, "g", "198")
	pay(t, svc, "C1", "o1", "100")
	topUp(t, svc, "C1", "t1", "1000") // balances 1000 / 198
	p := pay(t, svc, "C1", "o2", "599")
	assertDec(t, "500", p.Principal)
	assertDec(t, "99", p.Bonus, "599 × 198/1198")
	w := withdrawAll(t, svc)
	assertDec(t, "500", w.Paid)
	assertDec(t, "0", w.Kept)
	assertDec(t, "99", w.Forfeited)
}

// TestWithdrawTopUpGiftPayTopUp: top-up ¥300 (+¥30), gift ¥198, pay ¥100
// (in proportion to 300 / 228: ¥56.82 principal, ¥43.18 bonus), top-up
// ¥1000 (+¥100), withdraw: the payment drew in proportion, so the later
// top-up's different mix charges nothing; all the principal left is paid.
func TestWithdrawTopUpGiftPayTopUp(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "t1", "300")
	grantValue(t, svc, "g", "198")
	p := pay(t, svc, "C1", "o1", "100")
	assertDec(t, "56.82", p.Principal)
	assertDec(t, "43.18", p.Bonus)
	topUp(t, svc, "C1", "t2", "1000")
	w := withdrawAll(t, svc)
	assertDec(t, "0", w.Kept)
	assertDec(t, "1243.18", w.Paid)
	assertDec(t, "284.82", w.Forfeited)
	// 300 + 30 + 198 + 1000 + 100 in = 100 spent + paid + kept + forfeited.
	require.True(t, dec("1628").Equal(dec("100").Add(w.Paid).Add(w.Kept).Add(w.Forfeited)))
}

// TestWithdrawRefundAfterSettlingTopUpStillCharges: a top-up while the
// principal is used up settles the bonus drawn meanwhile, but a refund that
// then returns that principal undoes the settled use: the whole cycle
// counts again, so the bonus spent with the principal refunded is charged.
// Bonus-last: ¥300 (+¥30) topped up, ¥300 of principal spent, ¥20 of bonus
// spent, ¥0.01 topped up, the ¥300 refunded: of ¥20 used, the fair bonus
// is 20 × 30/330.01 = ¥1.82, so ¥18.18 is kept.
func TestWithdrawRefundAfterSettlingTopUpStillCharges(t *testing.T) {
	_, svc := newValueService(t, member.PayBonusLast)
	topUp(t, svc, "C1", "t1", "300")
	pay(t, svc, "C1", "o1", "300")
	p := pay(t, svc, "C1", "o2", "20")
	assertDec(t, "20", p.Bonus)
	topUp(t, svc, "C1", "t2", "0.01")
	r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("300")})
	require.NoError(t, err)
	assertDec(t, "300", r.Principal)
	w := withdrawAll(t, svc)
	assertDec(t, "18.18", w.Kept)
	assertDec(t, "281.83", w.Paid)
	assertDec(t, "10", w.Forfeited)
}

// TestTinyTopUpsDoNotRoundBonusUp: a top-up that changes the mix settles
// the use before it only up to the floor of its bonus share; the fen
// rounded up stays open, so alternating ¥0.06 payments (each rounding 1/11
// of 6 fen up to a fen of bonus on its own) with ¥0.01 top-ups never draw
// the bonus faster than its share (about 27.3 fen of 300) plus a fen. (The
// fraction of a fen of share each such top-up drops draws it slower.)
func TestTinyTopUpsDoNotRoundBonusUp(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "t", "300") // +30
	bonus := dec("0")
	for i := range 50 {
		p := pay(t, svc, "C1", fmt.Sprint("o", i), "0.06")
		bonus = bonus.Add(p.Bonus)
		topUp(t, svc, "C1", fmt.Sprint("t", i), "0.01")
	}
	require.True(t, bonus.LessThanOrEqual(dec("0.28")), "bonus drawn %s", bonus)
	w := withdrawAll(t, svc)
	assertDec(t, "0", w.Kept)
	require.True(t, dec("330.5").Equal(dec("3").Add(w.Paid).Add(w.Forfeited)))
}

// TestCheckInAheadOfClockChecksInToday: At may be up to FutureTolerance
// ahead of the clock (a device clock a little fast). A customer on day 7
// of a streak taps at 23:57 on Sunday (service clock) from a phone 4
// minutes fast, so At is 00:01 Monday. One check-in per customer per local
// day, and never of a day that has not begun: the tolerance absorbs clock
// skew, so Sunday is checked in (day 7: 50 points and the coupon), not
// Monday, and Monday's own tap after midnight continues the streak.
func TestCheckInAheadOfClockChecksInToday(t *testing.T) {
	f := newCheckInFixture(t)
	for i := 0; i < 6; i++ { // Monday 2 March .. Saturday 7 March
		r := f.checkIn(t, "C1")
		require.Equal(t, i+1, r.Streak)
		f.clock.Advance(24 * time.Hour)
	}
	f.clock.Set(time.Date(2026, 3, 8, 23, 57, 0, 0, shanghai)) // Sunday, day 7
	r, err := f.svc.CheckIn(bg, member.CheckInRequest{Tenant: tenant, Customer: "C1", At: f.clock.Now().Add(4 * time.Minute)})
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 8, 0, 0, 0, 0, shanghai), r.Date.In(shanghai), "the clock's date, Sunday")
	require.Equal(t, 7, r.Streak)
	require.Len(t, r.Rewards, 2, "day 7: 50 points and the coupon")
	require.False(t, r.Replayed)

	f.clock.Set(time.Date(2026, 3, 9, 0, 1, 0, 0, shanghai)) // Monday
	r = f.checkIn(t, "C1")
	require.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, shanghai), r.Date.In(shanghai))
	require.Equal(t, 8, r.Streak)
	require.False(t, r.Replayed)
}

// TestMakeUpAheadOfClockRefused: a make-up fills a past day only; a Date
// on the next day (a clock a few minutes fast) or today is refused, naming
// Date, and nothing is spent.
func TestMakeUpAheadOfClockRefused(t *testing.T) {
	f := newCheckInFixture(t)
	for range 5 { // Monday 2 March .. Friday 6 March: 25 points
		f.checkIn(t, "C1")
		f.clock.Advance(24 * time.Hour)
	}
	f.clock.Set(time.Date(2026, 3, 8, 23, 57, 0, 0, shanghai)) // Sunday
	before := f.account(t, "C1")
	require.GreaterOrEqual(t, before.Points, ladder().MakeUpCost)
	for i, d := range []time.Time{f.clock.Now().Add(4 * time.Minute), f.clock.Now()} {
		_, err := f.svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: fmt.Sprint("mu", i), Date: d})
		requireField(t, err, scrm.ErrInvalid, "Date")
	}
	require.Equal(t, before.Points, f.account(t, "C1").Points)
}
