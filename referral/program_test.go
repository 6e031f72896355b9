package referral_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestProgramValidation(t *testing.T) {
	rung := func(n int) referral.Rung { return referral.Rung{Count: n, Rewards: []scrm.Reward{points(1)}} }
	tests := []struct {
		name  string
		p     referral.Program
		field string
	}{
		{"no tenant", referral.Program{Tenant: "-"}, "Tenant"},
		{"no ID", referral.Program{ID: "-"}, "ID"},
		{"percent of 1", referral.Program{Percent: scrm.Yuan("1")}, "Percent"},
		{"negative percent", referral.Program{Percent: scrm.Yuan("-0.1")}, "Percent"},
		{"commission of 1", referral.Program{Commission: rates("0.1", "1")}, "Commission[1]"},
		{"negative commission", referral.Program{Commission: rates("-0.01")}, "Commission[0]"},
		{"three commission levels", referral.Program{Commission: rates("0.1", "0.05", "0.01")}, "Commission"},
		{"ladder not increasing", referral.Program{Ladder: []referral.Rung{rung(1), rung(5), rung(5)}}, "Ladder[2].Count"},
		{"ladder decreasing", referral.Program{Ladder: []referral.Rung{rung(3), rung(2)}}, "Ladder[1].Count"},
		{"ladder rung of zero", referral.Program{Ladder: []referral.Rung{rung(0)}}, "Ladder[0].Count"},
		{"ladder rung without rewards", referral.Program{Ladder: []referral.Rung{{Count: 2}}}, "Ladder[0].Rewards"},
		{"ladder past MaxPerInviter", referral.Program{MaxPerInviter: 3, Ladder: []referral.Rung{rung(2), rung(5)}}, "Ladder[1].Count"},
		{"negative MaxPerInviter", referral.Program{MaxPerInviter: -1}, "MaxPerInviter"},
		{"reward without kind", referral.Program{InviterRewards: []scrm.Reward{points(1), {Points: 5}}}, "InviterRewards[1].Kind"},
		{"coupon without template", referral.Program{InviteeOnBind: []scrm.Reward{{Kind: scrm.RewardCoupon}}}, "InviteeOnBind[0].Template"},
		{"reward amount below the fen", referral.Program{InviteeOnQualify: []scrm.Reward{{Kind: "cash", Amount: scrm.Yuan("0.001")}}}, "InviteeOnQualify[0].Amount"},
		{"cap below the fen", referral.Program{PercentCap: scrm.Yuan("1.005")}, "PercentCap"},
		{"negative min amount", referral.Program{Qualify: referral.Qualify{MinAmount: scrm.Yuan("-1")}}, "Qualify.MinAmount"},
		{"negative within", referral.Program{Qualify: referral.Qualify{Within: -time.Hour}}, "Qualify.Within"},
		{"negative settle delay", referral.Program{SettleAfter: -time.Hour}, "SettleAfter"},
		{"end before start", referral.Program{Start: t0, End: t0.Add(-time.Hour)}, "End"},
		{"unknown fraud action", referral.Program{Fraud: referral.FraudPolicy{SamePhone: "ban"}}, "Fraud.SamePhone"},
		{"negative limit", referral.Program{Fraud: referral.FraudPolicy{PerIP: referral.Limit{Max: -1}}}, "Fraud.PerIP.Max"},
		{"refund as qualifying event", referral.Program{Qualify: referral.Qualify{Event: scrm.EventOrderRefunded}}, "Qualify.Event"},
		{"long event type", referral.Program{Qualify: referral.Qualify{Event: strings.Repeat("e", 200)}}, "Qualify.Event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			switch p.Tenant {
			case "":
				p.Tenant = tenant
			case "-":
				p.Tenant = ""
			}
			switch p.ID {
			case "":
				p.ID = "p1"
			case "-":
				p.ID = ""
			}
			r := newRig(t)
			err := r.svc.SaveProgram(r.ctx, p)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field, "%v", err)
			_, err = r.svc.Program(r.ctx, tenant, "p1")
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		})
	}
}

// Percent rewards and commissions are money: SaveProgram refuses them when
// the Options pay them as a kind that carries no Amount, since every grant
// would fail.
func TestProgramMoneyKinds(t *testing.T) {
	tests := []struct {
		name       string
		percent    scrm.RewardKind
		commission scrm.RewardKind
		p          referral.Program
		field      string // "" when accepted
	}{
		{"percent as points", scrm.RewardPoints, "", referral.Program{Percent: scrm.Yuan("0.1")}, "Percent"},
		{"percent as growth", scrm.RewardGrowth, "", referral.Program{Percent: scrm.Yuan("0.1")}, "Percent"},
		{"percent as coupon", scrm.RewardCoupon, "", referral.Program{Percent: scrm.Yuan("0.1")}, "Percent"},
		{"commission as points", "", scrm.RewardPoints, referral.Program{Commission: rates("0.1", "0.05")}, "Commission[0]"},
		{"level 2 commission as points", "", scrm.RewardPoints, referral.Program{Commission: rates("0", "0.05")}, "Commission[1]"},
		{"points kinds unused", scrm.RewardPoints, scrm.RewardPoints, referral.Program{InviterRewards: []scrm.Reward{points(5)}}, ""},
		{"zero percent", scrm.RewardPoints, "", referral.Program{Percent: scrm.Yuan("0")}, ""},
		{"host money kind", "cash", "cash", referral.Program{Percent: scrm.Yuan("0.1"), Commission: rates("0.1")}, ""},
		{"defaults", "", "", referral.Program{Percent: scrm.Yuan("0.1"), Commission: rates("0.1")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(o *referral.Options) { o.PercentKind, o.CommissionKind = tt.percent, tt.commission })
			p := tt.p
			p.Tenant, p.ID = tenant, "p1"
			err := r.svc.SaveProgram(r.ctx, p)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field, "%v", err)
			_, err = r.svc.Program(r.ctx, tenant, "p1")
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		})
	}
}

func TestProgramRoundTrip(t *testing.T) {
	r := newRig(t)
	p := r.save(referral.Program{Name: "老带新", Commission: rates("0.1", "0.05"),
		Ladder: []referral.Rung{{Count: 3, Rewards: []scrm.Reward{points(300)}}}, InviterRewards: []scrm.Reward{coupon("x")}})
	got, err := r.svc.Program(r.ctx, tenant, "p1")
	require.NoError(t, err)
	assert.Equal(t, p.Name, got.Name)
	got.Ladder[0].Rewards[0].Points = 1 // a copy
	got.Commission[0] = scrm.Yuan("0.9")
	again, err := r.svc.Program(r.ctx, tenant, "p1")
	require.NoError(t, err)
	assert.Equal(t, int64(300), again.Ladder[0].Rewards[0].Points)
	assert.True(t, again.Commission[0].Equal(scrm.Yuan("0.1")))
}

func TestMalformedIDs(t *testing.T) {
	r := newRig(t)
	long := strings.Repeat("x", scrm.MaxIDLength+1)
	calls := map[string]func() error{
		"Code":      func() error { _, err := r.svc.Code(r.ctx, tenant, ""); return err },
		"StaffCode": func() error { _, err := r.svc.StaffCode(r.ctx, "", "s"); return err },
		"CodeOwner": func() error { _, err := r.svc.CodeOwner(r.ctx, tenant, "??"); return err },
		"Observe":   func() error { return r.svc.Observe(r.ctx, tenant, scrm.CustomerID(long), referral.Signals{}) },
		"Bind": func() error {
			_, err := r.svc.Bind(r.ctx, referral.BindRequest{Tenant: tenant, Invitee: "B"})
			return err
		},
		"BindKey": func() error {
			_, err := r.svc.Bind(r.ctx, referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", IdempotencyKey: long})
			return err
		},
		"Approve":      func() error { _, err := r.svc.Approve(r.ctx, tenant, ""); return err },
		"Reject":       func() error { _, err := r.svc.Reject(r.ctx, "", "B"); return err },
		"Inviter":      func() error { _, err := r.svc.Inviter(r.ctx, tenant, ""); return err },
		"Settle":       func() error { _, err := r.svc.Settle(r.ctx, ""); return err },
		"Stats":        func() error { _, err := r.svc.Stats(r.ctx, tenant, "p1", ""); return err },
		"Leaderboard":  func() error { _, err := r.svc.Leaderboard(r.ctx, tenant, "", 5); return err },
		"Report":       func() error { _, err := r.svc.Report(r.ctx, "", "p1"); return err },
		"Open":         func() error { _, err := r.svc.Open(r.ctx, tenant, "g", ""); return err },
		"Join":         func() error { _, err := r.svc.Join(r.ctx, tenant, "", "c"); return err },
		"Team":         func() error { _, err := r.svc.Team(r.ctx, tenant, ""); return err },
		"Sweep":        func() error { _, err := r.svc.Sweep(r.ctx, ""); return err },
		"DrawGroupBuy": func() error { _, err := r.svc.DrawGroupBuy(r.ctx, tenant, ""); return err },
		"Start":        func() error { _, err := r.svc.Start(r.ctx, tenant, "b", ""); return err },
		"Help":         func() error { _, err := r.svc.Help(r.ctx, tenant, "s", ""); return err },
		"Session":      func() error { _, err := r.svc.Session(r.ctx, tenant, long); return err },
		"Program":      func() error { _, err := r.svc.Program(r.ctx, tenant, ""); return err },
	}
	for name, call := range calls {
		assert.ErrorIs(t, call(), scrm.ErrInvalid, name)
	}
}
