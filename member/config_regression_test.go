package member_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

var cfgNow = time.Date(2026, 3, 10, 12, 0, 0, 0, scrm.DefaultLocation())

func cfgService(t *testing.T) (*member.Service, *scrmtest.Clock) {
	t.Helper()
	clk := scrmtest.NewClock(cfgNow)
	svc := member.New(member.NewMemoryStore(), scrm.NewMemoryProfileStore(), &member.Options{Options: scrm.Options{Clock: clk}})
	return svc, clk
}

func requireFieldNamed(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, scrm.ErrInvalid) {
		t.Fatalf("want ErrInvalid naming %q, got %v", want, err)
	}
	var se *scrm.Error
	if !errors.As(err, &se) || se.Field != want {
		got := ""
		if se != nil {
			got = se.Field
		}
		t.Fatalf("want Field %q, got %v (field %q)", want, err, got)
	}
}

// PutProgram must reject a tier upgrade reward that the service's own
// Grant can never pay (a "points" reward of 0 points), naming
// "Tiers[0].UpgradeRewards[0].Points", as PutCheckInRule, PutPlan
// (checkRewards) and PutCatalogItem (checkReward) do for the same reward.
// Program.validate (member/program.go) only runs scrm.Grant.Validate,
// which allows 0 points, so PutProgram accepts it; the reward then fails
// after the upgrading Earn committed ("member: after commit:
// member.Grant: Reward.Points: must be positive, got 0"), on every
// upgrade, for ever.
func TestProgramRefusesZeroPointsUpgradeReward(t *testing.T) {
	ctx := context.Background()
	svc, _ := cfgService(t)
	p := member.Program{Tenant: "t1",
		Growth: member.GrowthRule{PerYuan: decimal.NewFromInt(1)},
		Tiers: []member.Tier{{ID: "silver", Threshold: 100,
			UpgradeRewards: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 0}}}}}
	_, err := svc.PutProgram(ctx, p)
	if err == nil {
		_, eerr := svc.Earn(ctx, member.EarnRequest{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", OrderID: "o1", Amount: decimal.NewFromInt(200)})
		t.Fatalf("PutProgram accepted a 0-point upgrade reward; an upgrading Earn then returns %v", eerr)
	}
	requireFieldNamed(t, err, "Tiers[0].UpgradeRewards[0].Points")
}

// A rate's decimal places are those of its value, not of how the decimal
// happens to be written: "1.50000000" (a NUMERIC(18,8) column, or
// decimal.RequireFromString of what an admin UI sent) is 1.5, one decimal
// place. Plan.Validate counts them so (checkUnitRate, PointsMultiplier:
// Shift(n).IsInteger()), as scrm.ToFen does for money ("however d is
// written"). Program.validate's checkRate (member/program.go) tests
// d.Exponent() < -6 instead, so PutProgram refuses Earn.PointsPerYuan
// "1.00000000" with the baffling "at most 6 decimal places, got 1".
func TestProgramRateWithTrailingZerosAccepted(t *testing.T) {
	ctx := context.Background()
	svc, _ := cfgService(t)
	p := member.Program{Tenant: "t1",
		Earn:   member.EarnRule{PointsPerYuan: decimal.RequireFromString("1.00000000")},
		Growth: member.GrowthRule{PerYuan: decimal.RequireFromString("0.50000000")},
		Tiers:  []member.Tier{{ID: "gold", Threshold: 100, PointsMultiplier: decimal.RequireFromString("1.50000000")}}}
	if _, err := svc.PutProgram(ctx, p); err != nil {
		t.Fatalf("PutProgram refused rates with trailing zeros: %v", err)
	}
}
