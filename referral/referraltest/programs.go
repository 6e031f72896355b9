package referraltest

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func sampleProgram() referral.Program {
	return referral.Program{
		Tenant: tenant, ID: "p1", Name: "老带新",
		Qualify:          referral.Qualify{Event: scrm.EventOrderPaid, MinAmount: scrm.Yuan("49.90"), Within: 30 * 24 * time.Hour, FirstOnly: true},
		InviteeOnBind:    []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "new-50", Count: 2}},
		InviteeOnQualify: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 200}},
		InviterRewards:   []scrm.Reward{{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("10.50"), Note: "谢谢"}},
		Percent:          scrm.Yuan("0.1"), PercentCap: scrm.Yuan("100"),
		Ladder:        []referral.Rung{{Count: 3, Rewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 500}}}},
		MaxPerInviter: 10,
		Commission:    []decimal.Decimal{scrm.Yuan("0.08"), scrm.Yuan("0.02")},
		SettleAfter:   7 * 24 * time.Hour,
		Fraud: referral.FraudPolicy{SameDevice: referral.ActionReview,
			PerIP: referral.Limit{Max: 5, Within: 24 * time.Hour, Action: referral.ActionReject}},
		Start: t0, End: t0.Add(90 * 24 * time.Hour),
	}
}

func assertSameProgram(t *testing.T, want, got referral.Program) {
	t.Helper()
	assert.True(t, want.Qualify.MinAmount.Equal(got.Qualify.MinAmount))
	assert.True(t, want.Percent.Equal(got.Percent))
	assert.True(t, want.PercentCap.Equal(got.PercentCap))
	require.Len(t, got.Commission, len(want.Commission))
	for i := range want.Commission {
		assert.True(t, want.Commission[i].Equal(got.Commission[i]))
	}
	require.Len(t, got.InviterRewards, len(want.InviterRewards))
	for i := range want.InviterRewards {
		assert.True(t, want.InviterRewards[i].Amount.Equal(got.InviterRewards[i].Amount))
	}
	sameTime(t, want.Start, got.Start)
	sameTime(t, want.End, got.End)
	norm := func(p referral.Program) referral.Program {
		p.Qualify.MinAmount, p.Percent, p.PercentCap, p.Commission = decimal.Zero, decimal.Zero, decimal.Zero, nil
		p.Start, p.End = time.Time{}, time.Time{}
		p.InviterRewards = append([]scrm.Reward(nil), p.InviterRewards...)
		for i := range p.InviterRewards {
			p.InviterRewards[i].Amount = decimal.Zero
		}
		return p
	}
	assert.Equal(t, norm(want), norm(got))
}

func testPrograms(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetProgram(ctx, tenant, "p1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.GetGroupBuy(ctx, tenant, "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.GetBargain(ctx, tenant, "b1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("RoundTripAndReplace", func(t *testing.T) {
		s := newStore(t)
		p := sampleProgram()
		require.NoError(t, s.PutProgram(ctx, p))
		got, err := s.GetProgram(ctx, tenant, "p1")
		require.NoError(t, err)
		assertSameProgram(t, p, got)

		p.Name, p.MaxPerInviter = "v2", 0
		require.NoError(t, s.PutProgram(ctx, p))
		got, err = s.GetProgram(ctx, tenant, "p1")
		require.NoError(t, err)
		assert.Equal(t, "v2", got.Name)
		assert.Zero(t, got.MaxPerInviter)
	})
	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		p := sampleProgram()
		require.NoError(t, s.PutProgram(ctx, p))
		p.Ladder[0].Rewards[0].Points = 1
		p.InviteeOnBind[0].Template = "changed"
		got, err := s.GetProgram(ctx, tenant, "p1")
		require.NoError(t, err)
		assert.Equal(t, int64(500), got.Ladder[0].Rewards[0].Points)
		got.InviteeOnBind[0].Template = "changed too"
		got.Commission[0] = scrm.Yuan("0.5")
		again, err := s.GetProgram(ctx, tenant, "p1")
		require.NoError(t, err)
		assert.Equal(t, "new-50", again.InviteeOnBind[0].Template)
		assert.True(t, again.Commission[0].Equal(scrm.Yuan("0.08")))
	})
	t.Run("Revision", func(t *testing.T) {
		s := newStore(t)
		rs, ok := s.(referral.ProgramRevisioner)
		if !ok {
			return // optional: the Service reads programs every time
		}
		rev, err := rs.ProgramRevision(ctx, tenant)
		require.NoError(t, err)
		assert.Zero(t, rev, "before the first program")
		seen := map[int64]bool{rev: true}
		p := sampleProgram()
		for i := range 3 {
			p.Name = fmt.Sprintf("v%d", i)
			require.NoError(t, s.PutProgram(ctx, p))
			rev, err = rs.ProgramRevision(ctx, tenant)
			require.NoError(t, err)
			assert.False(t, seen[rev], "every PutProgram changes the revision")
			seen[rev] = true
			same, err := rs.ProgramRevision(ctx, tenant)
			require.NoError(t, err)
			assert.Equal(t, rev, same, "reads do not change it")
		}
		theirs, err := rs.ProgramRevision(ctx, other)
		require.NoError(t, err)
		assert.Zero(t, theirs, "per tenant")
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.PutProgram(ctx, sampleProgram()))
		_, err := s.GetProgram(ctx, other, "p1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("GroupBuysAndBargains", func(t *testing.T) {
		s := newStore(t)
		g := referral.GroupBuy{Tenant: tenant, ID: "g1", Size: 3, Duration: time.Hour, Price: scrm.Yuan("9.90"), End: t0,
			Lottery: &referral.Lottery{Winners: 2, Consolation: []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "c"}}}}
		require.NoError(t, s.PutGroupBuy(ctx, referral.PutGroupBuyParams{GroupBuy: g}))
		g.Lottery.Consolation[0].Template = "changed"
		got, err := s.GetGroupBuy(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.True(t, got.Price.Equal(scrm.Yuan("9.9")))
		require.NotNil(t, got.Lottery)
		assert.Equal(t, 2, got.Lottery.Winners)
		assert.Equal(t, "c", got.Lottery.Consolation[0].Template)
		got.Lottery.Winners = 9
		got.Lottery.Consolation[0].Template = "changed"
		again, err := s.GetGroupBuy(ctx, tenant, "g1")
		require.NoError(t, err)
		require.NotNil(t, again.Lottery)
		assert.Equal(t, 2, again.Lottery.Winners, "a copy, not an alias")
		assert.Equal(t, "c", again.Lottery.Consolation[0].Template, "a copy, not an alias")
		_, err = s.GetGroupBuy(ctx, other, "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		b := referral.Bargain{Tenant: tenant, ID: "b1", Price: scrm.Yuan("99"), Floor: scrm.Yuan("9.90"), Helpers: 5, Duration: time.Hour, NewHelperBoost: 200}
		require.NoError(t, s.PutBargain(ctx, b))
		gb, err := s.GetBargain(ctx, tenant, "b1")
		require.NoError(t, err)
		assert.True(t, gb.Floor.Equal(b.Floor))
		assert.Equal(t, 200, gb.NewHelperBoost)
		_, err = s.GetBargain(ctx, other, "b1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
}

func testCodes(t *testing.T, newStore func(t *testing.T) referral.Store) {
	alice := referral.Owner{Customer: "alice"}
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetCode(ctx, tenant, "ABC")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.OwnerCode(ctx, tenant, alice)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		rec, err := s.PutCode(ctx, referral.CodeRecord{Tenant: tenant, Code: "ABC", Owner: alice, CreatedAt: t0})
		require.NoError(t, err)
		assert.Equal(t, "ABC", rec.Code)
		got, err := s.GetCode(ctx, tenant, "ABC")
		require.NoError(t, err)
		assert.Equal(t, alice, got.Owner)
		sameTime(t, t0, got.CreatedAt)
		got, err = s.OwnerCode(ctx, tenant, alice)
		require.NoError(t, err)
		assert.Equal(t, "ABC", got.Code)
	})
	t.Run("OneCodePerOwnerOneOwnerPerCode", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutCode(ctx, referral.CodeRecord{Tenant: tenant, Code: "ABC", Owner: alice, CreatedAt: t0})
		require.NoError(t, err)
		rec, err := s.PutCode(ctx, referral.CodeRecord{Tenant: tenant, Code: "XYZ", Owner: alice, CreatedAt: t0})
		require.NoError(t, err)
		assert.Equal(t, "ABC", rec.Code, "the owner keeps the first code")
		_, err = s.GetCode(ctx, tenant, "XYZ")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		_, err = s.PutCode(ctx, referral.CodeRecord{Tenant: tenant, Code: "ABC", Owner: referral.Owner{Customer: "bob"}, CreatedAt: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = s.OwnerCode(ctx, tenant, referral.Owner{Customer: "bob"})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.PutCode(ctx, referral.CodeRecord{Tenant: tenant, Code: "STF", Owner: referral.Owner{Staff: "alice"}, CreatedAt: t0})
		require.NoError(t, err, "a staff member and a customer of the same ID are different owners")
		_, err = s.PutCode(ctx, referral.CodeRecord{Tenant: other, Code: "ABC", Owner: referral.Owner{Customer: "carol"}, CreatedAt: t0})
		require.NoError(t, err, "codes are per tenant")
	})
	t.Run("TenantsAreIsolated", func(t *testing.T) {
		// An owner has a code per tenant: another tenant's code is neither
		// found for them nor returned in place of theirs.
		s := newStore(t)
		_, err := s.PutCode(ctx, referral.CodeRecord{Tenant: tenant, Code: "ABC", Owner: alice, CreatedAt: t0})
		require.NoError(t, err)
		_, err = s.OwnerCode(ctx, other, alice)
		assert.ErrorIs(t, err, scrm.ErrNotFound, "alice has no code in the other tenant")
		_, err = s.GetCode(ctx, other, "ABC")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		rec, err := s.PutCode(ctx, referral.CodeRecord{Tenant: other, Code: "XYZ", Owner: alice, CreatedAt: t0})
		require.NoError(t, err)
		assert.Equal(t, "XYZ", rec.Code, "her code in the other tenant is its own")
		assert.Equal(t, other, rec.Tenant)
		got, err := s.OwnerCode(ctx, other, alice)
		require.NoError(t, err)
		assert.Equal(t, "XYZ", got.Code)
		got, err = s.GetCode(ctx, other, "XYZ")
		require.NoError(t, err)
		assert.Equal(t, alice, got.Owner)
		got, err = s.OwnerCode(ctx, tenant, alice)
		require.NoError(t, err)
		assert.Equal(t, "ABC", got.Code)
		_, err = s.GetCode(ctx, tenant, "XYZ")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("ConcurrentFirstCalls", func(t *testing.T) {
		s := newStore(t)
		codes := make([]string, 20)
		n := race(20, func(i int) error {
			rec, err := s.PutCode(ctx, referral.CodeRecord{Tenant: tenant, Code: fmt.Sprintf("C%02d", i), Owner: alice, CreatedAt: t0})
			codes[i] = rec.Code
			return err
		}, func(err error) { t.Error(err) })
		assert.Equal(t, 20, n)
		for _, c := range codes {
			assert.Equal(t, codes[0], c, "every caller gets the one code")
		}
	})
}

func testSignals(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("RecentFirst", func(t *testing.T) {
		s := newStore(t)
		got, err := s.GetSignals(ctx, tenant, "alice")
		require.NoError(t, err)
		assert.Empty(t, got.Devices)
		for i := range referral.MaxKnownSignals + 3 {
			require.NoError(t, s.AddSignals(ctx, tenant, "alice", referral.Signals{Device: fmt.Sprintf("d%02d", i)}))
		}
		require.NoError(t, s.AddSignals(ctx, tenant, "alice", referral.Signals{Device: "d05", Phone: "13800138000"}))
		got, err = s.GetSignals(ctx, tenant, "alice")
		require.NoError(t, err)
		require.Len(t, got.Devices, referral.MaxKnownSignals)
		assert.Equal(t, "d05", got.Devices[len(got.Devices)-1], "a known device becomes the most recent")
		assert.NotContains(t, got.Devices, "d00")
		assert.Equal(t, []string{"13800138000"}, got.Phones)

		got.Devices[0] = "changed"
		again, err := s.GetSignals(ctx, tenant, "alice")
		require.NoError(t, err)
		assert.NotEqual(t, "changed", again.Devices[0])
		theirs, err := s.GetSignals(ctx, other, "alice")
		require.NoError(t, err)
		assert.Empty(t, theirs.Devices)
	})
}
