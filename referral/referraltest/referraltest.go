// Package referraltest is the conformance suite every referral.Store must
// pass, in the manner of testing/fstest: a host that writes its own store
// runs it from its own tests.
//
//	func TestMyStore(t *testing.T) {
//		referraltest.RunStoreTests(t, func(t *testing.T) referral.Store {
//			return mystore.New(testDB(t))
//		})
//	}
//
// It covers not-found answers, duplicates, round trips (money compared with
// Equal, times with a millisecond tolerance), compare-and-set conflicts,
// idempotent replays, tenant isolation, the concurrency invariants each
// Store method promises (many goroutines racing on one limit: exactly the
// limit wins), cancelled contexts and copies-not-aliases.
package referraltest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// RunStoreTests runs the conformance suite against the stores newStore
// returns. newStore is called once per subtest and must return an empty
// store.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Helper()
	t.Run("Programs", func(t *testing.T) { testPrograms(t, newStore) })
	t.Run("Codes", func(t *testing.T) { testCodes(t, newStore) })
	t.Run("Signals", func(t *testing.T) { testSignals(t, newStore) })
	t.Run("Bindings", func(t *testing.T) { testBindings(t, newStore) })
	t.Run("Qualifications", func(t *testing.T) { testQualifications(t, newStore) })
	t.Run("Entries", func(t *testing.T) { testEntries(t, newStore) })
	t.Run("PartialRefunds", func(t *testing.T) { testPartialRefunds(t, newStore) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, newStore) })
	t.Run("Stats", func(t *testing.T) { testStats(t, newStore) })
	t.Run("Teams", func(t *testing.T) { testTeams(t, newStore) })
	t.Run("GroupBuys", func(t *testing.T) { testGroupBuys(t, newStore) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore) })
	t.Run("Lotteries", func(t *testing.T) { testLotteries(t, newStore) })
	t.Run("LotteryDraws", func(t *testing.T) { testLotteryDraws(t, newStore) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, newStore) })
}

const (
	tenant scrm.TenantID = "t1"
	other  scrm.TenantID = "t2"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
)

const timeTolerance = time.Millisecond

func sameTime(t *testing.T, want, got time.Time, msgAndArgs ...any) {
	t.Helper()
	if want.IsZero() {
		assert.True(t, got.IsZero(), msgAndArgs...)
		return
	}
	assert.WithinDuration(t, want, got, timeTolerance, msgAndArgs...)
}

// refused asserts that err matches sentinel and carries reason.
func refused(t *testing.T, err error, sentinel error, reason referral.Reason) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, sentinel, "%v", err)
	assert.True(t, errors.Is(err, reason), "want reason %s, got %v", reason, err)
}

// race runs f(i) for i in [0, n) on n goroutines started together and
// returns how many returned nil; the other errors go to check.
func race(n int, f func(i int) error, check func(err error)) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	ok := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else {
				check(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok
}

func cid(format string, args ...any) scrm.CustomerID {
	return scrm.CustomerID(fmt.Sprintf(format, args...))
}

func binding(invitee, inviter scrm.CustomerID, at time.Time) referral.Binding {
	return referral.Binding{Tenant: tenant, Program: "p1", Invitee: invitee, Inviter: inviter,
		Code: "CODE", At: at, Status: referral.StatusActive}
}

func mustBind(t *testing.T, s referral.Store, b referral.Binding, limits ...referral.BindLimit) referral.Binding {
	t.Helper()
	got, err := s.Bind(ctx, referral.BindParams{Binding: b, Limits: limits})
	require.NoError(t, err)
	return got
}
