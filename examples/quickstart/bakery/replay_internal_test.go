package bakery

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// TestReplayedEventsPayNothingTwice delivers every qualifying order of a
// referred friend a second time, as a retried webhook would: no points, no
// coupon, no referral reward moves.
func TestReplayedEventsPayNothingTwice(t *testing.T) {
	s, err := simulate(context.Background(), Config{Customers: 200, Days: 40, Seed: 11})
	require.NoError(t, err)
	w := s.w
	type state struct {
		points, growth int64
		coupons        int
	}
	snapshot := func(c scrm.CustomerID) state {
		acc, err := w.members.Account(w.ctx, Tenant, c)
		require.NoError(t, err)
		cs, err := w.coupons.Wallet(w.ctx, Tenant, c)
		require.NoError(t, err)
		return state{acc.Points, acc.Growth, len(cs)}
	}
	qualifying := map[string]bool{}
	for _, e := range s.events {
		if e.Type == referral.EventQualified {
			qualifying[e.Prop("order_id")] = true
		}
	}
	require.NotEmpty(t, qualifying)
	report, err := w.referrals.Report(w.ctx, Tenant, program)
	require.NoError(t, err)
	issued := s.countEvents(coupon.EventIssued)
	replayed := 0
	for _, e := range append([]scrm.Event(nil), s.events...) {
		if e.Type != scrm.EventOrderPaid || !qualifying[e.Prop("order_id")] {
			continue
		}
		inviter := s.people[s.byID[e.Customer].inviter].id
		before, beforeInviter := snapshot(e.Customer), snapshot(inviter)
		require.NoError(t, w.bus.Publish(w.ctx, e))
		assert.Equal(t, before, snapshot(e.Customer), "invitee %s after a replay of %s", e.Customer, e.ID)
		assert.Equal(t, beforeInviter, snapshot(inviter), "inviter %s after a replay of %s", inviter, e.ID)
		replayed++
	}
	assert.Equal(t, len(qualifying), replayed)
	after, err := w.referrals.Report(w.ctx, Tenant, program)
	require.NoError(t, err)
	assert.Equal(t, report.Qualified, after.Qualified)
	assert.Equal(t, report.Rewards, after.Rewards)
	assert.Equal(t, issued, s.countEvents(coupon.EventIssued), "no coupon issued by a replay")
}

// countEvents counts the logged events of a type.
func (s *sim) countEvents(typ string) int {
	n := 0
	for _, e := range s.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}
