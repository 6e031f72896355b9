package scrm_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// BenchmarkDirectoryResolve resolves a random known phone number among
// 1,000,000 customers: the hot path of every incoming event.
func BenchmarkDirectoryResolve(b *testing.B) {
	const customers = 1_000_000
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	store := scrm.NewMemoryDirectoryStore()
	// The phone numbers, 11 digits each, back to back in one string: an
	// incoming request's phone costs one cache miss, not two.
	var sb strings.Builder
	sb.Grow(11 * customers)
	for i := range customers {
		fmt.Fprintf(&sb, "13%09d", i)
	}
	phones := sb.String()
	phone := func(i int) string { return phones[11*i : 11*i+11] }
	ids := make([]scrm.Identity, 1)
	for i := range customers {
		ids[0] = scrm.Identity{Kind: scrm.IdentityPhone, Value: phone(i)}
		if _, err := store.Resolve(ctx, scrm.ResolveParams{Tenant: "t1", Identities: ids,
			NewID: scrm.CustomerID("c" + strconv.Itoa(i)), Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	dir := scrm.NewDirectory(store, &scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return now })})
	rng := rand.New(rand.NewPCG(1, 2))
	runtime.GC() // collect the setup's garbage now, not during the measurement
	b.ReportAllocs()
	for b.Loop() {
		i := rng.IntN(customers)
		id, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: phone(i)})
		if err != nil || id == "" {
			b.Fatal(id, err)
		}
	}
}

// BenchmarkDirectoryResolveNew creates a customer per call, with the default
// random IDs.
func BenchmarkDirectoryResolveNew(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	dir := scrm.NewDirectory(scrm.NewMemoryDirectoryStore(), &scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return now })})
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		r, err := dir.ResolveDetail(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "1" + strconv.Itoa(3000000000+n)})
		if err != nil || !r.Created {
			b.Fatal(r, err)
		}
	}
}
