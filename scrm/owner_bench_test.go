package scrm_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// BenchmarkTransfer10k hands all 10,000 customers of a departing staff
// member to a colleague through Team.Transfer: validation, the atomic store
// move with history, the idempotency record and 10,000
// customer.owner_changed events built and published (to the default
// publisher, which drops them; the cost of the host's handlers is theirs).
// Each iteration starts from a fresh store, set up outside the timer.
func BenchmarkTransfer10k(b *testing.B) {
	const customers = 10_000
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	opts := &scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return now })}
	ids := make([]scrm.CustomerID, customers)
	for i := range ids {
		ids[i] = scrm.CustomerID("c" + strconv.Itoa(1_000_000+i))
	}
	setup := func() *scrm.Team {
		store := scrm.NewMemoryStaffStore()
		for _, id := range []string{"s1", "s2"} {
			if err := store.PutStaff(ctx, scrm.Staff{Tenant: "t1", ID: id, Store: "A", Active: true}); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range ids {
			if _, err := store.Assign(ctx, scrm.AssignParams{Tenant: "t1", Customer: c, Staff: "s1", Reason: "added", Cause: "e", At: now}); err != nil {
				b.Fatal(err)
			}
		}
		return scrm.NewTeam(store, opts)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		team := setup()
		b.StartTimer()
		res, err := team.Transfer(ctx, scrm.TransferRequest{Tenant: "t1", From: "s1", To: "s2", Reason: "离职继承", IdempotencyKey: "leave-s1"})
		if err != nil || len(res.Changes) != customers {
			b.Fatal(len(res.Changes), err)
		}
	}
}
