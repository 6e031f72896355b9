package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// A small sale keeps every invariant, whatever the shape of the race: more
// members than stock (the stock runs out exactly), fewer (everyone gets
// one), one attempt each, many attempts each, many more workers than
// cores so that taps of one member run at the same time.
func TestSaleInvariants(t *testing.T) {
	for _, cfg := range []config{
		{Members: 5000, Stock: 500, Attempts: 3, Seed: 1},
		{Members: 5000, Stock: 500, Attempts: 3, Workers: 32, Seed: 2},
		{Members: 300, Stock: 1000, Attempts: 4, Workers: 16, Seed: 3},
		{Members: 2000, Stock: 2000, Attempts: 1, Workers: 8, Seed: 4},
		{Members: 200, Stock: 1, Attempts: 10, Workers: 64, Seed: 5},
	} {
		t.Run(fmt.Sprintf("members=%d,stock=%d,attempts=%d,workers=%d", cfg.Members, cfg.Stock, cfg.Attempts, cfg.Workers), func(t *testing.T) {
			r, err := simulate(context.Background(), cfg)
			require.NoError(t, err)
			want := int(min(int64(cfg.Members), cfg.Stock))

			// No oversell: exactly the stock went, or every member got one.
			assert.Equal(t, want, r.Won)
			assert.Equal(t, int64(want), r.Stats.Issued)
			assert.Equal(t, int64(want), r.Stats.Claimed)
			assert.Equal(t, want, r.Stored)

			// No member over the limit, counted from the store, and the
			// holders are exactly the members told they won.
			assert.Equal(t, want, r.Holders)
			assert.Equal(t, 1, r.MaxHeld)
			seen := make(map[scrm.CustomerID]bool, len(r.Winners))
			for _, m := range r.Winners {
				assert.False(t, seen[m], "%s told twice it won", m)
				seen[m] = true
				assert.Equal(t, 1, r.Held[m], "%s won but the store holds %d of its coupons", m, r.Held[m])
			}
			for m, n := range r.Held {
				assert.True(t, seen[m], "%s holds %d coupons it was not told about", m, n)
			}

			// Every tap answered; members tapped 1..Attempts times.
			assert.Equal(t, r.Attempts, r.Won+r.SoldOut+r.OverLimit)
			assert.GreaterOrEqual(t, r.Attempts, cfg.Members)
			assert.LessOrEqual(t, r.Attempts, cfg.Members*cfg.Attempts)
			if int64(cfg.Members) > cfg.Stock {
				assert.Positive(t, r.SoldOut, "more members than stock: someone was told it sold out")
			} else {
				assert.Zero(t, r.SoldOut, "enough stock for everyone")
			}
			if cfg.Attempts == 1 {
				assert.Zero(t, r.OverLimit, "one tap each cannot go over the limit")
			}
			assert.NoError(t, r.verify())
		})
	}
}

// Members who tap more than once hit the limit, and only they do: with
// ample stock, the refusals are exactly the extra taps.
func TestSaleLimitRefusesExtraTaps(t *testing.T) {
	cfg := config{Members: 1000, Stock: 1000, Attempts: 3, Workers: 16, Seed: 7}
	r, err := simulate(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, 1000, r.Won)
	assert.Zero(t, r.SoldOut)
	assert.Equal(t, r.Attempts-1000, r.OverLimit)
	assert.Positive(t, r.OverLimit)
}

// The checks are not vacuous: a report that oversold, or whose store
// disagrees with the answers, fails them.
func TestVerifyCatchesBrokenSales(t *testing.T) {
	good, err := simulate(context.Background(), config{Members: 500, Stock: 50, Attempts: 2, Seed: 1})
	require.NoError(t, err)
	require.NoError(t, good.verify())

	for name, breakIt := range map[string]func(r *report){
		"oversold":            func(r *report) { r.Won++; r.SoldOut-- },
		"stats disagree":      func(r *report) { r.Stats.Issued++ },
		"store disagrees":     func(r *report) { r.Stored-- },
		"member over limit":   func(r *report) { r.MaxHeld = 2 },
		"winner not a holder": func(r *report) { r.Winners[0] = "nobody" },
		"tap unanswered":      func(r *report) { r.Attempts++ },
	} {
		t.Run(name, func(t *testing.T) {
			r := good
			r.Winners = append([]scrm.CustomerID(nil), good.Winners...)
			breakIt(&r)
			assert.Error(t, r.verify())
		})
	}
}

// The program prints its figures and checks, and exits with an error for
// bad flags.
func TestRun(t *testing.T) {
	before := runtime.NumGoroutine()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-members", "3000", "-stock", "300", "-attempts", "2", "-workers", "4"}, &out))
	s := out.String()
	assert.Contains(t, s, "flash sale: 3000 members race for 300 coupons (limit 1 each), tapping 1-2 times; 4 workers")
	assert.Contains(t, s, "claims/s")
	assert.Contains(t, s, "store: issued 300, claimed 300; 300 coupons listed, held by 300 members")
	assert.Contains(t, s, "ok   no oversell")
	assert.NotContains(t, s, "FAIL")
	// A worker has called wg.Done just before it returns, so it may still
	// be counted for a moment after run returns; a leaked one never goes.
	// (Polled here: assert.Eventually runs its condition in a goroutine of
	// its own, which would be counted.)
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "the workers are gone")

	for _, args := range [][]string{
		{"-members", "0"},
		{"-stock", "-1"},
		{"-attempts", "0"},
		{"-attempts", "256"},
		{"-members", "10000000", "-attempts", "4"},
		{"-workers", "-2"},
		{"-members", "ten"},
		{"extra"},
	} {
		out.Reset()
		assert.Error(t, run(context.Background(), args, &out), "%v", args)
	}
	assert.ErrorIs(t, run(context.Background(), []string{"-h"}, &out), flag.ErrHelp)
}

// A cancelled context stops the sale with the store's error.
func TestSaleCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := simulate(ctx, config{Members: 1000, Stock: 100, Attempts: 2, Seed: 1})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
}

// Every member taps 1 to Attempts times, numbered from 1, and the same
// seed gives the same sale.
func TestShuffledJobs(t *testing.T) {
	cfg := config{Members: 1000, Stock: 10, Attempts: 3, Seed: 9}
	jobs := shuffledJobs(cfg)
	taps := make([][]uint64, cfg.Members)
	for _, j := range jobs {
		taps[j>>8] = append(taps[j>>8], j&0xff)
	}
	counts := map[int]int{}
	for m, ts := range taps {
		require.NotEmpty(t, ts, "member %d never taps", m)
		require.LessOrEqual(t, len(ts), cfg.Attempts)
		for i, a := range ts {
			assert.Equal(t, uint64(i+1), a, "member %d", m)
		}
		counts[len(ts)]++
	}
	assert.Len(t, counts, 3, "some members tap once, some twice, some three times")
	assert.Equal(t, jobs, shuffledJobs(cfg))
	cfg.Seed++
	assert.NotEqual(t, jobs, shuffledJobs(cfg))
}
