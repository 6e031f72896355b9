package member_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// refusingRewarder answers every grant with err, counting the calls.
type refusingRewarder struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (r *refusingRewarder) Grant(context.Context, scrm.Grant) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return r.err
}

// An upgrade reward the Rewarder refuses for good (its coupon template ran
// out) is reported with the refusal's code, not ErrUnavailable, so that a
// host retrying on ErrUnavailable does not retry the order for ever; a
// refusal that may pass is ErrUnavailable; either way the points stand and
// a retry with the key grants again.
func TestUpgradeRewardFailureSaysWhetherRetryingHelps(t *testing.T) {
	ctx := context.Background()
	rw := &refusingRewarder{}
	svc := member.New(member.NewMemoryStore(), scrm.NewMemoryProfileStore(), &member.Options{
		Options:  scrm.Options{Clock: scrmtest.NewClock(start)},
		Rewarder: rw,
	})
	p := standard()
	p.Tiers[1].UpgradeRewards = []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "silver-gift", Count: 1}}
	_, err := svc.PutProgram(ctx, p)
	require.NoError(t, err)

	rw.err = scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template silver-gift is out of stock")
	req := member.EarnRequest{Tenant: tenant, Customer: "C1", IdempotencyKey: "pay-1", OrderID: "o1", Amount: dec("600")}
	res, err := svc.Earn(ctx, req)
	require.ErrorIs(t, err, scrm.ErrExhausted)
	require.NotErrorIs(t, err, scrm.ErrUnavailable, "retrying cannot bring the template back")
	require.Equal(t, int64(600), res.Points)
	require.Equal(t, "silver", res.TierChange.To)

	// Through Handle, as a dispatcher delivers it: the same classification.
	err = svc.Handle(ctx, scrm.Event{ID: "pay-2", Tenant: tenant, Customer: "C2", Type: scrm.EventOrderPaid,
		Time: start, Amount: dec("600"), Props: map[string]any{"order_id": "o2"}})
	require.ErrorIs(t, err, scrm.ErrExhausted)
	require.NotErrorIs(t, err, scrm.ErrUnavailable)

	rw.err = errors.New("connection reset") // may pass: retry
	res, err = svc.Earn(ctx, req)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.True(t, res.Replayed)

	rw.err = nil
	before := rw.calls
	res, err = svc.Earn(ctx, req)
	require.NoError(t, err)
	require.True(t, res.Replayed)
	require.Equal(t, before+1, rw.calls, "the replay grants the upgrade reward again under its key")
	acc, err := svc.Account(ctx, tenant, "C1")
	require.NoError(t, err)
	require.Equal(t, int64(600), acc.Points, "the refusals changed nothing in the ledger")
}
