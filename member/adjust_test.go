package member_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestAdjust(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, standard())
	f.earn(t, "c1", "o1", "300.00")

	r, err := f.svc.Adjust(ctx, member.AdjustRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "a1",
		Points: 50, Growth: 250, Reason: "补录线下订单", Operator: "staff-7"})
	require.NoError(t, err)
	assert.Equal(t, int64(50), r.Points)
	assert.Equal(t, int64(250), r.Growth)
	assert.Equal(t, &member.TierChange{From: "normal", To: "silver"}, r.TierChange)
	assert.Equal(t, "补录线下订单", r.Entries[0].Note)
	assert.Equal(t, "staff-7", r.Entries[0].Operator)

	r, err = f.svc.Adjust(ctx, member.AdjustRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "a2",
		Points: -100, Growth: -100, Reason: "误操作", Operator: "staff-7"})
	require.NoError(t, err)
	assert.Equal(t, int64(-100), r.Points)
	assert.Equal(t, &member.TierChange{From: "silver", To: "normal"}, r.TierChange)
	a := f.account(t, "c1")
	assert.Equal(t, int64(250), a.Points)
	assert.Equal(t, int64(450), a.Growth)

	tests := []struct {
		name  string
		req   member.AdjustRequest
		code  error
		field string
	}{
		{"nothing", member.AdjustRequest{Reason: "r", Operator: "o"}, scrm.ErrInvalid, "Points"},
		{"no reason", member.AdjustRequest{Points: 1, Operator: "o"}, scrm.ErrInvalid, "Reason"},
		{"no operator", member.AdjustRequest{Points: 1, Reason: "r"}, scrm.ErrInvalid, "Operator"},
		{"more points than spendable", member.AdjustRequest{Points: -251, Reason: "r", Operator: "o"}, scrm.ErrExhausted, ""},
		{"more growth than held", member.AdjustRequest{Growth: -451, Reason: "r", Operator: "o"}, scrm.ErrExhausted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Tenant, tt.req.Customer, tt.req.IdempotencyKey = tenant, "c1", "bad"
			_, err := f.svc.Adjust(ctx, tt.req)
			require.ErrorIs(t, err, tt.code)
			var se *scrm.Error
			require.True(t, errors.As(err, &se))
			assert.Equal(t, tt.field, se.Field)
			a := f.account(t, "c1")
			assert.Equal(t, int64(250), a.Points)
			assert.Equal(t, int64(450), a.Growth)
		})
	}
}

func TestGrant(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 90}
	f := newFixture(t, p)
	var router scrm.Rewarder = f.svc
	g := scrm.Grant{Tenant: tenant, Customer: "c1", IdempotencyKey: "referral:p1", Source: "referral:p1",
		Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 300}}
	require.NoError(t, router.Grant(ctx, g))
	require.NoError(t, router.Grant(ctx, g), "a replay does nothing")
	a := f.account(t, "c1")
	assert.Equal(t, int64(300), a.Points)
	assert.True(t, time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai).Equal(a.Lots[0].ExpiresAt()), "granted points expire as if earned now")
	entries := f.journal(t, "c1")
	assert.Equal(t, member.EntryGrant, entries[0].Kind)
	assert.Equal(t, "referral:p1", entries[0].Note)

	require.NoError(t, router.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "c1", IdempotencyKey: "sop:vip",
		Reward: scrm.Reward{Kind: scrm.RewardGrowth, Points: 600}}))
	a = f.account(t, "c1")
	assert.Equal(t, int64(600), a.Growth)
	assert.Equal(t, "silver", a.Tier)

	g.Reward.Points = 301
	assert.ErrorIs(t, router.Grant(ctx, g), scrm.ErrConflict)
	err := router.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "c1", IdempotencyKey: "x", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "t"}})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	var se *scrm.Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, "Reward.Kind", se.Field)
	assert.ErrorIs(t, router.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "c1", IdempotencyKey: "y", Reward: scrm.Reward{Kind: scrm.RewardPoints}}), scrm.ErrInvalid)
	assert.ErrorIs(t, router.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "c1", Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 1}}), scrm.ErrInvalid)

	// Through a RewardRouter, as other packages use it.
	rr := scrm.NewRewardRouter()
	rr.Route(scrm.RewardPoints, f.svc)
	require.NoError(t, rr.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "c2", IdempotencyKey: "z", Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 5}}))
	assert.Equal(t, int64(5), f.account(t, "c2").Points)
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, rewarded())
	exp := time.Date(2026, 12, 31, 0, 0, 0, 0, shanghai)
	req := member.ImportRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "migrate:c1", Note: "from v1",
		Lots:   []member.ImportLot{{Points: 100, ExpiresAt: exp}, {Points: 50, ExpiresAt: exp}, {Points: 7}},
		Growth: 2500}
	r, err := f.svc.Import(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, int64(157), r.Points)
	a := f.account(t, "c1")
	assert.Equal(t, "gold", a.Tier)
	require.Len(t, a.Lots, 2, "lots with one expiry merge")
	assert.Equal(t, int64(150), a.Lots[0].Remaining)
	assert.Empty(t, f.grants.list(), "an imported tier grants no upgrade rewards")

	// ...nor does reaching a tier already imported, in the same period;
	// a higher one does.
	f.earn(t, "c1", "o1", "2600.00")
	g := f.grants.list()
	require.Len(t, g, 2)
	assert.Equal(t, int64(1000), g[0].Reward.Points)

	again, err := f.svc.Import(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)

	for name, lots := range map[string][]member.ImportLot{
		"expired":  {{Points: 1, ExpiresAt: start}},
		"zero":     {{Points: 0}},
		"future":   {{Points: 1, EarnedAt: start.AddDate(0, 0, 1)}},
		"negative": {{Points: -1}},
	} {
		_, err := f.svc.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: "c2", IdempotencyKey: "bad-" + name, Lots: lots})
		assert.ErrorIs(t, err, scrm.ErrInvalid, name)
	}
	_, err = f.svc.Account(ctx, tenant, "c2")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}
