package membertest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func testConcurrency(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Run("SpendersNeverOverdraw", func(t *testing.T) {
		// 100 goroutines each spend 10 points from an account of 500
		// spread over 5 lots: exactly 50 win, the rest are refused, and
		// the balance ends at zero, never below.
		s := newStore(t)
		for i := 0; i < 5; i++ {
			update(t, s, member.UpdateParams{Tenant: "t1", Customer: "c1"}, credit(100, t0.AddDate(0, i+1, 0)))
		}
		const n = 100
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: "c1",
					IdempotencyKey: fmt.Sprintf("spend-%d", i), Fingerprint: "fp"}, spend(10))
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, scrm.ErrExhausted):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, 50, won)
		a := account(t, s, "t1", "c1")
		assert.Equal(t, int64(0), a.Points())
		for _, l := range a.Lots {
			assert.GreaterOrEqual(t, l.Remaining, int64(0))
		}
		assert.Equal(t, int64(5+won), a.Seq, "one journal entry per update")
		page, err := s.Entries(ctx, member.ListEntriesParams{Tenant: "t1", Customer: "c1", Limit: 1000})
		require.NoError(t, err)
		var sum int64
		for _, e := range page.Entries {
			sum += e.Points
		}
		assert.Equal(t, a.Points(), sum, "the journal explains the balance")
	})

	t.Run("ManyAccountsInParallel", func(t *testing.T) {
		s := newStore(t)
		const customers, each = 20, 25
		var wg sync.WaitGroup
		for c := 0; c < customers; c++ {
			for i := 0; i < each; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, err := s.Update(ctx, member.UpdateParams{Tenant: "t1", Customer: scrm.CustomerID(fmt.Sprintf("c%d", c)),
						IdempotencyKey: fmt.Sprintf("k-%d-%d", c, i), Fingerprint: "fp"},
						credit(1, t0.Add(time.Duration(i)*time.Hour)))
					assert.NoError(t, err)
				}()
			}
		}
		wg.Wait()
		for c := 0; c < customers; c++ {
			a := account(t, s, "t1", scrm.CustomerID(fmt.Sprintf("c%d", c)))
			assert.Equal(t, int64(each), a.Points())
			assert.Equal(t, int64(each), a.Version)
		}
		due := listAll(t, func(p member.ListDueParams) (member.DuePage, error) { return s.ListDue(ctx, p) }, "t1", t0.AddDate(1, 0, 0), 7)
		assert.Len(t, due, customers, "every account indexed once")
	})
}

// assertVersionedPuts runs n puts at once (put(i) stores the i-th value and
// returns the version it got) and checks that each got a version of its
// own, 1 to n, under which stored(version) reads back that put's i, and
// that newest() reports version n.
func assertVersionedPuts(t *testing.T, n int, put func(i int) (int64, error), stored func(version int64) (int, error), newest func() (int64, error)) {
	t.Helper()
	var wg sync.WaitGroup
	versions := make([]int64, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			versions[i], err = put(i)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, v := range versions {
		assert.False(t, seen[v], "version %d returned twice", v)
		seen[v] = true
		got, err := stored(v)
		require.NoError(t, err, "version %d", v)
		assert.Equal(t, i, got, "version %d is what its put stored", v)
	}
	v, err := newest()
	require.NoError(t, err)
	assert.Equal(t, int64(n), v, "the newest version")
}
