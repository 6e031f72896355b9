package member_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestSweep(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Tiers = nil
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 10}
	f := newFixture(t, p)
	// 2500 customers (more than one page), earning on three days; c0..c9
	// also earn on a fourth.
	const n = 2500
	for d := 0; d < 3; d++ {
		f.clock.Set(start.AddDate(0, 0, d))
		for i := 0; i < n; i++ {
			if i%3 == d {
				f.earn(t, scrm.CustomerID(fmt.Sprintf("c%04d", i)), fmt.Sprintf("o%d", i), "10.00")
			}
		}
	}
	f.clock.Set(start.AddDate(0, 0, 5))
	for i := 0; i < 10; i++ {
		f.earn(t, scrm.CustomerID(fmt.Sprintf("c%04d", i)), fmt.Sprintf("late%d", i), "5.00")
	}

	// Expiring within 11 days of day 3 (up to 14 March 00:00): the day 0 and
	// day 1 earners, whose points expire on 13 and 14 March.
	f.clock.Set(time.Date(2026, 3, 3, 0, 0, 0, 0, shanghai))
	soon, err := f.svc.Expiring(ctx, tenant, 11*24*time.Hour)
	require.NoError(t, err)
	want := 0
	for i := 0; i < n; i++ {
		if i%3 != 2 {
			want++
		}
	}
	require.Len(t, soon, want)
	assert.Equal(t, time.Date(2026, 3, 13, 0, 0, 0, 0, shanghai), soon[0].ExpiresAt, "soonest first, in the tenant's zone")
	assert.Equal(t, int64(10), soon[0].Points)
	_, err = f.svc.Expiring(ctx, tenant, 0)
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	// 14 March 00:00: the day 0 and day 1 lots are due.
	f.clock.Set(time.Date(2026, 3, 14, 0, 0, 0, 0, shanghai))
	res, err := f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, want, res.Accounts)
	assert.Equal(t, int64(10*want), res.Expired)
	assert.Zero(t, res.Failed)
	expired := f.events.ofType(member.EventPointsExpired)
	require.Len(t, expired, want)
	ids := map[string]bool{}
	for _, e := range expired {
		assert.False(t, ids[e.ID], "event IDs are unique")
		ids[e.ID] = true
		assert.Equal(t, int64(10), e.Props["points"])
	}

	// Sweeping again finds nothing: every account is up to date.
	res, err = f.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, member.SweepResult{}, res)
	assert.Len(t, f.events.ofType(member.EventPointsExpired), want)

	a := f.account(t, "c0000")
	assert.Equal(t, int64(5), a.Points, "the later lot is still live")
	require.Len(t, a.Lots, 1)
	a = f.account(t, "c0011")
	assert.Equal(t, int64(10), a.Points, "earned on day 2: expires on the 15th")

	// A tenant without a program has nothing to sweep.
	res, err = f.svc.Sweep(ctx, "nobody")
	require.NoError(t, err)
	assert.Equal(t, member.SweepResult{}, res)
}

func TestSweepCancelled(t *testing.T) {
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 1}
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "10.00")
	f.clock.Set(start.AddDate(0, 0, 3))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.svc.Sweep(ctx, tenant)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	res, err := f.svc.Sweep(context.Background(), tenant)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Accounts)
}
