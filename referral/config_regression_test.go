package referral_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// A reward of kind "points" (or "growth") with no Points, or of kind
// "stored_value" with no Amount, grants nothing: the member service, the
// Rewarder that holds those kinds, refuses it at grant time
// (member.Grant: "Reward.Points: must be positive"), so every inviter of
// the campaign is rewarded with an error after the fact. member's own
// configuration (PutCheckInRule, PutPlan, PutCatalogItem) refuses such a
// reward up front, naming the field; referral's checkRewards
// (referral/program.go) only checks the sign, so SaveProgram,
// SaveGroupBuy and SaveLottery accept an operator's empty points field.
func TestProgramRefusesRewardsWithoutValue(t *testing.T) {
	ctx := context.Background()
	svc := referral.New(referral.NewMemoryStore(), scrm.NewMemoryProfileStore(), nil)
	cases := []struct {
		name  string
		save  func() error
		field string
	}{
		{"ProgramPoints", func() error {
			return svc.SaveProgram(ctx, referral.Program{Tenant: "t1", ID: "p1",
				InviterRewards: []scrm.Reward{{Kind: scrm.RewardPoints}}})
		}, "InviterRewards[0].Points"},
		{"ProgramStoredValue", func() error {
			return svc.SaveProgram(ctx, referral.Program{Tenant: "t1", ID: "p2",
				InviteeOnBind: []scrm.Reward{{Kind: scrm.RewardStoredValue}}})
		}, "InviteeOnBind[0].Amount"},
		// Two levels of 60% would pay more commission than the order was
		// worth: the rates and Percent are shares of one order.
		{"CommissionOverTheOrder", func() error {
			return svc.SaveProgram(ctx, referral.Program{Tenant: "t1", ID: "p3",
				Commission: []decimal.Decimal{scrm.Yuan("0.6"), scrm.Yuan("0.6")}})
		}, "Commission"},
		{"CommissionAndPercentOverTheOrder", func() error {
			return svc.SaveProgram(ctx, referral.Program{Tenant: "t1", ID: "p4", Percent: scrm.Yuan("0.5"),
				Commission: []decimal.Decimal{scrm.Yuan("0.3"), scrm.Yuan("0.3")}})
		}, "Commission"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.save()
			var se *scrm.Error
			if !errors.Is(err, scrm.ErrInvalid) || !errors.As(err, &se) || se.Field != c.field {
				t.Fatalf("want ErrInvalid naming %s, got %v", c.field, err)
			}
		})
	}
}

// Rates that add up to the whole order are still accepted.
func TestProgramCommissionUpToTheOrder(t *testing.T) {
	svc := referral.New(referral.NewMemoryStore(), scrm.NewMemoryProfileStore(), nil)
	err := svc.SaveProgram(context.Background(), referral.Program{Tenant: "t1", ID: "p1", Percent: scrm.Yuan("0.2"),
		Commission: []decimal.Decimal{scrm.Yuan("0.5"), scrm.Yuan("0.3")}})
	if err != nil {
		t.Fatal(err)
	}
}
