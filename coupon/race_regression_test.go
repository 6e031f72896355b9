package coupon_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// pausingStore wraps the memory store; a hook set for a method runs before
// the call reaches the memory store (it may block to force an
// interleaving).
type pausingStore struct {
	coupon.Store
	mu    sync.Mutex
	hooks map[string]func()
}

func (s *pausingStore) hook(method string, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		s.hooks = map[string]func(){}
	}
	s.hooks[method] = f
}

func (s *pausingStore) run(method string) {
	s.mu.Lock()
	f := s.hooks[method]
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

func (s *pausingStore) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	s.run("Claim")
	return s.Store.Claim(ctx, p)
}

// pauseFirst returns a hook that, the first time it runs, signals reached
// and waits for release; other calls pass straight through.
func pauseFirst(reached chan<- struct{}, release <-chan struct{}) func() {
	var first atomic.Bool
	return func() {
		if first.CompareAndSwap(false, true) {
			close(reached)
			<-release
		}
	}
}

// pausingEnv is newEnv over a pausingStore.
func pausingEnv(t *testing.T) (*env, *pausingStore) {
	t.Helper()
	e := newEnv(t)
	ws := &pausingStore{Store: e.store}
	var n atomic.Int64
	e.svc = coupon.New(ws, e.profiles, &coupon.Options{Options: scrm.Options{Clock: e.clock, Publisher: e.events,
		NewID: func() string { return fmt.Sprintf("rc%d", n.Add(1)) }}})
	e.store = ws
	return e, ws
}

// TestIssueBatchRerunInFlightReportsTheReplay: BatchIssued.Replayed means
// "issued by an earlier run of the batch", which is how a host running a
// batch again after a timeout tells the coupons it issued from those issued
// already (and, say, notifies each customer once). When a rerun runs while
// the first run is still inside (both found no record under the customer's
// derived key, and the first reaches Store.Claim second), the store answers
// the first run with a replay (ClaimResult.Replayed) of the coupon the
// rerun issued, and IssueBatch reports it so: exactly one run reports the
// coupon as issued by it.
func TestIssueBatchRerunInFlightReportsTheReplay(t *testing.T) {
	e, ws := pausingEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	req := coupon.BatchRequest{Tenant: tenant, Template: "c", Customers: []scrm.CustomerID{"u1"}, IdempotencyKey: "b1"}

	reached, release := make(chan struct{}), make(chan struct{})
	ws.hook("Claim", pauseFirst(reached, release))
	type res struct {
		r   coupon.BatchResult
		err error
	}
	done := make(chan res)
	go func() {
		r, err := e.svc.IssueBatch(ctx, req) // the first run, slow to reach the store
		done <- res{r, err}
	}()
	<-reached
	rerun, err := e.svc.IssueBatch(ctx, req) // the host's rerun after a timeout
	require.NoError(t, err)
	close(release)
	first := <-done
	require.NoError(t, first.err)
	require.Len(t, rerun.Issued, 1)
	require.Len(t, first.r.Issued, 1)
	require.Equal(t, rerun.Issued[0].Coupon, first.r.Issued[0].Coupon, "one coupon")
	w, err := e.svc.Wallet(ctx, tenant, "u1")
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.False(t, rerun.Issued[0].Replayed && first.r.Issued[0].Replayed)
	require.True(t, rerun.Issued[0].Replayed || first.r.Issued[0].Replayed,
		"coupon %s was issued once, but both runs report it as issued by them (Replayed false): %+v and %+v",
		w[0].ID, first.r.Issued[0], rerun.Issued[0])
	require.False(t, rerun.Issued[0].Replayed, "the rerun reached the store first and issued it")
}

// TestClaimRetryInFlightGetsTheSameCoupon: a customer's claim retried with
// its IdempotencyKey while the first attempt is still inside (both found
// nothing under the key; the retry reaches Store.Claim first) gets one
// coupon: the first attempt is answered with the retry's, and the customer
// holds one.
func TestClaimRetryInFlightGetsTheSameCoupon(t *testing.T) {
	e, ws := pausingEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	req := coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k1"}

	reached, release := make(chan struct{}), make(chan struct{})
	ws.hook("Claim", pauseFirst(reached, release))
	type res struct {
		c   coupon.Coupon
		err error
	}
	done := make(chan res)
	go func() {
		c, err := e.svc.Claim(ctx, req)
		done <- res{c, err}
	}()
	<-reached
	retry, err := e.svc.Claim(ctx, req)
	require.NoError(t, err)
	close(release)
	first := <-done
	require.NoError(t, first.err)
	require.Equal(t, retry, first.c)
	w, err := e.svc.Wallet(ctx, tenant, "u1")
	require.NoError(t, err)
	require.Len(t, w, 1)
	st, err := e.store.Stats(ctx, tenant, "c")
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Issued)
}
