package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func rewarded() member.Program {
	p := standard()
	p.Tiers[1].UpgradeRewards = []scrm.Reward{{Kind: scrm.RewardPoints, Points: 100}}
	p.Tiers[2].UpgradeRewards = []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "gold-gift"}}
	p.Tiers[3].UpgradeRewards = []scrm.Reward{{Kind: scrm.RewardPoints, Points: 1000}, {Kind: scrm.RewardGrowth, Points: 50}}
	return p
}

func (f *fixture) refund(t testing.TB, customer scrm.CustomerID, key, order, amount string) member.RefundResult {
	t.Helper()
	r, err := f.svc.Refund(context.Background(), member.RefundRequest{Tenant: tenant, Customer: customer, IdempotencyKey: key,
		OrderID: order, Amount: dec(amount)})
	require.NoError(t, err)
	return r
}

func tierEvents(f *fixture) [][2]string {
	var out [][2]string
	for _, e := range f.events.ofType(scrm.EventTierChanged) {
		out = append(out, [2]string{e.Prop("from"), e.Prop("to")})
	}
	return out
}

func TestCumulativeTiers(t *testing.T) {
	f := newFixture(t, rewarded())

	// 600 growth reaches 银卡, crossing 普卡: the silver reward is granted.
	r := f.earn(t, "c1", "o1", "600.00")
	assert.Equal(t, &member.TierChange{From: "", To: "silver"}, r.TierChange)
	g := f.grants.list()
	require.Len(t, g, 1)
	assert.Equal(t, scrm.RewardPoints, g[0].Reward.Kind)
	assert.Equal(t, int64(100), g[0].Reward.Points)
	assert.Equal(t, "member:upgrade:silver", g[0].Source)
	a := f.account(t, "c1")
	assert.Equal(t, int64(700), a.Points, "600 earned + 100 reward")
	assert.Equal(t, "银卡", a.TierName)
	assert.True(t, a.TierValidUntil.IsZero(), "a cumulative tier never expires")

	// A full refund takes the tier down to the one growth 0 qualifies for.
	rf := f.refund(t, "c1", "rf1", "o1", "600.00")
	assert.Equal(t, &member.TierChange{From: "silver", To: "normal"}, rf.TierChange)

	// Reaching 银卡 again grants nothing: once per tier, ever.
	f.earn(t, "c1", "o2", "600.00")
	assert.Equal(t, "silver", f.account(t, "c1").Tier)
	assert.Len(t, f.grants.list(), 1)

	// A jump to 钻卡 grants the crossed 金卡's reward and 钻卡's.
	f.earn(t, "c1", "o3", "5000.00")
	g = f.grants.list()
	require.Len(t, g, 4)
	assert.Equal(t, "gold-gift", g[1].Reward.Template)
	assert.Equal(t, int64(1000), g[2].Reward.Points)
	assert.Equal(t, scrm.RewardGrowth, g[3].Reward.Kind)
	a = f.account(t, "c1")
	assert.Equal(t, "diamond", a.Tier)
	assert.Equal(t, int64(5600+50), a.Growth, "the growth reward was credited")

	assert.Equal(t, [][2]string{{"", "silver"}, {"silver", "normal"}, {"normal", "silver"}, {"silver", "diamond"}}, tierEvents(f))
	// Reward keys are distinct and deterministic.
	seen := map[string]bool{}
	for _, gr := range g {
		assert.False(t, seen[gr.IdempotencyKey])
		seen[gr.IdempotencyKey] = true
	}

	// Replaying the earn republishes the same event and regrants with the
	// same keys: downstream dedups, the ledger does not change.
	before := len(f.events.ofType(scrm.EventTierChanged))
	_, err := f.svc.Earn(context.Background(), member.EarnRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "o3", OrderID: "o3", Amount: dec("5000.00")})
	require.NoError(t, err)
	evs := f.events.ofType(scrm.EventTierChanged)
	require.Len(t, evs, before+1)
	assert.Equal(t, evs[before-1].ID, evs[before].ID)
	g2 := f.grants.list()
	require.Len(t, g2, 7)
	for i := 4; i < 7; i++ {
		assert.Equal(t, g[i-3].IdempotencyKey, g2[i].IdempotencyKey)
	}
	assert.Equal(t, a.Points, f.account(t, "c1").Points, "regranting the same keys adds nothing")
}

// TestDowngradeModes: a loss of growth value (a refund, a negative Adjust)
// goes straight to the tier the remaining growth qualifies for whatever the
// Downgrade mode, so a refunded order cannot buy a tier; the mode limits
// only the downgrades time causes (here a month leaving the Rolling window),
// which OneDown takes one tier at a time.
func TestDowngradeModes(t *testing.T) {
	for _, tt := range []struct {
		mode   member.Downgrade
		byTime string
	}{{member.OneDown, "gold"}, {member.Recompute, "normal"}, {"", "gold"}} {
		t.Run(string(tt.mode), func(t *testing.T) {
			p := standard()
			p.TierPolicy.Downgrade = tt.mode
			f := newFixture(t, p)
			f.earn(t, "c1", "o1", "600.00")
			f.earn(t, "c1", "o2", "5000.00")
			require.Equal(t, "diamond", f.account(t, "c1").Tier)
			r := f.refund(t, "c1", "rf", "o2", "5000.00")
			assert.Equal(t, &member.TierChange{From: "diamond", To: "silver"}, r.TierChange, "a refund: straight to the qualifying tier")
			a := f.account(t, "c1")
			assert.Equal(t, "silver", a.Tier)
			assert.Equal(t, int64(600), a.Growth)
			// A later gain does not downgrade further.
			f.earn(t, "c1", "o3", "1.00")
			assert.Equal(t, "silver", f.account(t, "c1").Tier)

			// A negative Adjust too.
			f.earn(t, "c2", "o4", "5000.00")
			adj, err := f.svc.Adjust(context.Background(), member.AdjustRequest{Tenant: tenant, Customer: "c2", IdempotencyKey: "a1",
				Growth: -4400, Reason: "correction", Operator: "op"})
			require.NoError(t, err)
			assert.Equal(t, &member.TierChange{From: "diamond", To: "silver"}, adj.TierChange)

			// Time: when 钻卡's month leaves a one-month Rolling window,
			// OneDown drops one tier, Recompute to the qualifying one.
			p.TierPolicy = member.TierPolicy{Kind: member.Rolling, Months: 1, Downgrade: tt.mode}
			f = newFixture(t, p)
			f.earn(t, "c1", "o1", "5000.00")
			require.Equal(t, "diamond", f.account(t, "c1").Tier)
			f.clock.Set(time.Date(2026, 4, 1, 0, 0, 1, 0, shanghai))
			_, err = f.svc.Sweep(context.Background(), tenant)
			require.NoError(t, err)
			assert.Equal(t, tt.byTime, f.account(t, "c1").Tier)
		})
	}
}

func TestValidityTiers(t *testing.T) {
	ctx := context.Background()
	p := rewarded()
	p.TierPolicy = member.TierPolicy{Kind: member.Validity, Months: 6}
	f := newFixture(t, p)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, shanghai) }

	// 2 March: 2500 growth reaches 金卡 until the end of 2 September.
	f.earn(t, "c1", "o1", "2500.00")
	a := f.account(t, "c1")
	require.Equal(t, "gold", a.Tier)
	assert.Equal(t, day(2026, 9, 3), a.TierValidUntil)
	goldRewards := func() int {
		n := 0
		for _, g := range f.grants.list() {
			if g.Reward.Template == "gold-gift" {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 1, goldRewards())

	// A refund inside the period drops to 银卡; earning back to 金卡 in the
	// same period starts a new period but grants no second gold reward.
	f.clock.Set(time.Date(2026, 4, 10, 12, 0, 0, 0, shanghai))
	f.refund(t, "c1", "rf1", "o1", "1000.00")
	assert.Equal(t, "silver", f.account(t, "c1").Tier)
	f.earn(t, "c1", "o2", "1000.00")
	a = f.account(t, "c1")
	assert.Equal(t, "gold", a.Tier)
	assert.Equal(t, day(2026, 10, 11), a.TierValidUntil, "upgrading starts a new period")
	assert.Equal(t, 1, goldRewards(), "once per tier per period")

	// The period ends: 1000 is deducted (2500 → 1500) and the tier drops
	// one step to 银卡, which starts its own period.
	f.clock.Set(day(2026, 10, 11).Add(-time.Second))
	res, err := f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Zero(t, res.Accounts, "nothing due a second early")
	f.clock.Set(day(2026, 10, 11).Add(time.Minute))
	res, err = f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Accounts)
	assert.Equal(t, 1, res.TierChanges)
	a = f.account(t, "c1")
	assert.Equal(t, "silver", a.Tier)
	assert.Equal(t, int64(1500), a.Growth)
	assert.Equal(t, day(2026, 10, 11), a.TierSince)
	assert.Equal(t, day(2027, 4, 12), a.TierValidUntil)
	ev := f.events.ofType(scrm.EventTierChanged)
	assert.Equal(t, "period_end", ev[len(ev)-1].Props["reason"])
	assert.Equal(t, day(2026, 10, 11), ev[len(ev)-1].Time)

	// Back to 金卡 in a new period: the gold reward is granted again.
	f.earn(t, "c1", "o3", "600.00")
	assert.Equal(t, "gold", f.account(t, "c1").Tier)
	assert.Equal(t, 2, goldRewards())

	// Kept through a period: 2100 - 1000 = 1100 keeps only 银卡; then 银卡
	// is kept (1100 - 300 = 800 >= 500) and renewed.
	f.clock.Set(day(2027, 4, 13))
	_, err = f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	a = f.account(t, "c1")
	assert.Equal(t, "silver", a.Tier)
	assert.Equal(t, int64(1100), a.Growth)
	f.clock.Set(day(2027, 10, 14))
	_, err = f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	a = f.account(t, "c1")
	assert.Equal(t, "silver", a.Tier)
	assert.Equal(t, int64(800), a.Growth)
	assert.Equal(t, day(2028, 4, 14), a.TierValidUntil, "kept: a new period")

	// Without sweeps, a request catches up on every period that ended, one
	// deduction each: 800-300 = 500 (kept), 500-300 = 200 (普卡, whose
	// period never ends).
	f.clock.Set(day(2029, 1, 1))
	a = f.account(t, "c1")
	assert.Equal(t, "normal", a.Tier)
	assert.Equal(t, int64(200), a.Growth)
	assert.True(t, a.TierValidUntil.IsZero())
}

func TestValidityDowngradeModes(t *testing.T) {
	for _, tt := range []struct {
		mode member.Downgrade
		want string
	}{{member.OneDown, "gold"}, {member.Recompute, "normal"}} {
		t.Run(string(tt.mode), func(t *testing.T) {
			p := standard()
			p.Tiers[3].Deduction = 4700
			p.TierPolicy = member.TierPolicy{Kind: member.Validity, Months: 1, Downgrade: tt.mode}
			f := newFixture(t, p)
			f.earn(t, "c1", "o1", "5000.00")
			f.clock.Set(time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))
			_, err := f.svc.Sweep(context.Background(), tenant)
			require.NoError(t, err)
			a := f.account(t, "c1")
			assert.Equal(t, int64(300), a.Growth)
			assert.Equal(t, tt.want, a.Tier)
		})
	}
}

func TestRollingTiers(t *testing.T) {
	ctx := context.Background()
	p := rewarded()
	p.TierPolicy = member.TierPolicy{Kind: member.Rolling, Months: 3}
	f := newFixture(t, p)
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, shanghai) }

	f.clock.Set(at(1, 15))
	f.earn(t, "c1", "jan", "2500.00") // January: 金卡
	f.clock.Set(at(3, 20))
	f.earn(t, "c1", "mar", "600.00")
	a := f.account(t, "c1")
	assert.Equal(t, "gold", a.Tier)
	assert.Equal(t, int64(3100), a.TierGrowth)
	assert.Equal(t, int64(3100), a.Growth)

	// 1 April: January leaves the window (Feb–Apr): 600 left, 银卡 would
	// do, but OneDown drops one step a month.
	f.clock.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai))
	res, err := f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.TierChanges)
	a = f.account(t, "c1")
	assert.Equal(t, "silver", a.Tier)
	assert.Equal(t, int64(600), a.TierGrowth)
	assert.Equal(t, int64(3100), a.Growth, "growth value itself is kept")

	// By 1 July March has left the window (on 1 June): 银卡 → 普卡.
	f.clock.Set(time.Date(2026, 7, 1, 0, 0, 1, 0, shanghai))
	_, err = f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	a = f.account(t, "c1")
	assert.Equal(t, "normal", a.Tier)
	assert.Zero(t, a.TierGrowth)

	// Regaining 金卡 in a new window grants its reward again.
	f.earn(t, "c1", "jul", "2000.00")
	n := 0
	for _, g := range f.grants.list() {
		if g.Reward.Template == "gold-gift" {
			n++
		}
	}
	assert.Equal(t, 2, n)
}

func TestRollingCatchesUpMonthByMonth(t *testing.T) {
	p := standard()
	p.TierPolicy = member.TierPolicy{Kind: member.Rolling, Months: 1}
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "6000.00") // March: 钻卡
	f.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai))
	// No sweep since March: one step down per month boundary passed.
	a := f.account(t, "c1")
	assert.Equal(t, "normal", a.Tier)
	var steps []string
	for _, e := range f.journal(t, "c1") {
		if e.Kind == member.EntryTier {
			steps = append(steps, e.To)
		}
	}
	assert.Equal(t, []string{"diamond"}, steps, "Account reads; it does not write")
	_, err := f.svc.Sweep(context.Background(), tenant)
	require.NoError(t, err)
	steps = nil
	for _, e := range f.journal(t, "c1") {
		if e.Kind == member.EntryTier {
			steps = append(steps, e.To+"@"+e.At.In(shanghai).Format("01-02"))
		}
	}
	assert.Equal(t, []string{"diamond@03-02", "gold@04-01", "silver@05-01", "normal@06-01"}, steps)
}

func TestTierCondition(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Tiers[2].When = rule.HasTag("实名认证")
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "2500.00")
	assert.Equal(t, "silver", f.account(t, "c1").Tier, "金卡's condition does not hold")

	_, _, err := scrm.UpdateProfile(ctx, f.profiles, tenant, "c1", "", func(pr *scrm.Profile) error {
		pr.SetTag("实名认证", scrm.TagMark{At: f.clock.Now()})
		return nil
	})
	require.NoError(t, err)
	f.earn(t, "c1", "o2", "1.00")
	assert.Equal(t, "gold", f.account(t, "c1").Tier)
}
