package member_test

import (
	"context"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases need zones the test machine may lack

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestExpiresAt(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	santiago, err := time.LoadLocation("America/Santiago") // clocks jump from 24:00 to 01:00
	require.NoError(t, err)
	at := func(loc *time.Location, y int, m time.Month, d, h int) time.Time {
		return time.Date(y, m, d, h, 0, 0, 0, loc)
	}

	tests := []struct {
		name   string
		rule   member.ExpiryRule
		loc    *time.Location
		earned time.Time
		want   time.Time
	}{
		{"never", member.ExpiryRule{}, shanghai, at(shanghai, 2026, 3, 2, 10), time.Time{}},
		{"never explicit", member.ExpiryRule{Kind: member.ExpireNever}, shanghai, at(shanghai, 2026, 3, 2, 10), time.Time{}},
		{"30 days", member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 30}, shanghai, at(shanghai, 2026, 3, 2, 10), at(shanghai, 2026, 4, 2, 0)},
		{"1 day at 23:59", member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 1}, shanghai,
			time.Date(2026, 3, 2, 23, 59, 59, 0, shanghai), at(shanghai, 2026, 3, 4, 0)},
		{"days in the tenant's zone, not UTC", member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 1}, shanghai,
			time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC), at(shanghai, 2026, 3, 4, 0)}, // 2 March 01:00 in Shanghai
		{"365 days across a leap day", member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 365}, shanghai,
			at(shanghai, 2027, 6, 1, 12), at(shanghai, 2028, 6, 1, 0)},
		{"end of this year", member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year}, shanghai,
			at(shanghai, 2026, 3, 2, 10), at(shanghai, 2027, 1, 1, 0)},
		{"end of next year", member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Year, Periods: 1}, shanghai,
			at(shanghai, 2026, 12, 31, 23), at(shanghai, 2028, 1, 1, 0)},
		{"end of this quarter", member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Quarter}, shanghai,
			at(shanghai, 2026, 5, 15, 10), at(shanghai, 2026, 7, 1, 0)},
		{"end of the quarter 2 later", member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Quarter, Periods: 2}, shanghai,
			at(shanghai, 2026, 11, 15, 10), at(shanghai, 2027, 7, 1, 0)},
		{"end of this month", member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Month}, shanghai,
			at(shanghai, 2026, 2, 28, 10), at(shanghai, 2026, 3, 1, 0)},
		{"end of the month 13 later", member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Month, Periods: 13}, shanghai,
			at(shanghai, 2026, 12, 5, 10), at(shanghai, 2028, 2, 1, 0)},
		{"days across DST (New York spring forward)", member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 2}, ny,
			at(ny, 2026, 3, 7, 12), at(ny, 2026, 3, 10, 0)},
		{"month end across DST (New York fall back)", member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Month}, ny,
			at(ny, 2026, 10, 20, 12), at(ny, 2026, 11, 1, 0)},
		{"midnight swallowed by DST (Santiago)", member.ExpiryRule{Kind: member.ExpireAfterDays, Days: 1}, santiago,
			at(santiago, 2024, 9, 6, 12), time.Date(2024, 9, 8, 4, 0, 0, 0, time.UTC)}, // 01:00 -03, the first instant of 8 September
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rule.ExpiresAt(tt.earned, tt.loc)
			if tt.want.IsZero() {
				assert.True(t, got.IsZero(), "got %s", got)
				return
			}
			assert.True(t, tt.want.Equal(got), "want %s, got %s", tt.want, got.In(tt.loc))
			// The expiry is the first instant of a local day.
			local := got.In(tt.loc)
			assert.True(t, local.Add(-time.Nanosecond).Day() != local.Day(), "%s is not the start of a day", local)
		})
	}
}

// Points are spendable up to the last nanosecond before their expiry and
// gone at it, whether or not Sweep ran.
func TestExpiryBoundary(t *testing.T) {
	ctx := context.Background()
	p := standard()
	p.Expiry = member.ExpiryRule{Kind: member.ExpireEndOfPeriod, Unit: member.Month}
	f := newFixture(t, p)
	f.earn(t, "c1", "o1", "100.00")
	end := time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai)

	f.clock.Set(end.Add(-time.Nanosecond))
	assert.Equal(t, int64(100), f.account(t, "c1").Points)
	q, err := f.svc.Quote(ctx, member.QuoteRequest{Tenant: tenant, Customer: "c1", OrderAmount: dec("1000")})
	require.NoError(t, err)
	assert.Equal(t, int64(100), q.Points)

	f.clock.Set(end)
	a := f.account(t, "c1")
	assert.Equal(t, int64(0), a.Points, "expired at the boundary, before any sweep")
	assert.Empty(t, a.Lots)
	_, err = f.svc.Hold(ctx, member.HoldRequest{Tenant: tenant, Customer: "c1", IdempotencyKey: "h", OrderID: "o2", Points: 100, OrderAmount: dec("1000")})
	assert.ErrorIs(t, err, scrm.ErrExhausted)

	// The next request recorded the expiry and published it.
	expired := f.events.ofType(member.EventPointsExpired)
	require.Len(t, expired, 0, "a failed request writes nothing")
	f.earn(t, "c1", "o3", "1.00")
	expired = f.events.ofType(member.EventPointsExpired)
	require.Len(t, expired, 1)
	assert.Equal(t, int64(100), expired[0].Props["points"])
}
