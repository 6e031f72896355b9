package referral_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// Shortening a program's SettleAfter must not pay entries that are already
// stored with a later DueAt before that DueAt: their return window was set
// when they were recorded, and a refund inside it must still reverse them.
func TestShortenedSettleAfterKeepsStoredDueAt(t *testing.T) {
	r := newRig(t)
	p := r.save(referral.Program{Percent: scrm.Yuan("0.1"), Commission: rates("0.05"), SettleAfter: 7 * day})
	r.mustBind("B", "A")
	ev := r.pay("B", "100.00", "o1") // 10.00 percent + 5.00 commission, due t0+7d
	require.Empty(t, r.rewards.For("A"))

	// The merchant shortens the return window for future orders.
	p.SettleAfter = 0
	require.NoError(t, r.svc.SaveProgram(r.ctx, p))

	// The qualifying event is delivered again (at-least-once delivery).
	r.clock.Advance(time.Hour)
	require.NoError(t, r.svc.Handle(r.ctx, ev))

	assert.Empty(t, r.rewards.For("A"), "entries stored with DueAt t0+7d were paid at t0+1h")

	// A refund inside the original window must reverse them.
	r.clock.Advance(day)
	r.event("B", scrm.EventOrderRefunded, "100.00", "o1")
	st, err := r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.True(t, st.Settled.IsZero(), "settled %s before the window closed", st.Settled)
	assert.True(t, st.Reversed.Equal(scrm.Yuan("15.00")), "reversed %s, want 15.00", st.Reversed)
}

// Same as above, through Approve called again (which "only finishes any
// grant that failed"): the second Approve does not pay early either.
func TestReapproveAfterShortenedSettleAfterKeepsStoredDueAt(t *testing.T) {
	r := newRig(t)
	p := referral.Program{Commission: rates("0.1"), SettleAfter: 7 * day}
	p.Fraud.SameDevice = referral.ActionReview
	p = r.save(p)
	require.NoError(t, r.svc.Observe(r.ctx, tenant, "A", referral.Signals{Device: "d"}))
	r.mustBind("B", "A", referral.Signals{Device: "d"})
	r.pay("B", "100.00", "o1")
	_, err := r.svc.Approve(r.ctx, tenant, "B")
	require.NoError(t, err)
	require.Empty(t, r.rewards.For("A"))

	p.SettleAfter = 0
	require.NoError(t, r.svc.SaveProgram(r.ctx, p))
	r.clock.Advance(time.Hour)
	_, err = r.svc.Approve(r.ctx, tenant, "B")
	require.NoError(t, err)
	assert.Empty(t, r.rewards.For("A"), "commission due t0+7d paid at t0+1h by a second Approve")
}

// Edge cases not covered elsewhere.

func TestRefundDeliveredBeforePaymentReversesIt(t *testing.T) {
	r := newRig(t)
	r.save(twoLevelProgram())
	r.mustBind("A", "Z")
	r.mustBind("B", "A")
	r.clock.Advance(day)
	payTime := r.clock.Now()
	r.clock.Advance(time.Hour)
	// The refund arrives before the payment it refunds.
	r.event("B", scrm.EventOrderRefunded, "199.90", "o1")
	require.NoError(t, r.dispatch.Publish(r.ctx, scrm.Event{ID: "late-pay", Tenant: tenant, Customer: "B",
		Type: scrm.EventOrderPaid, Time: payTime, Amount: scrm.Yuan("199.90"), Props: map[string]any{"order_id": "o1"}}))
	r.clock.Advance(30 * day)
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Settled)
	assert.Empty(t, r.rewards.Calls())
}

func TestSameOrderUnderManyEventIDsPaysOnce(t *testing.T) {
	for _, first := range []bool{false, true} {
		t.Run(fmt.Sprint(first), func(t *testing.T) {
			r := newRig(t)
			r.save(referral.Program{Qualify: referral.Qualify{FirstOnly: first}, Percent: scrm.Yuan("0.1"),
				Commission: rates("0.05", "0.02"), InviterRewards: []scrm.Reward{points(10)}})
			r.mustBind("A", "Z")
			r.mustBind("B", "A")
			r.clock.Advance(time.Hour)
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e := scrm.Event{ID: fmt.Sprintf("e%d", i), Tenant: tenant, Customer: "B", Type: scrm.EventOrderPaid,
						Time: r.clock.Now(), Amount: scrm.Yuan("33.35"), Props: map[string]any{"order_id": "o1"}}
					assert.NoError(t, r.dispatch.Publish(r.ctx, e))
				}()
			}
			wg.Wait()
			// 10% of 33.35 = 3.335 → 3.34; 5% = 1.6675 → 1.67; 2% = 0.667 → 0.67
			assert.True(t, r.rewards.sum("A", scrm.RewardStoredValue).Equal(scrm.Yuan("5.01")), r.rewards.sum("A", scrm.RewardStoredValue).String())
			assert.True(t, r.rewards.sum("Z", scrm.RewardStoredValue).Equal(scrm.Yuan("0.67")), r.rewards.sum("Z", scrm.RewardStoredValue).String())
			assert.Len(t, r.rewards.For("A"), 3)
		})
	}
}

func TestPercentShareRoundsThenCaps(t *testing.T) {
	tests := []struct{ amount, percent, cap, want string }{
		{"999.95", "0.1", "100.00", "100.00"},  // 99.995 → 100.00 = cap
		{"999.94", "0.1", "100.00", "99.99"},   // 99.994 → 99.99
		{"1000.05", "0.1", "100.00", "100.00"}, // above cap
		{"0.05", "0.1", "0", "0.01"},           // 0.005 → 0.01
		{"0.01", "0.5", "0", "0.01"},           // 0.005 → 0.01
		{"0.01", "0.4999", "0", "0.00"},
		{"12345.67", "0.0333", "0", "411.11"}, // 411.110811
		{"99.99", "0.0005", "0.05", "0.05"},   // 0.049995 → 0.05
	}
	for _, tt := range tests {
		t.Run(tt.amount+"x"+tt.percent, func(t *testing.T) {
			r := newRig(t)
			r.save(referral.Program{Percent: scrm.Yuan(tt.percent), PercentCap: scrm.Yuan(tt.cap)})
			r.mustBind("B", "A")
			r.pay("B", tt.amount, "o1")
			got := r.rewards.sum("A", scrm.RewardStoredValue)
			assert.True(t, got.Equal(scrm.Yuan(tt.want)), "got %s want %s", got, tt.want)
		})
	}
}

func TestBargainConcurrentBoostedHelpsFollowThePlan(t *testing.T) {
	r := newRig(t)
	b := saveBargain(t, r, referral.Bargain{Price: scrm.Yuan("0.50"), Floor: scrm.Yuan("0.01"), Helpers: 7, NewHelperBoost: 1000})
	sess, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.svc.Help(r.ctx, tenant, sess.ID, scrm.CustomerID(fmt.Sprintf("H%02d", i)))
		}()
	}
	wg.Wait()
	got, err := r.svc.Session(r.ctx, tenant, sess.ID)
	require.NoError(t, err)
	require.Len(t, got.Cuts, b.Helpers)
	sum := decimal.Zero
	news := make([]bool, len(got.Cuts))
	for i, c := range got.Cuts {
		sum = sum.Add(c.Amount)
		news[i] = c.New
	}
	assert.True(t, sum.Equal(scrm.Yuan("0.49")), sum.String())
	assert.True(t, got.Price.Equal(b.Floor))
	plan, err := got.Terms.Plan(got.Seed, news)
	require.NoError(t, err)
	for i := range plan {
		assert.True(t, plan[i].Equal(got.Cuts[i].Amount))
	}
	assert.Len(t, r.events.Of(referral.EventBargainCompleted), 1)
}

// A program edit that changes one reward must not block the retry of
// another, unchanged reward whose grant failed before the edit.
func TestEditedRewardDoesNotBlockRetryOfFailedGrant(t *testing.T) {
	r := newRig(t)
	p := r.save(referral.Program{InviteeOnQualify: []scrm.Reward{points(100)}, InviterRewards: []scrm.Reward{coupon("A")}})
	r.mustBind("B", "A")
	r.rewards.failNext(errors.New("member service down")) // the invitee's points (granted first)
	ev := scrm.Event{ID: "pay1", Tenant: tenant, Customer: "B", Type: scrm.EventOrderPaid, Time: r.clock.Now(),
		Amount: scrm.Yuan("50.00"), Props: map[string]any{"order_id": "o1"}}
	require.Error(t, r.svc.Handle(r.ctx, ev))
	require.Equal(t, []string{"A"}, templates(r.rewards.For("A")))
	require.Empty(t, r.rewards.For("B"))

	// The merchant swaps the inviter's coupon for new invitees.
	p.InviterRewards = []scrm.Reward{coupon("A2")}
	require.NoError(t, r.svc.SaveProgram(r.ctx, p))

	// The redelivery retries the invitee's unchanged, failed grant.
	err := r.svc.Handle(r.ctx, ev)
	assert.NoError(t, err)
	assert.Equal(t, []string{"points:100"}, templates(r.rewards.For("B")), "the invitee's reward is never retried")
}

// failingPublisher fails the first publish of an event type, then passes
// everything to next.
type failingPublisher struct {
	mu     sync.Mutex
	next   scrm.Publisher
	typ    string
	failed bool
}

func (f *failingPublisher) Publish(ctx context.Context, e scrm.Event) error {
	f.mu.Lock()
	fail := !f.failed && e.Type == f.typ
	if fail {
		f.failed = true
	}
	f.mu.Unlock()
	if fail {
		return errors.New("broker down")
	}
	return f.next.Publish(ctx, e)
}

// Help returns ErrUnavailable ("safe to retry") when the completion event
// cannot be published; after every retry a host can make (Help, Start,
// Session, Sweep) the event is published, once.
func TestBargainCompletedEventRepublishedAfterPublishFailure(t *testing.T) {
	r := newRig(t, func(o *referral.Options) {
		o.Publisher = &failingPublisher{next: o.Publisher, typ: referral.EventBargainCompleted}
	})
	saveBargain(t, r, referral.Bargain{Price: scrm.Yuan("10.00"), Floor: scrm.Yuan("1.00"), Helpers: 2})
	sess, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H1")
	require.NoError(t, err)
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H2")
	require.ErrorIs(t, err, scrm.ErrUnavailable)

	// Every retry a host can make.
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H2")
	t.Logf("retried Help: %v", err)
	_, err = r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	_, err = r.svc.Session(r.ctx, tenant, sess.ID)
	require.NoError(t, err)
	_, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Len(t, r.events.Of(referral.EventBargainCompleted), 1, "the completion event is never published")
}

func TestConcurrentPayRefundSettleReversesInsideWindow(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{Percent: scrm.Yuan("0.1"), Commission: rates("0.05", "0.01"), SettleAfter: time.Hour})
	r.mustBind("A", "Z")
	n := 60
	for i := range n {
		r.mustBind(scrm.CustomerID(fmt.Sprintf("B%02d", i)), "A")
	}
	var wg sync.WaitGroup
	for i := range n {
		c := scrm.CustomerID(fmt.Sprintf("B%02d", i))
		pay := scrm.Event{ID: "pay-" + string(c), Tenant: tenant, Customer: c, Type: scrm.EventOrderPaid, Time: t0,
			Amount: scrm.Yuan("10.01"), Props: map[string]any{"order_id": "o-" + string(c)}}
		refund := scrm.Event{ID: "ref-" + string(c), Tenant: tenant, Customer: c, Type: scrm.EventOrderRefunded, Time: t0.Add(30 * time.Minute),
			Amount: scrm.Yuan("10.01"), Props: map[string]any{"order_id": "o-" + string(c)}}
		for k := range 3 {
			wg.Add(2)
			go func() { defer wg.Done(); _ = r.svc.Handle(r.ctx, pay) }()
			go func() {
				defer wg.Done()
				if i%2 == 0 || k > 0 {
					_ = r.svc.Handle(r.ctx, refund)
				}
			}()
		}
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = r.svc.Settle(r.ctx, tenant) }()
	}
	wg.Wait()
	r.clock.Advance(2 * time.Hour)
	_, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Empty(t, r.rewards.Calls(), "every order was refunded inside the window")
	st, err := r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.True(t, st.Pending.IsZero(), st.Pending.String())
	// 60 × (1.00 + 0.50)
	assert.True(t, st.Reversed.Equal(scrm.Yuan("90.00")), st.Reversed.String())
}

// Entries kept from before a shortened SettleAfter are paid at their own
// DueAt, by Settle, and not before.
func TestShortenedSettleAfterPaysStoredEntriesAtTheirDueAt(t *testing.T) {
	r := newRig(t)
	p := r.save(referral.Program{Percent: scrm.Yuan("0.1"), Commission: rates("0.05"), SettleAfter: 7 * day})
	r.mustBind("B", "A")
	ev := r.pay("B", "100.00", "o1")
	p.SettleAfter = 0
	require.NoError(t, r.svc.SaveProgram(r.ctx, p))
	r.clock.Advance(time.Hour)
	require.NoError(t, r.svc.Handle(r.ctx, ev))

	r.clock.Set(t0.Add(7*day - time.Second))
	res, err := r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Zero(t, res.Settled)
	assert.Empty(t, r.rewards.For("A"))

	r.clock.Set(t0.Add(7 * day))
	res, err = r.svc.Settle(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Settled)
	assert.True(t, r.rewards.sum("A", scrm.RewardStoredValue).Equal(scrm.Yuan("15.00")), r.rewards.sum("A", scrm.RewardStoredValue).String())
}

// A replayed Bind after the merchant edited one of the bind rewards
// retries the failed one and leaves the granted one as it was granted.
func TestEditedBindRewardDoesNotBlockBindReplay(t *testing.T) {
	r := newRig(t)
	p := r.save(referral.Program{InviteeOnBind: []scrm.Reward{points(100), coupon("N")}})
	r.rewards.failNext(errors.New("member service down")) // the points, granted first
	req := referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", Code: r.code("A"), IdempotencyKey: "bind-B"}
	_, err := r.svc.Bind(r.ctx, req)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.Equal(t, []string{"N"}, templates(r.rewards.For("B")))

	p.InviteeOnBind = []scrm.Reward{points(100), coupon("N2")}
	require.NoError(t, r.svc.SaveProgram(r.ctx, p))
	_, err = r.svc.Bind(r.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"N", "points:100"}, templates(r.rewards.For("B")))
}

// Without any retried Help, Sweep publishes a completion whose publish
// failed, once.
func TestSweepPublishesUnreportedBargainCompletion(t *testing.T) {
	r := newRig(t, func(o *referral.Options) {
		o.Publisher = &failingPublisher{next: o.Publisher, typ: referral.EventBargainCompleted}
	})
	saveBargain(t, r, referral.Bargain{Price: scrm.Yuan("10.00"), Floor: scrm.Yuan("1.00"), Helpers: 1})
	sess, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H1")
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.Empty(t, r.events.Of(referral.EventBargainCompleted))

	res, err := r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.SessionsReported)
	got := r.events.Of(referral.EventBargainCompleted)
	require.Len(t, got, 1)
	assert.Equal(t, "O", string(got[0].Customer))
	assert.True(t, got[0].Amount.Equal(scrm.Yuan("1.00")))
	stored, err := r.svc.Session(r.ctx, tenant, sess.ID)
	require.NoError(t, err)
	assert.True(t, stored.Reported)

	res, err = r.svc.Sweep(r.ctx, tenant)
	require.NoError(t, err)
	assert.Zero(t, res.SessionsReported, "reported once")
	r.events.mu.Lock()
	n := len(r.events.all)
	r.events.mu.Unlock()
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H2")
	requireRefused(t, err, scrm.ErrExhausted, referral.ReasonBargainComplete)
	r.events.mu.Lock()
	assert.Len(t, r.events.all, n, "a reported completion is not published again")
	r.events.mu.Unlock()
}

// ParseCode names the character typed, not the first byte of its UTF-8
// encoding: a full-width digit typed in a Chinese IME's full-width mode
// ("７") was reported as 'ï', an ideographic space as 'ã'.
func TestParseCodeNamesTheCharacterTyped(t *testing.T) {
	for _, c := range []struct {
		in   string
		char rune
	}{
		{"７ABCDEFGH", '７'},
		{"ABCD\u3000EFGHJ", '\u3000'},
		{"ABCDEFGHÉ", 'É'},
	} {
		_, err := referral.ParseCode(c.in)
		require.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", c.char), "input %q: the error should name the character typed", c.in)
	}
}
