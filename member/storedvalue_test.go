package member_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

var bg = context.Background()

func assertDec(t *testing.T, want string, got decimal.Decimal, msg ...any) {
	t.Helper()
	assert.True(t, dec(want).Equal(got), "want %s, got %s %v", want, got.String(), msg)
}

// newValueService is a service with the standard program (for bonus
// points) and the top-up rule of the issue: ¥300 → +¥30 and 100 points,
// ¥1000 → +¥100.
func newValueService(t testing.TB, order member.PayOrder) (*fixture, *member.Service) {
	t.Helper()
	f := &fixture{store: member.NewMemoryStore(), clock: scrmtest.NewClock(start), events: &events{}, grants: &grants{}}
	svc := member.New(f.store, nil, &member.Options{Options: scrm.Options{Clock: f.clock, Publisher: f.events},
		StoredValuePay: order})
	f.svc = svc
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	_, err = svc.PutTopUpRule(bg, member.TopUpRule{Tenant: tenant, Steps: []member.TopUpStep{
		{Min: dec("300"), Bonus: dec("30"), BonusPoints: 100},
		{Min: dec("1000"), Bonus: dec("100")},
	}})
	require.NoError(t, err)
	return f, svc
}

func topUp(t testing.TB, svc *member.Service, c scrm.CustomerID, key, amount string) member.TopUpResult {
	t.Helper()
	r, err := svc.TopUp(bg, member.TopUpRequest{Tenant: tenant, Customer: c, IdempotencyKey: key, Amount: dec(amount)})
	require.NoError(t, err)
	return r
}

func pay(t testing.TB, svc *member.Service, c scrm.CustomerID, order, amount string) member.PayResult {
	t.Helper()
	r, err := svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: c, IdempotencyKey: "pay-" + order, OrderID: order, Amount: dec(amount)})
	require.NoError(t, err)
	return r
}

func TestTopUpBonusSteps(t *testing.T) {
	f, svc := newValueService(t, "")
	tests := []struct {
		amount, bonus string
		points        int64
	}{
		{"299.99", "0", 0},
		{"300.00", "30", 100},
		{"999.99", "30", 100},
		{"1000", "100", 0},
		{"1300", "100", 0},
	}
	wantP, wantB := decimal.Zero, decimal.Zero
	for i, tc := range tests {
		r := topUp(t, svc, "C1", fmt.Sprintf("top-%d", i), tc.amount)
		assertDec(t, tc.amount, r.Principal, tc.amount)
		assertDec(t, tc.bonus, r.Bonus, tc.amount)
		assert.Equal(t, tc.points, r.BonusPoints, tc.amount)
		wantP, wantB = wantP.Add(dec(tc.amount)), wantB.Add(dec(tc.bonus))
		assert.True(t, r.Balance.Principal.Equal(wantP))
		assert.True(t, r.Balance.Bonus.Equal(wantB))
		assert.True(t, r.Balance.Total().Equal(wantP.Add(wantB)))
	}
	// Bonus points went through the Rewarder (the service itself) into the
	// points ledger, twice.
	assert.Equal(t, int64(200), f.account(t, "C1").Points)

	b, err := svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "3899.98", b.Principal)
	assertDec(t, "260", b.Bonus)

	// A replay changes nothing and regrants nothing new.
	r, err := svc.TopUp(bg, member.TopUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "top-1", Amount: dec("300")})
	require.NoError(t, err)
	assert.True(t, r.Replayed)
	assertDec(t, "30", r.Bonus)
	assertDec(t, "599.99", r.Balance.Principal, "the original result")
	assert.Equal(t, int64(200), f.account(t, "C1").Points)
	_, err = svc.TopUp(bg, member.TopUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "top-1", Amount: dec("301")})
	assert.ErrorIs(t, err, scrm.ErrConflict)

	// A customer with nothing has a zero balance.
	b, err = svc.Balance(bg, tenant, "nobody")
	require.NoError(t, err)
	assert.True(t, b.Total().IsZero())
}

func TestPayProportional(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "top", "300") // 300 + 30

	r := pay(t, svc, "C1", "o1", "110")
	assertDec(t, "100", r.Principal)
	assertDec(t, "10", r.Bonus)
	assertDec(t, "200", r.Balance.Principal)
	assertDec(t, "20", r.Balance.Bonus)

	// 33.33 × 20/220 = 3.0300: the bonus part rounds to the fen, the
	// principal takes the rest.
	r = pay(t, svc, "C1", "o2", "33.33")
	assertDec(t, "30.30", r.Principal)
	assertDec(t, "3.03", r.Bonus)
	// 0.05 × 16.97/186.67 = 0.004545…: rounds to 0 fen of bonus.
	r = pay(t, svc, "C1", "o3", "0.05")
	assertDec(t, "0.05", r.Principal)
	assertDec(t, "0", r.Bonus)

	// Everything that is left, exactly.
	b, err := svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "186.62", b.Total())
	r = pay(t, svc, "C1", "o4", "186.62")
	assertDec(t, "169.65", r.Principal)
	assertDec(t, "16.97", r.Bonus)
	assert.True(t, r.Balance.Total().IsZero())
}

func TestPayBonusLast(t *testing.T) {
	_, svc := newValueService(t, member.PayBonusLast)
	topUp(t, svc, "C1", "top", "300")
	r := pay(t, svc, "C1", "o1", "290")
	assertDec(t, "290", r.Principal)
	assertDec(t, "0", r.Bonus)
	r = pay(t, svc, "C1", "o2", "25")
	assertDec(t, "10", r.Principal)
	assertDec(t, "15", r.Bonus)
	assertDec(t, "15", r.Balance.Bonus)
}

func TestPayShortAndBadInput(t *testing.T) {
	f, svc := newValueService(t, "")
	topUp(t, svc, "C1", "top", "100")
	before, err := f.store.ValueAccount(bg, tenant, "C1")
	require.NoError(t, err)

	_, err = svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "p1", OrderID: "o1", Amount: dec("100.01")})
	require.ErrorIs(t, err, scrm.ErrExhausted)
	var se *scrm.Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, "Amount", se.Field)

	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"pay negative", func() error {
			_, err := svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "p2", OrderID: "o2", Amount: dec("-1")})
			return err
		}, "Amount"},
		{"pay zero", func() error {
			_, err := svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "p2", OrderID: "o2", Amount: dec("0")})
			return err
		}, "Amount"},
		{"pay below the fen", func() error {
			_, err := svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "p2", OrderID: "o2", Amount: dec("1.001")})
			return err
		}, "Amount"},
		{"pay without order", func() error {
			_, err := svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "p2", Amount: dec("1")})
			return err
		}, "OrderID"},
		{"pay without key", func() error {
			_, err := svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", OrderID: "o2", Amount: dec("1")})
			return err
		}, "IdempotencyKey"},
		{"top up negative", func() error {
			_, err := svc.TopUp(bg, member.TopUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "t2", Amount: dec("-300")})
			return err
		}, "Amount"},
		{"refund negative", func() error {
			_, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r2", OrderID: "o1", Amount: dec("-1")})
			return err
		}, "Amount"},
		{"grant negative", func() error {
			return svc.Grant(bg, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "g2",
				Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("-5")}})
		}, "Reward.Amount"},
		{"grant zero", func() error {
			return svc.Grant(bg, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "g2",
				Reward: scrm.Reward{Kind: scrm.RewardStoredValue}})
		}, "Reward.Amount"},
		{"rule out of order", func() error {
			_, err := svc.PutTopUpRule(bg, member.TopUpRule{Tenant: tenant, Steps: []member.TopUpStep{
				{Min: dec("500"), Bonus: dec("50")}, {Min: dec("300"), Bonus: dec("30")}}})
			return err
		}, "Steps[1].Min"},
		{"rule with negative bonus", func() error {
			_, err := svc.PutTopUpRule(bg, member.TopUpRule{Tenant: tenant, Steps: []member.TopUpStep{{Min: dec("500"), Bonus: dec("-50")}}})
			return err
		}, "Steps[0].Bonus"},
		{"rule giving nothing", func() error {
			_, err := svc.PutTopUpRule(bg, member.TopUpRule{Tenant: tenant, Steps: []member.TopUpStep{{Min: dec("500")}}})
			return err
		}, "Steps[0].Bonus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.True(t, errors.As(err, &se))
			assert.Equal(t, tc.field, se.Field)
		})
	}
	after, err := f.store.ValueAccount(bg, tenant, "C1")
	require.NoError(t, err)
	assert.Equal(t, before, after, "nothing written")
	rule, err := svc.TopUpRule(bg, tenant)
	require.NoError(t, err)
	assert.Equal(t, int64(1), rule.Version)
}

func TestRefundPayment(t *testing.T) {
	_, svc := newValueService(t, "")
	topUp(t, svc, "C1", "top", "300") // 300 + 30
	pay(t, svc, "C1", "o1", "110")    // 100 + 10

	r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("33")})
	require.NoError(t, err)
	// floor(10 × 33/110) = 3 of bonus, 30 of principal.
	assertDec(t, "30", r.Principal)
	assertDec(t, "3", r.Bonus)
	r, err = svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r2", OrderID: "o1", Amount: dec("0.07")})
	require.NoError(t, err)
	// floor(1000 × 3307/11000) = 300 fen in total: no more bonus yet.
	assertDec(t, "0.07", r.Principal)
	assertDec(t, "0", r.Bonus)

	_, err = svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r3", OrderID: "o1", Amount: dec("76.94")})
	assert.ErrorIs(t, err, scrm.ErrInvalid, "more than is left")
	_, err = svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r3", OrderID: "nope", Amount: dec("1")})
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	// The rest returns exactly what the payment drew.
	r, err = svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r3", OrderID: "o1", Amount: dec("76.93")})
	require.NoError(t, err)
	assertDec(t, "69.93", r.Principal)
	assertDec(t, "7", r.Bonus)
	assertDec(t, "300", r.Balance.Principal)
	assertDec(t, "30", r.Balance.Bonus)

	// A second payment of the same order is a conflict.
	_, err = svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "pay-again", OrderID: "o1", Amount: dec("1")})
	assert.ErrorIs(t, err, scrm.ErrConflict)
}

func TestWithdraw(t *testing.T) {
	t.Run("fair use", func(t *testing.T) {
		_, svc := newValueService(t, "")
		topUp(t, svc, "C1", "top", "300") // 300 + 30
		pay(t, svc, "C1", "o1", "110")    // 100 + 10: exactly the fair 1/11
		r, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w1"})
		require.NoError(t, err)
		assertDec(t, "200", r.Paid)
		assertDec(t, "0", r.Kept)
		assertDec(t, "20", r.Forfeited)
		assert.True(t, r.Balance.Total().IsZero())
		_, err = svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w2"})
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		again, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w1"})
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		assertDec(t, "200", again.Paid)
	})
	t.Run("a later top-up does not make proportional use an excess", func(t *testing.T) {
		_, svc := newValueService(t, "")
		topUp(t, svc, "C1", "top1", "1000") // 1000 + 100
		r := pay(t, svc, "C1", "o1", "500") // bonus round(500 × 100/1100) = 45.45
		assertDec(t, "45.45", r.Bonus)
		topUp(t, svc, "C1", "top2", "200") // no bonus: balance 745.45 + 54.55
		// The payment drew the balances' proportion; the top-up's own mix
		// (no bonus) does not reach back to it: all the principal is paid.
		w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w1"})
		require.NoError(t, err)
		assertDec(t, "745.45", w.Paid)
		assertDec(t, "0", w.Kept)
		assertDec(t, "54.55", w.Forfeited)
		// 1200 + 100 in = 500 used + 745.45 paid + 0 kept + 54.55 forfeited.
		assert.True(t, dec("1300").Equal(dec("500").Add(w.Paid).Add(w.Kept).Add(w.Forfeited)))
	})
	t.Run("bonus used beyond proportion", func(t *testing.T) {
		_, svc := newValueService(t, member.PayBonusLast)
		topUp(t, svc, "C1", "top1", "300") // 300 + 30
		pay(t, svc, "C1", "o1", "300")     // principal
		r := pay(t, svc, "C1", "o2", "20") // bonus
		assertDec(t, "20", r.Bonus)
		_, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("300")})
		require.NoError(t, err)
		// ¥20 used, all bonus: fair bonus use = round(20 × 30/330) = 1.82;
		// excess 18.18.
		w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w1"})
		require.NoError(t, err)
		assertDec(t, "281.82", w.Paid)
		assertDec(t, "18.18", w.Kept)
		assertDec(t, "10", w.Forfeited)
		assert.True(t, dec("330").Equal(dec("20").Add(w.Paid).Add(w.Kept).Add(w.Forfeited)))
	})
	t.Run("unknown account", func(t *testing.T) {
		_, svc := newValueService(t, "")
		_, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "nobody", IdempotencyKey: "w1"})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("refund after withdrawal starts a new cycle", func(t *testing.T) {
		_, svc := newValueService(t, "")
		topUp(t, svc, "C1", "top", "300")
		pay(t, svc, "C1", "o1", "110")
		_, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w1"})
		require.NoError(t, err)
		r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "r1", OrderID: "o1", Amount: dec("110")})
		require.NoError(t, err)
		assertDec(t, "100", r.Balance.Principal)
		assertDec(t, "10", r.Balance.Bonus)
		w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w2"})
		require.NoError(t, err)
		assertDec(t, "100", w.Paid)
		assertDec(t, "10", w.Forfeited)
	})
}

func TestGrantStoredValue(t *testing.T) {
	f, svc := newValueService(t, "")
	g := scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "g1", Source: "referral:p1",
		Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("8.88")}}
	require.NoError(t, svc.Grant(bg, g))
	require.NoError(t, svc.Grant(bg, g), "a replay")
	b, err := svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assertDec(t, "0", b.Principal)
	assertDec(t, "8.88", b.Bonus)
	g.Reward.Amount = dec("9")
	assert.ErrorIs(t, svc.Grant(bg, g), scrm.ErrConflict)

	page, err := svc.ValueEntries(bg, member.ListEntriesParams{Tenant: tenant, Customer: "C1"})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, member.ValueGrant, page.Entries[0].Kind)
	assert.Equal(t, "referral:p1", page.Entries[0].Note)
	_ = f
}

// TestStoredValueConservation runs random sequences of top-ups, grants,
// payments, refunds and withdrawals under both pay orders and checks that no
// fen is created or lost: everything that went in (principal topped up, bonus
// given, payments refunded) equals what is in the balances plus what went
// out (paid for orders, paid out, kept and forfeited by withdrawals), the
// journal explains the balances, and every split adds up. Under the
// proportional order, a withdrawal of a cycle whose only money in was one
// top-up keeps nothing.
func TestStoredValueConservation(t *testing.T) {
	for _, order := range []member.PayOrder{member.PayProportional, member.PayBonusLast} {
		for seed := uint64(1); seed <= 20; seed++ {
			t.Run(fmt.Sprintf("%s/%d", order, seed), func(t *testing.T) {
				_, svc := newValueService(t, order)
				rng := rand.New(rand.NewPCG(seed, 5))
				var in, out int64 // fen, by the model
				type payment struct {
					order    string
					left     int64
					customer scrm.CustomerID
					cycle    int // the customer's withdrawals when paid
				}
				var pays []*payment
				customers := []scrm.CustomerID{"A", "B", "C"}
				// Per customer, the withdrawals so far and the top-ups and
				// other money in (grants, refunds of an earlier cycle's
				// payments) of the current cycle.
				cycles, tops, others := map[scrm.CustomerID]int{}, map[scrm.CustomerID]int{}, map[scrm.CustomerID]int{}
				fen := func(n int64) decimal.Decimal { return scrm.FromFen(n) }
				toFen := func(d decimal.Decimal) int64 { f, ok := scrm.ToFen(d); require.True(t, ok); return f }
				for i := 0; i < 300; i++ {
					c := customers[rng.IntN(len(customers))]
					key := fmt.Sprintf("k%d", i)
					switch op := rng.IntN(10); {
					case op < 3:
						amount := 1 + rng.Int64N(150000)
						r, err := svc.TopUp(bg, member.TopUpRequest{Tenant: tenant, Customer: c, IdempotencyKey: key, Amount: fen(amount)})
						require.NoError(t, err)
						assert.Equal(t, amount, toFen(r.Principal))
						in += amount + toFen(r.Bonus)
						tops[c]++
					case op < 4:
						amount := 1 + rng.Int64N(5000)
						require.NoError(t, svc.Grant(bg, scrm.Grant{Tenant: tenant, Customer: c, IdempotencyKey: key,
							Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: fen(amount)}}))
						in += amount
						others[c]++
					case op < 7:
						b, err := svc.Balance(bg, tenant, c)
						require.NoError(t, err)
						total := toFen(b.Total())
						amount := 1 + rng.Int64N(max(total, 1)+500) // sometimes over the balance
						r, err := svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: c, IdempotencyKey: key, OrderID: "o" + key, Amount: fen(amount)})
						if amount > total {
							require.ErrorIs(t, err, scrm.ErrExhausted)
							continue
						}
						require.NoError(t, err)
						assert.Equal(t, amount, toFen(r.Principal)+toFen(r.Bonus), "the split adds up")
						assert.False(t, r.Principal.IsNegative() || r.Bonus.IsNegative())
						out += amount
						pays = append(pays, &payment{order: "o" + key, left: amount, customer: c, cycle: cycles[c]})
					case op < 9:
						if len(pays) == 0 {
							continue
						}
						p := pays[rng.IntN(len(pays))]
						if p.left == 0 {
							continue
						}
						amount := 1 + rng.Int64N(p.left)
						if rng.IntN(3) == 0 {
							amount = p.left
						}
						r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: p.customer, IdempotencyKey: key,
							OrderID: p.order, Amount: fen(amount)})
						require.NoError(t, err)
						assert.Equal(t, amount, toFen(r.Principal)+toFen(r.Bonus))
						p.left -= amount
						out -= amount
						if p.cycle != cycles[p.customer] {
							others[p.customer]++
						}
					default:
						r, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: c, IdempotencyKey: key})
						if errors.Is(err, scrm.ErrNotFound) || errors.Is(err, scrm.ErrExhausted) {
							continue
						}
						require.NoError(t, err)
						out += toFen(r.Paid) + toFen(r.Kept) + toFen(r.Forfeited)
						assert.True(t, r.Balance.Total().IsZero())
						if order == member.PayProportional && tops[c] == 1 && others[c] == 0 {
							assert.True(t, r.Kept.IsZero(), "a single top-up spent proportionally keeps nothing, kept %s", r.Kept)
						}
						cycles[c]++
						tops[c], others[c] = 0, 0
					}
				}
				var held int64
				for _, c := range customers {
					b, err := svc.Balance(bg, tenant, c)
					require.NoError(t, err)
					p, bo := toFen(b.Principal), toFen(b.Bonus)
					require.GreaterOrEqual(t, p, int64(0))
					require.GreaterOrEqual(t, bo, int64(0))
					held += p + bo
					// The journal explains the balances.
					page, err := svc.ValueEntries(bg, member.ListEntriesParams{Tenant: tenant, Customer: c, Limit: 1000})
					require.NoError(t, err)
					var jp, jb int64
					for _, e := range page.Entries {
						jp += e.Principal
						jb += e.Bonus
					}
					assert.Equal(t, p, jp)
					assert.Equal(t, bo, jb)
				}
				assert.Equal(t, in, held+out, "no fen created or lost")
			})
		}
	}
}

// TestPayConcurrently: 50 goroutines pay ¥10 each from ¥200 of stored value
// (a ¥170 top-up and ¥30 granted as bonus): exactly 20 win,
// and the balance ends at zero, never below.
func TestPayConcurrently(t *testing.T) {
	_, svc := newValueService(t, "")
	topUp(t, svc, "C1", "top", "170")
	require.NoError(t, svc.Grant(bg, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "g", Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: dec("30")}}))
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.Pay(bg, member.PayRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: fmt.Sprintf("p%d", i), OrderID: fmt.Sprintf("o%d", i), Amount: dec("10")})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, scrm.ErrExhausted)
		}
	}
	assert.Equal(t, 20, won)
	b, err := svc.Balance(bg, tenant, "C1")
	require.NoError(t, err)
	assert.True(t, b.Total().IsZero())
}

// TestStoredValueSingleTopUpNoExcess: from a single top-up, any sequence of
// proportional payments (many of a few fen, where rounding each on its own
// would draw 1 fen of bonus every time) and partial or full refunds keeps
// the bonus drawn within a fen of its share, and Withdraw keeps nothing.
func TestStoredValueSingleTopUpNoExcess(t *testing.T) {
	toFen := func(d decimal.Decimal) int64 { f, ok := scrm.ToFen(d); require.True(t, ok); return f }
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			_, svc := newValueService(t, member.PayProportional)
			rng := rand.New(rand.NewPCG(seed, 11))
			top := topUp(t, svc, "C1", "top", scrm.FromFen(30000+rng.Int64N(200000)).String())
			principalIn, bonusIn := toFen(top.Principal), toFen(top.Bonus)
			require.Positive(t, bonusIn)
			type payment struct {
				order string
				left  int64
			}
			var pays []*payment
			var used, bonusUsed, refunds int64
			for i := range 1 + rng.IntN(120) {
				key := fmt.Sprintf("k%d", i)
				if len(pays) > 0 && rng.IntN(3) == 0 {
					p := pays[rng.IntN(len(pays))]
					if p.left == 0 {
						continue
					}
					amount := p.left
					if rng.IntN(2) == 0 {
						amount = 1 + rng.Int64N(p.left)
					}
					r, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: key,
						OrderID: p.order, Amount: scrm.FromFen(amount)})
					require.NoError(t, err)
					require.Equal(t, amount, toFen(r.Principal)+toFen(r.Bonus))
					p.left -= amount
					used -= amount
					bonusUsed -= toFen(r.Bonus)
					refunds++
				} else {
					b, err := svc.Balance(bg, tenant, "C1")
					require.NoError(t, err)
					total := toFen(b.Total())
					if total == 0 {
						continue
					}
					amount := 1 + rng.Int64N(min(total, 20)) // a few fen
					if rng.IntN(4) == 0 {
						amount = 1 + rng.Int64N(total)
					}
					r := pay(t, svc, "C1", key, scrm.FromFen(amount).String())
					pays = append(pays, &payment{order: key, left: amount})
					used += amount
					bonusUsed += toFen(r.Bonus)
				}
				// The bonus drawn stays within a fen of its exact share:
				// floor ≤ bonusUsed ≤ ceil of used × bonusIn / in, plus a
				// fen per refund: a refund gives back no more of either
				// balance than its payment drew, which can leave the band.
				in := principalIn + bonusIn
				slack := 1 + refunds
				assert.LessOrEqual(t, (bonusUsed-slack)*in, used*bonusIn, "step %d: bonus drawn too fast", i)
				assert.GreaterOrEqual(t, (bonusUsed+slack)*in, used*bonusIn, "step %d: bonus drawn too slowly", i)
			}
			b, err := svc.Balance(bg, tenant, "C1")
			require.NoError(t, err)
			if b.Total().IsZero() {
				return
			}
			w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w"})
			require.NoError(t, err)
			if refunds == 0 {
				assertDec(t, "0", w.Kept, "no excess from a single top-up's payments")
			}
			assert.LessOrEqual(t, toFen(w.Kept), refunds, "at most a fen per refund kept")
			assert.True(t, w.Paid.Add(w.Kept).Equal(b.Principal), "the principal is paid out or kept")
		})
	}
}

// TestPayProportionalSmallPayments: 100 payments of ¥0.06 from ¥300 + ¥30
// draw the bonus at its 1/11 share (55 fen of ¥6), not 1 fen each.
func TestPayProportionalSmallPayments(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "top", "300")
	bonus := decimal.Zero
	for i := range 100 {
		bonus = bonus.Add(pay(t, svc, "C1", fmt.Sprintf("o%d", i), "0.06").Bonus)
	}
	assertDec(t, "0.55", bonus)
	w, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w"})
	require.NoError(t, err)
	assertDec(t, "0", w.Kept)
	assertDec(t, "294.55", w.Paid)
}
