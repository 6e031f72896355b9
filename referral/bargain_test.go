package referral_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func saveBargain(t *testing.T, r *rig, b referral.Bargain) referral.Bargain {
	t.Helper()
	b.Tenant = tenant
	if b.ID == "" {
		b.ID = "bg1"
	}
	if b.Price.IsZero() {
		b.Price = scrm.Yuan("199.00")
	}
	if b.Helpers == 0 {
		b.Helpers = 5
	}
	if b.Duration == 0 {
		b.Duration = 24 * time.Hour
	}
	require.NoError(t, r.svc.SaveBargain(r.ctx, b))
	return b
}

func TestBargainReachesFloorExactly(t *testing.T) {
	r := newRig(t)
	b := saveBargain(t, r, referral.Bargain{Floor: scrm.Yuan("9.90"), Helpers: 7})
	sess, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	again, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	assert.Equal(t, sess.ID, again.ID, "one session per owner")
	assert.True(t, sess.Price.Equal(b.Price))

	total := decimal.Zero
	price := b.Price
	for i := range b.Helpers {
		r.clock.Advance(time.Minute)
		c, err := r.svc.Help(r.ctx, tenant, sess.ID, scrm.CustomerID(fmt.Sprintf("H%d", i)))
		require.NoError(t, err)
		assert.Equal(t, i+1, c.Index)
		assert.True(t, c.Amount.GreaterThanOrEqual(scrm.Yuan("0.01")))
		assert.True(t, scrm.IsFen(c.Amount))
		price = price.Sub(c.Amount)
		assert.True(t, c.Price.Equal(price))
		assert.True(t, price.GreaterThanOrEqual(b.Floor), "never below the floor")
		total = total.Add(c.Amount)
	}
	assert.True(t, total.Equal(b.Price.Sub(b.Floor)), "cuts sum to Price − Floor, got %s", total)
	sess, err = r.svc.Session(r.ctx, tenant, sess.ID)
	require.NoError(t, err)
	assert.True(t, sess.Completed())
	assert.True(t, sess.Price.Equal(b.Floor))
	require.Len(t, r.events.Of(referral.EventBargainCompleted), 1)

	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "late")
	requireRefused(t, err, scrm.ErrExhausted, referral.ReasonBargainComplete)

	// Reproducible from the recorded seed.
	plan, err := sess.Terms.Plan(sess.Seed, make([]bool, b.Helpers))
	require.NoError(t, err)
	require.Len(t, plan, b.Helpers)
	for i, c := range sess.Cuts {
		assert.True(t, plan[i].Equal(c.Amount), "cut %d: plan %s, got %s", i+1, plan[i], c.Amount)
	}
}

func TestBargainRefusals(t *testing.T) {
	r := newRig(t)
	saveBargain(t, r, referral.Bargain{Floor: scrm.Yuan("1.00")})
	sess, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "O")
	requireRefused(t, err, scrm.ErrForbidden, referral.ReasonSelfHelp)
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H")
	require.NoError(t, err)
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H")
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonAlreadyHelped)
	_, err = r.svc.Help(r.ctx, tenant, "nope", "H")
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	r.clock.Advance(24 * time.Hour)
	_, err = r.svc.Help(r.ctx, tenant, sess.ID, "H2")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonSessionExpired)
	got, err := r.svc.Session(r.ctx, tenant, sess.ID)
	require.NoError(t, err)
	assert.Len(t, got.Cuts, 1, "an expired session is not changed")

	fresh, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	assert.NotEqual(t, sess.ID, fresh.ID, "after expiry the owner may start again")
}

func TestBargainValidation(t *testing.T) {
	tests := []struct {
		name  string
		b     referral.Bargain
		field string
	}{
		{"floor at price", referral.Bargain{Price: scrm.Yuan("10"), Floor: scrm.Yuan("10"), Helpers: 1, Duration: time.Hour}, "Floor"},
		{"too many helpers for the amount", referral.Bargain{Price: scrm.Yuan("1.00"), Floor: scrm.Yuan("0.95"), Helpers: 6, Duration: time.Hour}, "Helpers"},
		{"no helpers", referral.Bargain{Price: scrm.Yuan("10"), Duration: time.Hour}, "Helpers"},
		{"price below the fen", referral.Bargain{Price: scrm.Yuan("10.001"), Helpers: 1, Duration: time.Hour}, "Price"},
		{"negative floor", referral.Bargain{Price: scrm.Yuan("10"), Floor: scrm.Yuan("-1"), Helpers: 1, Duration: time.Hour}, "Floor"},
		{"no duration", referral.Bargain{Price: scrm.Yuan("10"), Helpers: 1}, "Duration"},
		{"boost too large", referral.Bargain{Price: scrm.Yuan("10"), Helpers: 1, Duration: time.Hour, NewHelperBoost: 5000}, "NewHelperBoost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			tt.b.Tenant, tt.b.ID = tenant, "bg1"
			err := r.svc.SaveBargain(r.ctx, tt.b)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field)
			_, err = r.svc.Start(r.ctx, tenant, "bg1", "O")
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		})
	}
}

// TestBargainPlanProperties checks, over many random bargains, seeds and
// helpers, that the cuts are whole fen, at least one fen each, and sum to
// exactly Price − Floor, so the price never leaves [Floor, Price].
func TestBargainPlanProperties(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		helpers := 1 + rnd.IntN(40)
		floor := rnd.Int64N(100_00)
		spread := int64(helpers) + rnd.Int64N(500_00)
		b := referral.Bargain{Tenant: tenant, ID: "b", Price: scrm.FromFen(floor + spread), Floor: scrm.FromFen(floor),
			Helpers: helpers, Duration: time.Hour, NewHelperBoost: []int{0, 150, 300, 1000}[rnd.IntN(4)]}
		news := make([]bool, helpers)
		for i := range news {
			news[i] = rnd.IntN(3) == 0
		}
		seed := rnd.Uint64()
		plan, err := b.Plan(seed, news)
		require.NoError(t, err)
		require.Len(t, plan, helpers)
		total := int64(0)
		for i, c := range plan {
			fen, ok := scrm.ToFen(c)
			require.True(t, ok)
			require.GreaterOrEqual(t, fen, int64(1), "cut %d of %+v", i, b)
			total += fen
			require.LessOrEqual(t, total, spread, "below the floor after cut %d", i)
		}
		require.Equal(t, spread, total)
		again, err := b.Plan(seed, news)
		require.NoError(t, err)
		require.Equal(t, plan, again)
	}
}

func TestBargainNewCustomersCutMore(t *testing.T) {
	b := referral.Bargain{Tenant: tenant, ID: "b", Price: scrm.Yuan("100"), Floor: scrm.Yuan("0"), Helpers: 10,
		Duration: time.Hour, NewHelperBoost: 200}
	var oldSum, newSum int64
	for seed := range uint64(2000) {
		old, err := b.Plan(seed, []bool{false})
		require.NoError(t, err)
		fresh, err := b.Plan(seed, []bool{true})
		require.NoError(t, err)
		require.True(t, fresh[0].GreaterThanOrEqual(old[0]), "seed %d: a new helper cuts no less", seed)
		o, _ := scrm.ToFen(old[0])
		n, _ := scrm.ToFen(fresh[0])
		oldSum += o
		newSum += n
	}
	assert.Greater(t, float64(newSum)/float64(oldSum), 1.8, "about twice as much on average")

	// Through the service: a helper with a paid order is not new.
	r := newRig(t)
	saveBargain(t, r, referral.Bargain{Price: scrm.Yuan("100"), Floor: scrm.Yuan("0"), Helpers: 10, NewHelperBoost: 200})
	r.pay("regular", "10.00", "o1")
	sess, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	c1, err := r.svc.Help(r.ctx, tenant, sess.ID, "regular")
	require.NoError(t, err)
	assert.False(t, c1.New)
	c2, err := r.svc.Help(r.ctx, tenant, sess.ID, "newbie")
	require.NoError(t, err)
	assert.True(t, c2.New)
	plan, err := sess.Terms.Plan(sess.Seed, []bool{false, true})
	require.NoError(t, err)
	assert.True(t, plan[0].Equal(c1.Amount))
	assert.True(t, plan[1].Equal(c2.Amount))
}

func TestBargainConcurrentHelps(t *testing.T) {
	r := newRig(t)
	b := saveBargain(t, r, referral.Bargain{Price: scrm.Yuan("50.00"), Floor: scrm.Yuan("0.01"), Helpers: 20})
	sess, err := r.svc.Start(r.ctx, tenant, "bg1", "O")
	require.NoError(t, err)
	const n = 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.svc.Help(r.ctx, tenant, sess.ID, scrm.CustomerID(fmt.Sprintf("H%02d", i)))
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
				return
			}
			assert.ErrorIs(t, err, referral.ReasonBargainComplete)
		}()
	}
	wg.Wait()
	assert.Equal(t, b.Helpers, ok)
	sess, err = r.svc.Session(r.ctx, tenant, sess.ID)
	require.NoError(t, err)
	total := decimal.Zero
	for i, c := range sess.Cuts {
		assert.Equal(t, i+1, c.Index)
		total = total.Add(c.Amount)
	}
	assert.True(t, total.Equal(b.Price.Sub(b.Floor)), total.String())
	assert.True(t, sess.Price.Equal(b.Floor))
	plan, err := sess.Terms.Plan(sess.Seed, make([]bool, b.Helpers))
	require.NoError(t, err)
	for i, c := range sess.Cuts {
		assert.True(t, plan[i].Equal(c.Amount), "the race does not change the cuts, only who gets which")
	}
}
