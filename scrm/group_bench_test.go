package scrm_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// BenchmarkGroupsJoin handles one group.joined event (a new event ID each
// time) for one of 100,000 customers spread over 100 groups.
func BenchmarkGroupsJoin(b *testing.B) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	groups := scrm.NewGroups(nil, nil)
	ids := make([]scrm.CustomerID, 100_000)
	for i := range ids {
		ids[i] = scrm.CustomerID("c" + strconv.Itoa(i))
	}
	props := make([]map[string]any, 100)
	for i := range props {
		props[i] = map[string]any{"group": "g" + strconv.Itoa(i)}
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		e := scrm.Event{ID: "j" + strconv.Itoa(n), Tenant: "t1", Customer: ids[n%len(ids)], Type: scrm.EventGroupJoined,
			Time: t0.Add(time.Duration(n) * time.Second), Props: props[n%len(props)]}
		if err := groups.Handle(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJoinRate10k reports the join rate by store of 10,000 customers
// added in the period, half of whom joined a group.
func BenchmarkJoinRate10k(b *testing.B) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	store := scrm.NewMemoryGroupStore()
	for i := range 10_000 {
		c := scrm.CustomerID("c" + strconv.Itoa(i))
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := store.RecordAdded(ctx, scrm.AttributionParams{Tenant: "t1", Customer: c, EventID: "a" + string(c), At: at,
			Store: "s" + strconv.Itoa(i%20), Staff: "st" + strconv.Itoa(i%200)}); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := store.ApplyMembership(ctx, scrm.MembershipParams{Tenant: "t1", Group: "g1", Customer: c, Joined: true,
				At: at.Add(time.Hour), EventID: "j" + string(c)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	groups := scrm.NewGroups(store, &scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return t0.Add(30 * 24 * time.Hour) })})
	b.ReportAllocs()
	for b.Loop() {
		rep, err := groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: scrm.JoinRateByStore, From: t0})
		if err != nil || rep.Total.Added != 10_000 || rep.Total.Joined != 5_000 {
			b.Fatal(rep.Total, err)
		}
	}
}
