package referral_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

func benchService(b *testing.B) (*referral.Service, *scrmtest.Clock) {
	b.Helper()
	clock := scrmtest.NewClock(t0)
	n := 0
	svc := referral.New(referral.NewMemoryStore(), scrm.NewMemoryProfileStore(), &referral.Options{
		Options:    scrm.Options{Clock: clock, NewID: func() string { n++; return fmt.Sprintf("id%09d", n) }},
		Rewarder:   scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return nil }),
		CodeSecret: func(scrm.TenantID) []byte { return []byte("bench secret, 32 bytes long.....") },
		Seed:       func() uint64 { return uint64(n) },
	})
	err := svc.SaveProgram(context.Background(), referral.Program{
		Tenant: tenant, ID: "p1",
		Qualify:          referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * day},
		InviteeOnBind:    []scrm.Reward{coupon("new-50")},
		InviteeOnQualify: []scrm.Reward{points(200)},
		InviterRewards:   []scrm.Reward{coupon("148-20")},
		Percent:          scrm.Yuan("0.05"), PercentCap: scrm.Yuan("100"),
		Commission:  rates("0.10", "0.03"),
		SettleAfter: 7 * day,
		Fraud: referral.FraudPolicy{
			PerInviter: referral.Limit{Max: 1000},
			PerDevice:  referral.Limit{Max: 3},
			PerIP:      referral.Limit{Max: 50, Within: day, Action: referral.ActionReview},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return svc, clock
}

// BenchmarkBind binds new customers under 1000 inviters, with signals and
// every fraud check of the policy on, and grants the invitee's bind reward.
func BenchmarkBind(b *testing.B) {
	svc, _ := benchService(b)
	ctx := context.Background()
	codes := make([]string, 1000)
	for i := range codes {
		c, err := svc.Code(ctx, tenant, scrm.CustomerID(fmt.Sprintf("A%04d", i)))
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = c
	}
	reqs := make([]referral.BindRequest, b.N)
	for i := range reqs {
		reqs[i] = referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: scrm.CustomerID(fmt.Sprintf("B%09d", i)),
			Code:    codes[i%len(codes)],
			Signals: referral.Signals{Device: fmt.Sprintf("dev-%09d", i), IP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}}
	}
	runtime.GC() // collect the setup's garbage outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Bind(ctx, reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQualify delivers each bound invitee's first order: qualification,
// the invitee's and the inviter's rewards through the grant ledger, and the
// percent and two-level commission entries.
func BenchmarkQualify(b *testing.B) {
	svc, clock := benchService(b)
	ctx := context.Background()
	codes := make([]string, 100+b.N/500) // within the policy's 1000 bindings per inviter and hour
	for i := range codes {
		inviter := scrm.CustomerID(fmt.Sprintf("A%04d", i))
		c, err := svc.Code(ctx, tenant, inviter)
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = c
		up, _ := svc.Code(ctx, tenant, "Z")
		if _, err := svc.Bind(ctx, referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: inviter, Code: up}); err != nil {
			b.Fatal(err)
		}
	}
	invitees := make([]scrm.CustomerID, b.N)
	ids := make([]string, b.N)
	for i := range invitees {
		invitees[i] = scrm.CustomerID(fmt.Sprintf("B%09d", i))
		ids[i] = fmt.Sprintf("pay-%09d", i)
		if _, err := svc.Bind(ctx, referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: invitees[i], Code: codes[i%len(codes)]}); err != nil {
			b.Fatal(err)
		}
	}
	// One amount and one props map for every event, so the benchmark's own
	// data does not weigh on the garbage collector; orders are per invitee.
	amount, props := scrm.Yuan("128.00"), map[string]any{"order_id": "o-1"}
	clock.Advance(time.Hour)
	runtime.GC() // collect the setup's garbage outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e := scrm.Event{ID: ids[i], Tenant: tenant, Customer: invitees[i], Type: scrm.EventOrderPaid,
			Time: t0.Add(time.Hour), Amount: amount, Props: props}
		if err := svc.Handle(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBargainHelp helps sessions of 10 helpers each, with the new
// customer boost on (so each help looks up the helper's profile).
func BenchmarkBargainHelp(b *testing.B) {
	svc, _ := benchService(b)
	ctx := context.Background()
	const helpers = 10
	if err := svc.SaveBargain(ctx, referral.Bargain{Tenant: tenant, ID: "bg", Price: scrm.Yuan("199.00"), Floor: scrm.Yuan("9.90"),
		Helpers: helpers, Duration: day, NewHelperBoost: 200}); err != nil {
		b.Fatal(err)
	}
	sessions := make([]string, b.N/helpers+1)
	for i := range sessions {
		s, err := svc.Start(ctx, tenant, "bg", scrm.CustomerID(fmt.Sprintf("O%09d", i)))
		if err != nil {
			b.Fatal(err)
		}
		sessions[i] = s.ID
	}
	helperIDs := make([]scrm.CustomerID, helpers)
	for i := range helperIDs {
		helperIDs[i] = scrm.CustomerID(fmt.Sprintf("H%02d", i))
	}
	runtime.GC() // collect the setup's garbage outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Help(ctx, tenant, sessions[i/helpers], helperIDs[i%helpers]); err != nil {
			b.Fatal(err)
		}
	}
}
