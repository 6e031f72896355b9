package member_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestProgramValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *member.Program)
		field  string
	}{
		{"missing tenant", func(p *member.Program) { p.Tenant = "" }, "Tenant"},
		{"tiers not increasing", func(p *member.Program) { p.Tiers[2].Threshold = 500 }, "Tiers[2].Threshold"},
		{"tiers decreasing", func(p *member.Program) { p.Tiers[3].Threshold = 100 }, "Tiers[3].Threshold"},
		{"negative threshold", func(p *member.Program) { p.Tiers[0].Threshold = -1 }, "Tiers[0].Threshold"},
		{"missing tier ID", func(p *member.Program) { p.Tiers[1].ID = "" }, "Tiers[1].ID"},
		{"duplicate tier ID", func(p *member.Program) { p.Tiers[2].ID = "silver" }, "Tiers[2].ID"},
		{"negative multiplier", func(p *member.Program) { p.Tiers[1].PointsMultiplier = dec("-1") }, "Tiers[1].PointsMultiplier"},
		{"discount over 1", func(p *member.Program) { p.Tiers[1].Discount = dec("1.2") }, "Tiers[1].Discount"},
		{"negative deduction", func(p *member.Program) { p.Tiers[1].Deduction = -5 }, "Tiers[1].Deduction"},
		{"bad reward", func(p *member.Program) {
			p.Tiers[1].UpgradeRewards = []scrm.Reward{{Kind: scrm.RewardPoints, Points: -1}}
		}, "Tiers[1].UpgradeRewards[0].Points"},
		{"bad condition", func(p *member.Program) { p.Tiers[1].When = rule.Condition{Attr: "city", Op: "nope"} }, "Tiers[1].When"},
		{"unknown policy", func(p *member.Program) { p.TierPolicy.Kind = "forever" }, "TierPolicy.Kind"},
		{"validity without months", func(p *member.Program) { p.TierPolicy = member.TierPolicy{Kind: member.Validity} }, "TierPolicy.Months"},
		{"rolling without months", func(p *member.Program) { p.TierPolicy = member.TierPolicy{Kind: member.Rolling} }, "TierPolicy.Months"},
		{"unknown downgrade", func(p *member.Program) { p.TierPolicy.Downgrade = "two_down" }, "TierPolicy.Downgrade"},
		{"negative growth rate", func(p *member.Program) { p.Growth.PerYuan = dec("-1") }, "Growth.PerYuan"},
		{"negative points rate", func(p *member.Program) { p.Earn.PointsPerYuan = dec("-0.5") }, "Earn.PointsPerYuan"},
		{"rate too precise", func(p *member.Program) { p.Earn.PointsPerYuan = dec("0.0000001") }, "Earn.PointsPerYuan"},
		{"member day weekday", func(p *member.Program) {
			p.Earn.MemberDays = []member.MemberDay{{Weekday: 7, Multiplier: dec("2")}}
		}, "Earn.MemberDays[0].Weekday"},
		{"member day twice", func(p *member.Program) {
			p.Earn.MemberDays = []member.MemberDay{{Weekday: 2, Multiplier: dec("2")}, {Weekday: 2, Multiplier: dec("3")}}
		}, "Earn.MemberDays[1].Weekday"},
		{"member day zero", func(p *member.Program) {
			p.Earn.MemberDays = []member.MemberDay{{Weekday: 2}}
		}, "Earn.MemberDays[0].Multiplier"},
		{"negative category", func(p *member.Program) {
			p.Earn.Categories = map[string]decimal.Decimal{"new": dec("-2")}
		}, `Earn.Categories["new"]`},
		{"event rule points", func(p *member.Program) { p.Earn.Events = []member.EventRule{{Type: "review"}} }, "Earn.Events[0].Points"},
		{"event rule type", func(p *member.Program) { p.Earn.Events = []member.EventRule{{Points: 5}} }, "Earn.Events[0].Type"},
		{"event rule on orders", func(p *member.Program) {
			p.Earn.Events = []member.EventRule{{Type: scrm.EventOrderPaid, Points: 5}}
		}, "Earn.Events[0].Type"},
		{"event rule twice", func(p *member.Program) {
			p.Earn.Events = []member.EventRule{{Type: "r", Points: 5}, {Type: "r", Points: 6}}
		}, "Earn.Events[1].Type"},
		{"event rule caps", func(p *member.Program) { p.Earn.Events = []member.EventRule{{Type: "r", Points: 5, PerDay: -1}} }, "Earn.Events[0].PerDay"},
		{"expiry kind", func(p *member.Program) { p.Expiry.Kind = "soon" }, "Expiry.Kind"},
		{"expiry days", func(p *member.Program) { p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays} }, "Expiry.Days"},
		{"expiry unit", func(p *member.Program) { p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: "week"} }, "Expiry.Unit"},
		{"expiry periods", func(p *member.Program) {
			p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: -1}
		}, "Expiry.Periods"},
		{"redeem rate", func(p *member.Program) { p.Redeem.PointsPerYuan = -100 }, "Redeem.PointsPerYuan"},
		{"redeem minimum", func(p *member.Program) { p.Redeem.MinPoints = -1 }, "Redeem.MinPoints"},
		{"redeem share", func(p *member.Program) { p.Redeem.MaxShare = dec("1.5") }, "Redeem.MaxShare"},
		{"redeem step", func(p *member.Program) { p.Redeem.Step = -100 }, "Redeem.Step"},
		{"redeem step not whole fen", func(p *member.Program) { p.Redeem = member.RedeemRule{PointsPerYuan: 1000, Step: 5} }, "Redeem.Step"},
		{"debt policy", func(p *member.Program) { p.Debt = "sometimes" }, "Debt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := standard()
			tt.change(&p)
			err := p.Validate()
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.True(t, errors.As(err, &se))
			assert.Contains(t, se.Field, tt.field, "error: %v", err)

			// PutProgram refuses it and writes nothing.
			f := newFixture(t, standard())
			_, err = f.svc.PutProgram(context.Background(), p)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			got, err := f.svc.Program(context.Background(), tenant)
			require.NoError(t, err)
			assert.Equal(t, int64(1), got.Version)
		})
	}

	t.Run("valid", func(t *testing.T) {
		require.NoError(t, standard().Validate())
		require.NoError(t, member.Program{Tenant: "t"}.Validate(), "the zero program is valid")
		p := standard()
		p.Redeem = member.RedeemRule{PointsPerYuan: 1000, Step: 10} // 10 points = 1 fen
		require.NoError(t, p.Validate())
	})
}

func TestPutProgramNeeds(t *testing.T) {
	ctx := context.Background()
	t.Run("conditions need profiles", func(t *testing.T) {
		svc := member.New(nil, nil, nil)
		p := standard()
		p.Tiers[2].When = rule.HasTag("vip")
		_, err := svc.PutProgram(ctx, p)
		require.ErrorIs(t, err, scrm.ErrInvalid)
		var se *scrm.Error
		require.True(t, errors.As(err, &se))
		assert.Equal(t, "Tiers[2].When", se.Field)
	})
	t.Run("coupon rewards need a rewarder", func(t *testing.T) {
		svc := member.New(nil, nil, nil)
		p := standard()
		p.Tiers[1].UpgradeRewards = []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "t1"}}
		_, err := svc.PutProgram(ctx, p)
		require.ErrorIs(t, err, scrm.ErrInvalid)
		svc = member.New(nil, nil, &member.Options{Rewarder: scrm.NewRewardRouter()})
		_, err = svc.PutProgram(ctx, p)
		require.NoError(t, err)
	})
	t.Run("no program", func(t *testing.T) {
		svc := member.New(nil, nil, nil)
		_, err := svc.Earn(ctx, member.EarnRequest{Tenant: "none", Customer: "c", IdempotencyKey: "k", OrderID: "o", Amount: dec("1")})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = svc.Program(ctx, "none")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
}

// Changing the program never rewrites history: lots keep their expiry,
// holds their value, entries their version; the new rules apply from then
// on.
func TestProgramVersionsKeepHistory(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 30}
	f := newFixture(t, p)
	r := f.earn(t, "c1", "o1", "300.00")
	firstExpiry := r.ExpiresAt
	assert.True(t, time.Date(2026, 4, 2, 0, 0, 0, 0, shanghai).Equal(firstExpiry))
	h, err := f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h1", OrderID: "o2", Points: 100, OrderAmount: dec("100")})
	require.NoError(t, err)
	require.True(t, h.Value.Equal(dec("1")))

	v2 := p
	v2.Expiry = member.ExpiryRule{Kind: member.ExpireNever}
	v2.Earn.PointsPerYuan = dec("2")
	v2.Redeem.PointsPerYuan = 50
	stored, err := f.svc.PutProgram(ctx, v2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), stored.Version)
	assert.Equal(t, start, stored.CreatedAt)

	a := f.account(t, "c1")
	require.Len(t, a.Lots, 1)
	assert.True(t, firstExpiry.Equal(a.Lots[0].ExpiresAt()), "the old lot keeps its expiry")
	c, err := f.svc.Capture(ctx, tenant, h.HoldID)
	require.NoError(t, err)
	assert.True(t, c.Value.Equal(dec("1")), "the hold keeps its value")

	r2 := f.earn(t, "c1", "o3", "10.00")
	assert.Equal(t, int64(20), r2.Points, "the new rate applies from now on")
	assert.True(t, r2.ExpiresAt.IsZero())
	entries := f.journal(t, "c1")
	assert.Equal(t, int64(1), entries[0].Program)
	assert.Equal(t, int64(2), entries[len(entries)-1].Program)

	old, err := f.store.Program(ctx, tenant, 1)
	require.NoError(t, err)
	assert.Equal(t, 30, old.Expiry.Days, "version 1 is kept")
}
