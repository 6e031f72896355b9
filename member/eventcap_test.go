package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// An event dated ahead of the clock (a device a few minutes fast, within
// FutureTolerance) on the next local date counts against today's PerDay
// cap: counted as tomorrow, it made the rest of today's events late, which
// only Limit checks, so a review posted at 00:01 "tomorrow" let the
// customer earn for every review posted today after it.
func TestEventDatedAheadOfTheClockCountsForToday(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Earn.Events = []member.EventRule{{Type: "review", Points: 10, PerDay: 1}}
	f := newFixture(t, p)
	sunday := time.Date(2026, 3, 8, 23, 57, 0, 0, shanghai)
	f.clock.Set(sunday)
	post := func(id string, at time.Time) {
		t.Helper()
		require.NoError(t, f.svc.Handle(ctx, scrm.Event{ID: id, Tenant: tenant, Customer: "c1", Type: "review", Time: at}))
	}
	post("r1", sunday.Add(4*time.Minute)) // 00:01 Monday by the device
	post("r2", sunday.Add(30*time.Second))
	post("r3", sunday.Add(time.Minute))
	assert.Equal(t, int64(10), f.account(t, "c1").Points, "one review a day earns")

	f.clock.Set(sunday.Add(10 * time.Hour)) // Monday 09:57: a new day
	post("r4", f.clock.Now())
	assert.Equal(t, int64(20), f.account(t, "c1").Points)
}
