package membertest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func sampleProgram(tenant scrm.TenantID) member.Program {
	return member.Program{
		Tenant:    tenant,
		CreatedAt: t0,
		Tiers: []member.Tier{
			{ID: "normal", Name: "普卡"},
			{ID: "silver", Name: "银卡", Threshold: 500, PointsMultiplier: dec("1.25"), Discount: dec("0.95"), Deduction: 300,
				When:           rule.All(rule.Attr("city").In("上海", "杭州"), rule.Event(scrm.EventOrderPaid).Within(90*24*time.Hour).CountGte(2)),
				UpgradeRewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 200}, {Kind: scrm.RewardCoupon, Template: "t-50", Count: 2}}},
		},
		TierPolicy: member.TierPolicy{Kind: member.Validity, Months: 6, Downgrade: member.Recompute},
		Growth:     member.GrowthRule{PerYuan: dec("1")},
		Earn: member.EarnRule{PointsPerYuan: dec("0.5"),
			MemberDays: []member.MemberDay{{Weekday: time.Tuesday, Multiplier: dec("2")}},
			Categories: map[string]decimal.Decimal{"new": dec("3"), "tobacco": dec("0")},
			Events:     []member.EventRule{{Type: "review.posted", Points: 10, PerDay: 1, Limit: 20}}},
		Expiry: member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Quarter, Periods: 2},
		Redeem: member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, MaxShare: dec("0.5"), Step: 100},
		Debt:   member.AllowNegative,
	}
}

// assertSameProgram compares programs field by field: decimals with Equal,
// times with tolerance, conditions by their JSON form.
func assertSameProgram(t *testing.T, want, got member.Program) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	require.Len(t, got.Tiers, len(want.Tiers))
	for i, w := range want.Tiers {
		g := got.Tiers[i]
		assert.Equal(t, w.ID, g.ID)
		assert.Equal(t, w.Name, g.Name)
		assert.Equal(t, w.Threshold, g.Threshold)
		assert.True(t, w.PointsMultiplier.Equal(g.PointsMultiplier), "Tiers[%d].PointsMultiplier: %s != %s", i, w.PointsMultiplier, g.PointsMultiplier)
		assert.True(t, w.Discount.Equal(g.Discount), "Tiers[%d].Discount", i)
		assert.Equal(t, w.Deduction, g.Deduction)
		wj, err := json.Marshal(w.When)
		require.NoError(t, err)
		gj, err := json.Marshal(g.When)
		require.NoError(t, err)
		assert.JSONEq(t, string(wj), string(gj), "Tiers[%d].When", i)
		require.Len(t, g.UpgradeRewards, len(w.UpgradeRewards))
		for j, r := range w.UpgradeRewards {
			gr := g.UpgradeRewards[j]
			assert.Equal(t, r.Kind, gr.Kind)
			assert.Equal(t, r.Points, gr.Points)
			assert.True(t, r.Amount.Equal(gr.Amount))
			assert.Equal(t, r.Template, gr.Template)
			assert.Equal(t, r.Count, gr.Count)
		}
	}
	assert.Equal(t, want.TierPolicy, got.TierPolicy)
	assert.True(t, want.Growth.PerYuan.Equal(got.Growth.PerYuan))
	assert.True(t, want.Earn.PointsPerYuan.Equal(got.Earn.PointsPerYuan))
	require.Len(t, got.Earn.MemberDays, len(want.Earn.MemberDays))
	for i, d := range want.Earn.MemberDays {
		assert.Equal(t, d.Weekday, got.Earn.MemberDays[i].Weekday)
		assert.True(t, d.Multiplier.Equal(got.Earn.MemberDays[i].Multiplier))
	}
	require.Len(t, got.Earn.Categories, len(want.Earn.Categories))
	for k, v := range want.Earn.Categories {
		assert.True(t, v.Equal(got.Earn.Categories[k]), "category %s", k)
	}
	assert.Equal(t, want.Earn.Events, got.Earn.Events)
	assert.Equal(t, want.Expiry, got.Expiry)
	assert.Equal(t, want.Redeem.PointsPerYuan, got.Redeem.PointsPerYuan)
	assert.Equal(t, want.Redeem.MinPoints, got.Redeem.MinPoints)
	assert.Equal(t, want.Redeem.Step, got.Redeem.Step)
	assert.True(t, want.Redeem.MaxShare.Equal(got.Redeem.MaxShare))
	assert.Equal(t, want.Debt, got.Debt)
}

func testPrograms(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Program(ctx, "t1", 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		v, err := s.ProgramVersion(ctx, "t1")
		require.NoError(t, err)
		assert.Zero(t, v)
	})

	t.Run("VersionsAndRoundTrip", func(t *testing.T) {
		s := newStore(t)
		p1 := sampleProgram("t1")
		got, err := s.PutProgram(ctx, p1)
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version)
		assertSameProgram(t, p1, got)

		p2 := sampleProgram("t1")
		p2.Tiers[1].Threshold = 800
		p2.Version = 42 // ignored: the store numbers versions
		got, err = s.PutProgram(ctx, p2)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)

		v, err := s.ProgramVersion(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), v)

		newest, err := s.Program(ctx, "t1", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(2), newest.Version)
		assert.Equal(t, int64(800), newest.Tiers[1].Threshold)

		old, err := s.Program(ctx, "t1", 1)
		require.NoError(t, err, "older versions are kept")
		assert.Equal(t, int64(1), old.Version)
		assertSameProgram(t, p1, old)

		_, err = s.Program(ctx, "t1", 3)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("VersionFollowsPuts", func(t *testing.T) {
		// ProgramVersion is read on every request to keep the compiled
		// program current: it moves with every put, never stale.
		s := newStore(t)
		for want := int64(0); want <= 3; want++ {
			v, err := s.ProgramVersion(ctx, "t1")
			require.NoError(t, err)
			assert.Equal(t, want, v)
			_, err = s.PutProgram(ctx, sampleProgram("t1"))
			require.NoError(t, err)
		}
	})

	t.Run("MissingTenant", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutProgram(ctx, member.Program{})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		p := sampleProgram("t1")
		got, err := s.PutProgram(ctx, p)
		require.NoError(t, err)
		p.Tiers[0].Name = "changed after put"
		p.Earn.Categories["new"] = dec("9")
		got.Tiers[1].UpgradeRewards[0].Points = 1
		got.Tiers[1].When.All[0].Value.([]any)[0] = "北京"

		again, err := s.Program(ctx, "t1", 1)
		require.NoError(t, err)
		assertSameProgram(t, sampleProgram("t1"), again)
		again.Tiers[0].ID = "mutated"
		third, err := s.Program(ctx, "t1", 1)
		require.NoError(t, err)
		assert.Equal(t, "normal", third.Tiers[0].ID)
	})
}
