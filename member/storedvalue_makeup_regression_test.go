package member_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// TestStoredValueModel drives random TopUp / Pay / RefundPayment /
// Withdraw / Grant sequences (with replays) and checks after every step:
// the account's own invariants, conservation of every fen, replays change
// nothing, and (without grants, where every top-up's bonus is at most 1/11
// of what it credits) that after each withdrawal the bonus the customer
// effectively consumed is at most its 1/11 share of the net spend, plus a
// fen per withdrawal. The last check is not made once a payment of a cycle
// already withdrawn was refunded: that refund comes back as new value,
// and the bonus the closed cycle used beyond its share after the refund is
// not charged (a known limit, in the README).
func TestStoredValueModel(t *testing.T) {
	toFen := func(d decimal.Decimal) int64 { f, ok := scrm.ToFen(d); require.True(t, ok); return f }
	for _, order := range []member.PayOrder{member.PayProportional, member.PayBonusLast} {
		for _, withGrants := range []bool{false, true} {
			for seed := uint64(1); seed <= 150; seed++ {
				name := fmt.Sprintf("%s/grants=%v/%d", order, withGrants, seed)
				f, svc := newValueService(t, order)
				rng := rand.New(rand.NewPCG(seed, 77))
				const c scrm.CustomerID = "C1"
				var pIn, bIn, gIn, spent, withdrawn, kept, forfeited, withdrawals int64
				var crossRefund bool
				type payment struct {
					order string
					left  int64
					cycle int64
				}
				var pays []*payment
				var replays []func() (bool, error)
				var log []string
				acct := func() member.ValueAccount {
					a, err := f.store.ValueAccount(bg, tenant, c)
					if errors.Is(err, scrm.ErrNotFound) {
						return member.ValueAccount{}
					}
					require.NoError(t, err)
					return a
				}
				fail := func(format string, args ...any) {
					t.Helper()
					t.Fatalf("%s: %s\nsteps:\n%v", name, fmt.Sprintf(format, args...), log)
				}
				for i := range 60 {
					key := fmt.Sprintf("k%d", i)
					a := acct()
					total := a.Principal + a.Bonus
					switch op := rng.IntN(12); {
					case op < 3:
						amount := []int64{30000, 100000, 29999, 1 + rng.Int64N(50000), 30000 + rng.Int64N(200000)}[rng.IntN(5)]
						req := member.TopUpRequest{Tenant: tenant, Customer: c, IdempotencyKey: key, Amount: scrm.FromFen(amount)}
						r, err := svc.TopUp(bg, req)
						require.NoError(t, err)
						pIn += amount
						bIn += toFen(r.Bonus)
						log = append(log, fmt.Sprintf("topup %d (+%d)", amount, toFen(r.Bonus)))
						replays = append(replays, func() (bool, error) { r, err := svc.TopUp(bg, req); return r.Replayed, err })
					case op < 4:
						if !withGrants {
							continue
						}
						amount := 1 + rng.Int64N(3000)
						g := scrm.Grant{Tenant: tenant, Customer: c, IdempotencyKey: key,
							Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.FromFen(amount)}}
						require.NoError(t, svc.Grant(bg, g))
						gIn += amount
						log = append(log, fmt.Sprintf("grant %d", amount))
						replays = append(replays, func() (bool, error) { return true, svc.Grant(bg, g) })
					case op < 8:
						if total == 0 {
							continue
						}
						var amount int64
						switch rng.IntN(4) {
						case 0:
							amount = total // run the balances to zero
						case 1:
							amount = 1 + rng.Int64N(min(total, 30))
						default:
							amount = 1 + rng.Int64N(total)
						}
						req := member.PayRequest{Tenant: tenant, Customer: c, IdempotencyKey: key, OrderID: "o" + key, Amount: scrm.FromFen(amount)}
						r, err := svc.Pay(bg, req)
						require.NoError(t, err)
						pp, bb := toFen(r.Principal), toFen(r.Bonus)
						if pp < 0 || bb < 0 || pp+bb != amount || pp > a.Principal || bb > a.Bonus {
							fail("pay %d split %d/%d from %d/%d", amount, pp, bb, a.Principal, a.Bonus)
						}
						spent += amount
						pays = append(pays, &payment{order: "o" + key, left: amount, cycle: withdrawals})
						log = append(log, fmt.Sprintf("pay %s %d -> %d/%d", "o"+key, amount, pp, bb))
						replays = append(replays, func() (bool, error) { r, err := svc.Pay(bg, req); return r.Replayed, err })
					case op < 11:
						if len(pays) == 0 {
							continue
						}
						p := pays[rng.IntN(len(pays))]
						if p.left == 0 {
							continue
						}
						amount := p.left
						if rng.IntN(2) == 0 {
							amount = 1 + rng.Int64N(p.left)
						}
						req := member.RefundPaymentRequest{Tenant: tenant, Customer: c, IdempotencyKey: key, OrderID: p.order, Amount: scrm.FromFen(amount)}
						r, err := svc.RefundPayment(bg, req)
						require.NoError(t, err)
						pp, bb := toFen(r.Principal), toFen(r.Bonus)
						if pp < 0 || bb < 0 || pp+bb != amount {
							fail("refund %d split %d/%d", amount, pp, bb)
						}
						p.left -= amount
						spent -= amount
						if p.cycle != withdrawals {
							crossRefund = true // a payment of a withdrawn cycle: a known limit, see below
						}
						log = append(log, fmt.Sprintf("refund %s %d -> %d/%d", p.order, amount, pp, bb))
						replays = append(replays, func() (bool, error) { r, err := svc.RefundPayment(bg, req); return r.Replayed, err })
					default:
						req := member.WithdrawRequest{Tenant: tenant, Customer: c, IdempotencyKey: key}
						r, err := svc.Withdraw(bg, req)
						if errors.Is(err, scrm.ErrNotFound) || errors.Is(err, scrm.ErrExhausted) {
							continue
						}
						require.NoError(t, err)
						pd, kp, fo := toFen(r.Paid), toFen(r.Kept), toFen(r.Forfeited)
						if pd+kp != a.Principal || fo != a.Bonus {
							fail("withdraw paid %d kept %d forfeited %d of %d/%d", pd, kp, fo, a.Principal, a.Bonus)
						}
						withdrawn, kept, forfeited = withdrawn+pd, kept+kp, forfeited+fo
						withdrawals++
						log = append(log, fmt.Sprintf("withdraw paid %d kept %d forfeited %d", pd, kp, fo))
						replays = append(replays, func() (bool, error) { r, err := svc.Withdraw(bg, req); return r.Replayed, err })
						// Bonus effectively consumed: net spend less the
						// principal that did not come back.
						effBonus := spent - (pIn - withdrawn)
						if !crossRefund && !withGrants && 11*(effBonus-withdrawals) > spent {
							fail("withdrawal turned bonus into cash: spent %d, principal in %d, withdrawn %d (bonus consumed %d > 1/11 share %.2f)",
								spent, pIn, withdrawn, effBonus, float64(spent)/11)
						}
						if !crossRefund && withGrants && effBonus-withdrawals > gIn+(spent+10)/11 {
							fail("withdrawal turned bonus into cash: spent %d, principal in %d, withdrawn %d, granted %d", spent, pIn, withdrawn, gIn)
						}
					}
					// Replay a random earlier request: nothing changes.
					if len(replays) > 0 && rng.IntN(4) == 0 {
						before := acct()
						rp, err := replays[rng.IntN(len(replays))]()
						require.NoError(t, err)
						require.True(t, rp)
						if after := acct(); after != before {
							fail("replay changed the account: %+v -> %+v", before, after)
						}
					}
					a = acct()
					cy := a.Cycle
					switch {
					case a.Principal < 0 || a.Bonus < 0:
						fail("negative balance %+v", a)
					case cy.PrincipalIn != a.Principal+cy.PrincipalUsed || cy.BonusIn != a.Bonus+cy.BonusUsed:
						fail("cycle counters broken %+v", a)
					case cy.SettledPrincipal < 0 || cy.SettledBonus < 0 || cy.SettledPrincipal > cy.PrincipalUsed || cy.SettledBonus > cy.BonusUsed:
						fail("settled outside used %+v", a)
					case a.Withdrawn != withdrawn || a.Kept != kept || a.Forfeited != forfeited:
						fail("lifetime counters %+v", a)
					case pIn+bIn+gIn != a.Principal+a.Bonus+spent+withdrawn+kept+forfeited:
						fail("fen created or lost: in %d, held %d, spent %d, out %d", pIn+bIn+gIn, a.Principal+a.Bonus, spent, withdrawn+kept+forfeited)
					}
				}
			}
		}
	}
}

// TestRefundBandNeverReturnsBonusAsCash: a proportional refund moves its
// bonus part to the cycle's band edge by far more than "a few fen" when the
// cycle's mix changed after the payment, returning more principal than the
// payment drew; a later payment refunded after a withdrawal then comes back
// in its own (all-principal) split. The customer withdraws more cash than
// they ever paid in, with nothing spent.
func TestRefundBandNeverReturnsBonusAsCash(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "t1", "300")      // 300 + 30
	a := pay(t, svc, "C1", "A", "329.99") // 299.99 + 30
	topUp(t, svc, "C1", "t2", "299.99")   // no bonus
	b := pay(t, svc, "C1", "B", "300")
	t.Logf("A drew %s/%s, B drew %s/%s", a.Principal, a.Bonus, b.Principal, b.Bonus)
	ra, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "rA", OrderID: "A", Amount: dec("329.99")})
	require.NoError(t, err)
	t.Logf("refund A returned %s/%s", ra.Principal, ra.Bonus)
	w1, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w1"})
	require.NoError(t, err)
	_, err = svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "rB", OrderID: "B", Amount: dec("300")})
	require.NoError(t, err)
	w2, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w2"})
	require.NoError(t, err)
	cash := w1.Paid.Add(w2.Paid)
	t.Logf("withdrawn %s + %s = %s of 599.99 paid in, every order refunded", w1.Paid, w2.Paid, cash)
	require.True(t, cash.LessThanOrEqual(dec("599.99")), "withdrew %s, more than the 599.99 paid in", cash)
	require.True(t, ra.Principal.LessThanOrEqual(a.Principal), "refund of A returned %s principal, A drew %s", ra.Principal, a.Principal)
}

// TestReopenNeverReturnsBonusAsCash: the same through the settled use:
// the balances run out, a refund of the earlier payment reopens the cycle
// and is split at the whole cycle's proportion.
func TestReopenNeverReturnsBonusAsCash(t *testing.T) {
	_, svc := newValueService(t, member.PayProportional)
	topUp(t, svc, "C1", "t1", "300") // 300 + 30
	pay(t, svc, "C1", "A", "330")
	topUp(t, svc, "C1", "t2", "299.99") // settles A
	pay(t, svc, "C1", "B", "299.99")
	ra, err := svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "rA", OrderID: "A", Amount: dec("330")})
	require.NoError(t, err)
	t.Logf("refund A returned %s/%s (A drew 300/30)", ra.Principal, ra.Bonus)
	w1, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w1"})
	require.NoError(t, err)
	_, err = svc.RefundPayment(bg, member.RefundPaymentRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "rB", OrderID: "B", Amount: dec("299.99")})
	require.NoError(t, err)
	w2, err := svc.Withdraw(bg, member.WithdrawRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "w2"})
	require.NoError(t, err)
	cash := w1.Paid.Add(w2.Paid)
	t.Logf("withdrawn %s + %s = %s of 599.99 paid in, every order refunded", w1.Paid, w2.Paid, cash)
	require.True(t, cash.LessThanOrEqual(dec("599.99")), "withdrew %s, more than the 599.99 paid in", cash)
}

// TestPlanMultiplierRespectsCap: Earn checks the room for the order's
// points, then the plan's points multiplier (withPlanPoints) credits the
// extra with no check: an account one order short of 2^62 ended past it.
func TestPlanMultiplierRespectsCap(t *testing.T) {
	f := newPlanFixture(t, member.Options{})
	_, err := f.svc.Subscribe(bg, member.SubscribeRequest{Tenant: tenant, Customer: "C1", Plan: "monthly", IdempotencyKey: "sub", Paid: dec("18")})
	require.NoError(t, err)
	const maxBalance = int64(1) << 62
	const chunk = int64(1) << 50
	for i := range int(maxBalance/chunk) - 1 {
		require.NoError(t, f.svc.Grant(bg, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: fmt.Sprintf("g%d", i),
			Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: chunk}}))
	}
	require.NoError(t, f.svc.Grant(bg, scrm.Grant{Tenant: tenant, Customer: "C1", IdempotencyKey: "last",
		Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: chunk - 1500}}))
	require.Equal(t, maxBalance-1500, f.account(t, "C1").Points)
	r, err := f.svc.Earn(bg, member.EarnRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "o1", OrderID: "o1", Amount: dec("1000")})
	t.Logf("earn: %d points, err %v", r.Points, err)
	got := f.account(t, "C1").Points
	require.LessOrEqual(t, got, maxBalance, "balance %d is past the 2^62 cap by %d", got, got-maxBalance)
}

// TestMakeUpConcurrentSameKeyChargesOnce: concurrent make-ups with one key
// charge the cost exactly once when the make-up is recorded, and nothing
// when it fails (the date was already made up under another key).
func TestMakeUpConcurrentSameKeyChargesOnce(t *testing.T) {
	for round := range 20 {
		clock := scrmtest.NewClock(start)
		svc := member.New(member.NewMemoryStore(), nil, &member.Options{Options: scrm.Options{Clock: clock}})
		_, err := svc.PutProgram(bg, standard())
		require.NoError(t, err)
		rule := ladder()
		rule.Ladder = nil
		rule.MakeUpPerMonth = 5
		_, err = svc.PutCheckInRule(bg, rule)
		require.NoError(t, err)
		_, err = svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "adj", Points: 1000, Reason: "test", Operator: "op"})
		require.NoError(t, err)
		clock.Set(time.Date(2026, 3, 6, 10, 0, 0, 0, shanghai))
		points := func() int64 {
			a, err := svc.Account(bg, tenant, "C1")
			require.NoError(t, err)
			return a.Points
		}
		// The 4th is made up under another key first: "bad" must fail.
		_, err = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "other", Date: time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)})
		require.NoError(t, err)
		require.Equal(t, int64(980), points())
		const n = 12
		var wg sync.WaitGroup
		errsOK, errsBad := make([]error, n), make([]error, n)
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, errsOK[i] = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "good", Date: time.Date(2026, 3, 5, 9, 0, 0, 0, shanghai)})
			}()
			go func() {
				defer wg.Done()
				_, errsBad[i] = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "bad", Date: time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errsOK {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, scrm.ErrConflict, "round %d", round)
			}
		}
		require.Positive(t, ok, "round %d", round)
		for _, err := range errsBad {
			require.Error(t, err, "round %d", round)
		}
		require.Equal(t, int64(960), points(), "round %d: one charge for the make-up recorded, none for the failed one", round)
		// Sequential retries change nothing.
		for range 3 {
			_, err = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "good", Date: time.Date(2026, 3, 5, 9, 0, 0, 0, shanghai)})
			require.NoError(t, err)
			_, err = svc.MakeUp(bg, member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "bad", Date: time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)})
			require.Error(t, err)
		}
		require.Equal(t, int64(960), points(), "round %d: retries", round)
	}
}

// r6HookStore blocks the first make-up record of key "good" until released,
// and runs beforeAttempt1 before the ledger update of attempt 1's spend.
type r6HookStore struct {
	member.Store
	mu             sync.Mutex
	blocked        bool
	entered        chan struct{}
	release        chan struct{}
	beforeAttempt1 func()
}

func (s *r6HookStore) UpdateCheckIn(ctx context.Context, p member.CheckInParams, fn func(tx *member.CheckInTx) error) (member.CheckInRecord, bool, error) {
	s.mu.Lock()
	block := p.IdempotencyKey == "good" && !s.blocked
	if block {
		s.blocked = true
	}
	s.mu.Unlock()
	if block {
		close(s.entered)
		<-s.release
	}
	return s.Store.UpdateCheckIn(ctx, p, fn)
}

func (s *r6HookStore) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	if p.IdempotencyKey == "checkin.makeup.1:good" && s.beforeAttempt1 != nil {
		h := s.beforeAttempt1
		s.beforeAttempt1 = nil
		h()
	}
	return s.Store.Update(ctx, p, fn)
}

// TestMakeUpSecondRequestKeepsRecordedCharge: request 1 charges
// attempt 0 and is slow to record; request 2 with the same key finds the
// spend unrecorded and charges attempt 1 before returning attempt 0. That
// charge fails (no points left), so request 2 errors and attempt 0's charge
// stays: request 1 then records the make-up, paid once. (Returning attempt 0
// first, as the code did, left the make-up with no charge at all.)
func TestMakeUpSecondRequestKeepsRecordedCharge(t *testing.T) {
	store := &r6HookStore{Store: member.NewMemoryStore(), entered: make(chan struct{}), release: make(chan struct{})}
	clock := scrmtest.NewClock(start)
	svc := member.New(store, nil, &member.Options{Options: scrm.Options{Clock: clock}})
	_, err := svc.PutProgram(bg, standard())
	require.NoError(t, err)
	rule := ladder()
	rule.Ladder = nil
	_, err = svc.PutCheckInRule(bg, rule)
	require.NoError(t, err)
	_, err = svc.Adjust(bg, member.AdjustRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "adj", Points: 20, Reason: "test", Operator: "op"})
	require.NoError(t, err)
	clock.Set(time.Date(2026, 3, 6, 10, 0, 0, 0, shanghai))
	req := member.MakeUpRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "good", Date: time.Date(2026, 3, 5, 9, 0, 0, 0, shanghai)}
	// The customer has exactly the 20 points attempt 0 took, so request
	// 2's charge of attempt 1 fails: it must leave attempt 0's charge in
	// place for request 1 to record the make-up on.
	var err1 error
	done := make(chan struct{})
	go func() { defer close(done); _, err1 = svc.MakeUp(bg, req) }()
	<-store.entered
	_, err2 := svc.MakeUp(bg, req)
	close(store.release)
	<-done
	t.Logf("request 1: %v; request 2: %v", err1, err2)
	recs, err := store.CheckIns(bg, member.ListCheckInsParams{Tenant: tenant, Customer: "C1", From: 20260305, To: 20260305})
	require.NoError(t, err)
	if len(recs) == 0 || !recs[0].MakeUp {
		return // not recorded: nothing to pay for
	}
	var spent int64
	page, err := svc.Entries(bg, member.ListEntriesParams{Tenant: tenant, Customer: "C1", Limit: 100})
	require.NoError(t, err)
	for _, e := range page.Entries {
		t.Logf("%s %d %s", e.Kind, e.Points, e.Note)
		if e.Kind == member.EntrySpend || e.Kind == member.EntryRefund {
			spent -= e.Points
		}
	}
	require.Equal(t, int64(20), spent, "the recorded make-up (cost %d) is paid %d points", recs[0].Cost, spent)
}
