package member_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// maxSinglePoints is member's (unexported) maxPoints: the largest single
// amount of points Grant and Adjust accept.
const maxSinglePoints = int64(1) << 50

// TestGrantPointsBalanceCap: maxPoints bounds each grant ("so sums
// never overflow"), but nothing bounds the balance: 8,192 valid grants of
// maxPoints points wrap the lot and the balance to a negative number.
func TestGrantPointsBalanceCap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	var lastErr error
	for i := 0; i < 8193; i++ {
		lastErr = f.svc.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "whale", IdempotencyKey: fmt.Sprintf("g%d", i),
			Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: maxSinglePoints}})
		if lastErr != nil {
			break
		}
	}
	a := f.account(t, "whale")
	assert.Positive(t, a.Points, "a balance must never wrap negative (last grant err: %v)", lastErr)
	for _, l := range a.Lots {
		assert.Positive(t, l.Remaining, "lot %d wrapped", l.ID)
	}
	// Earlier grants succeeded; the one that would overflow must be refused.
	assert.Error(t, lastErr, "the grant that overflows int64 must be refused")
}

// TestGrantGrowthCap: the same for growth: the growth value
// wraps negative and the customer loses their tier.
func TestGrantGrowthCap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	var lastErr error
	for i := 0; i < 8193; i++ {
		lastErr = f.svc.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "whale", IdempotencyKey: fmt.Sprintf("g%d", i),
			Reward: scrm.Reward{Kind: scrm.RewardGrowth, Points: maxSinglePoints}})
		if lastErr != nil {
			break
		}
	}
	a := f.account(t, "whale")
	assert.Positive(t, a.Growth, "growth must never wrap negative (last grant err: %v)", lastErr)
	assert.Equal(t, "diamond", a.Tier)
}

// TestAdjustPointsBalanceCap: Adjust accepts up to maxPoints per call
// too, with no bound on the balance.
func TestAdjustPointsBalanceCap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	var lastErr error
	for i := 0; i < 8193; i++ {
		_, lastErr = f.svc.Adjust(ctx, member.AdjustRequest{Tenant: tenant, Customer: "whale", IdempotencyKey: fmt.Sprintf("a%d", i),
			Points: maxSinglePoints, Reason: "r", Operator: "op"})
		if lastErr != nil {
			break
		}
	}
	a := f.account(t, "whale")
	assert.Positive(t, a.Points, "a balance must never wrap negative (last adjust err: %v)", lastErr)
}

// TestCatalogStoredValueItemWithoutRewarder: Service.Grant holds kind
// stored_value (and holds() says so for check-in and rule rewards), but
// PutCatalogItem refuses a stored_value item when no Options.Rewarder is
// configured, claiming the service holds only points and growth.
func TestCatalogStoredValueItemWithoutRewarder(t *testing.T) {
	ctx := context.Background()
	svc := member.New(member.NewMemoryStore(), nil, &member.Options{Options: scrm.Options{Clock: scrmtest.NewClock(start)}})
	_, err := svc.PutProgram(ctx, standard())
	require.NoError(t, err)
	// The service itself grants stored value.
	require.NoError(t, svc.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "g",
		Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("5")}}))
	_, err = svc.PutCatalogItem(ctx, member.CatalogItem{Tenant: tenant, ID: "card", Name: "¥10 储值", Points: 100,
		Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("10")}})
	require.NoError(t, err, "the service holds stored_value, so the item needs no Options.Rewarder")
}

// --- kept passing tests: edges no existing test covers ---

// TestExchangeEditWhilePendingThenRefund: the item's price and window are
// edited while its reward is being granted; the refused exchange returns
// the price charged, and gives the stock back.

func TestExchangeEditWhilePendingThenRefund(t *testing.T) {
	ctx := context.Background()
	f := newMall(t, nil)
	it := coffee()
	it.Stock, it.PerCustomer = 1, 1
	f.put(t, it)
	f.give(t, "C1", "imp", map[int]int64{0: 1000})
	f.shop.setFail(func(context.Context, scrm.Grant) error {
		cur, err := f.svc.CatalogItem(ctx, tenant, "coffee")
		require.NoError(t, err)
		cur.Points = 500
		cur.End = start.Add(time.Second)
		_, err = f.svc.PutCatalogItem(ctx, cur)
		require.NoError(t, err)
		return errors.New("no")
	})
	r, err := f.exchange("C1", "coffee", "k1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, member.ExchangeRefunded, r.State)
	assert.Equal(t, int64(120), r.Returned)
	assert.Equal(t, int64(1000), f.points(t, "C1"))
	assert.Equal(t, int64(0), f.sold(t, "coffee"))
	f.shop.setFail(nil)
	r, err = f.exchange("C1", "coffee", "k2")
	require.NoError(t, err)
	assert.Equal(t, int64(500), r.Points)
	assert.Equal(t, int64(500), f.points(t, "C1"))
}

// TestExchangeStoredValueReward: a mall item whose reward is stored value,
// granted by the service through a RewardRouter; a replay credits nothing
// more.
func TestExchangeStoredValueReward(t *testing.T) {
	ctx := context.Background()
	clock := scrmtest.NewClock(start)
	router := scrm.NewRewardRouter()
	s := member.New(member.NewMemoryStore(), nil, &member.Options{Options: scrm.Options{Clock: clock}, Rewarder: router})
	router.Route(scrm.RewardStoredValue, s)
	_, err := s.PutProgram(ctx, standard())
	require.NoError(t, err)
	_, err = s.PutCatalogItem(ctx, member.CatalogItem{Tenant: tenant, ID: "card", Name: "card", Points: 100,
		Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("10")}})
	require.NoError(t, err)
	_, err = s.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "imp", Lots: []member.ImportLot{{Points: 1000}}})
	require.NoError(t, err)
	r, err := s.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "card", IdempotencyKey: "k1"})
	require.NoError(t, err)
	assert.Equal(t, member.ExchangeDone, r.State)
	r, err = s.Exchange(ctx, member.ExchangeRequest{Tenant: tenant, Customer: "C1", Item: "card", IdempotencyKey: "k1"})
	require.NoError(t, err)
	assert.True(t, r.Replayed)
	b, err := s.Balance(ctx, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "0", b.Principal)
	assertDec(t, "10", b.Bonus)
}

// TestTopUpThresholdExact: exactly at a step's Min, replays after a
// new rule version keep the original bonus and grant the points once.
func TestTopUpThresholdExact(t *testing.T) {
	f, svc := newValueService(t, member.PayBonusLast)
	r := topUp(t, svc, "C1", "t1", "300")
	assertDec(t, "30", r.Bonus)
	assert.Equal(t, int64(100), r.BonusPoints)
	r = topUp(t, svc, "C2", "t2", "299.99")
	assertDec(t, "0", r.Bonus)
	r = topUp(t, svc, "C3", "t3", "1000")
	assertDec(t, "100", r.Bonus)
	assert.Equal(t, int64(0), r.BonusPoints)
	// Replay: bonus points once.
	r = topUp(t, svc, "C1", "t1", "300")
	assert.True(t, r.Replayed)
	assertDec(t, "30", r.Bonus)
	a, err := svc.Account(bg, tenant, "C1")
	require.NoError(t, err)
	assert.Equal(t, int64(100), a.Points)
	// New rule version: replay keeps old result.
	_, err = svc.PutTopUpRule(bg, member.TopUpRule{Tenant: tenant, Steps: []member.TopUpStep{{Min: dec("100"), Bonus: dec("50"), BonusPoints: 7}}})
	require.NoError(t, err)
	r = topUp(t, svc, "C1", "t1", "300")
	assertDec(t, "30", r.Bonus)
	assert.Equal(t, int64(100), r.BonusPoints)
	r = topUp(t, svc, "C1", "t4", "300")
	assertDec(t, "50", r.Bonus)
	assert.Equal(t, int64(7), r.BonusPoints)
	a, err = svc.Account(bg, tenant, "C1")
	require.NoError(t, err)
	assert.Equal(t, int64(107), a.Points)
	_ = f
}

// TestRefundPaymentBonusLastPartials: partial refunds of a bonus-last payment, then
// the rest, return exactly what it drew.
func TestRefundPaymentBonusLastPartials(t *testing.T) {
	_, svc := newValueService(t, member.PayBonusLast)
	topUp(t, svc, "C1", "top", "300") // 300 + 30
	pay(t, svc, "C1", "o1", "290")
	p2 := pay(t, svc, "C1", "o2", "25") // 10 + 15
	assertDec(t, "10", p2.Principal)
	assertDec(t, "15", p2.Bonus)
	// Partial refunds then the rest: exactly what was drawn.
	var pr, br = dec("0"), dec("0")
	for i, amt := range []string{"0.01", "7", "3.33", "14.66"} {
		r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: fmt.Sprintf("r%d", i), OrderID: "o2", Amount: dec(amt)})
		require.NoError(t, err)
		pr, br = pr.Add(r.Principal), br.Add(r.Bonus)
	}
	assertDec(t, "10", pr)
	assertDec(t, "15", br)
	r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "ro1", OrderID: "o1", Amount: dec("290")})
	require.NoError(t, err)
	assertDec(t, "290", r.Principal)
	assertDec(t, "300", r.Balance.Principal)
	assertDec(t, "30", r.Balance.Bonus)
}

// TestWithdrawAfterBalanceRanOut: Withdraw's doc says
// bonus-last payments never create an excess. A customer who tops up ¥300
// (+¥30), pays ¥330 bonus-last (¥300 principal, then ¥30 bonus, the most
// principal-first order there is), then tops up ¥200 (no bonus) has ¥200 of
// principal, yet Withdraw keeps part of it as bonus used beyond proportion.
func TestWithdrawAfterBalanceRanOut(t *testing.T) {
	_, svc := newValueService(t, member.PayBonusLast)
	topUp(t, svc, "C1", "t1", "300")
	p := pay(t, svc, "C1", "o1", "330")
	assertDec(t, "300", p.Principal)
	assertDec(t, "30", p.Bonus)
	topUp(t, svc, "C1", "t2", "200")
	w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w"})
	require.NoError(t, err)
	assertDec(t, "0", w.Kept, "bonus-last payments never create an excess")
	assertDec(t, "200", w.Paid)
}

// TestWithdrawRefundReopensSettledUse: a refund of a payment made before
// the balances ran out undoes settled use, so the whole cycle counts again:
// refunding the ¥300 of principal spent cannot leave the ¥30 of bonus used
// for free.
func TestWithdrawRefundReopensSettledUse(t *testing.T) {
	_, svc := newValueService(t, member.PayBonusLast)
	topUp(t, svc, "C1", "t1", "300") // 300 + 30
	pay(t, svc, "C1", "o1", "300")
	p := pay(t, svc, "C1", "o2", "30")
	assertDec(t, "30", p.Bonus)
	topUp(t, svc, "C1", "t2", "200")
	_, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("300")})
	require.NoError(t, err)
	w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w"})
	require.NoError(t, err)
	// Used 30 of 530 (30 bonus): fair bonus 1.70, so 28.30 is kept.
	assertDec(t, "28.3", w.Kept)
	assertDec(t, "471.7", w.Paid)
}

// TestImportPointsBalanceCap: Import is refused, writing nothing, when its
// lots or growth would take the account past what it can hold.
func TestImportPointsBalanceCap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	var err error
	i := 0
	for ; err == nil; i++ {
		_, err = f.svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: "whale", IdempotencyKey: fmt.Sprintf("i%d", i),
			Lots: []member.ImportLot{{Points: maxSinglePoints}}, Growth: maxSinglePoints})
	}
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Lots", errField(err))
	assert.Equal(t, 4097, i, "1<<62 holds 4096 imports of 1<<50")
	a := f.account(t, "whale")
	assert.Equal(t, int64(1)<<62, a.Points)
	assert.Equal(t, int64(1)<<62, a.Growth)
	// Growth alone is refused too, on its own field.
	_, err = f.svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: "whale", IdempotencyKey: "g", Growth: 1})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Growth", errField(err))
	// Points that fit are still credited once some are spent.
	_, err = f.svc.Adjust(ctx, member.AdjustRequest{Tenant: tenant, Customer: "whale", IdempotencyKey: "a", Points: -5, Reason: "r", Operator: "op"})
	require.NoError(t, err)
	_, err = f.svc.Adjust(ctx, member.AdjustRequest{Tenant: tenant, Customer: "whale", IdempotencyKey: "b", Points: 5, Reason: "r", Operator: "op"})
	require.NoError(t, err)
	_, err = f.svc.Adjust(ctx, member.AdjustRequest{Tenant: tenant, Customer: "whale", IdempotencyKey: "c", Points: 1, Reason: "r", Operator: "op"})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Points", errField(err))
}
