package referral_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestLeaderboardAndReport(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviterRewards: []scrm.Reward{points(10)}})
	// A binds 4, 3 qualify; B binds 3, 3 qualify; C binds 2, 1 qualifies;
	// D binds 1, none qualifies.
	plan := []struct {
		inviter         scrm.CustomerID
		bound, qualifed int
	}{{"A", 4, 3}, {"B", 3, 3}, {"C", 2, 1}, {"D", 1, 0}}
	for _, p := range plan {
		for i := range p.bound {
			c := scrm.CustomerID(fmt.Sprintf("%s-%d", p.inviter, i))
			r.mustBind(c, p.inviter)
			if i < p.qualifed {
				r.pay(c, "10.00", "o-"+string(c))
			}
		}
	}
	top, err := r.svc.Leaderboard(r.ctx, tenant, "p1", 3)
	require.NoError(t, err)
	assert.Equal(t, []referral.Standing{
		{Rank: 1, Inviter: "A", Bound: 4, Qualified: 3},
		{Rank: 2, Inviter: "B", Bound: 3, Qualified: 3},
		{Rank: 3, Inviter: "C", Bound: 2, Qualified: 1},
	}, top)

	rep, err := r.svc.Report(r.ctx, tenant, "p1")
	require.NoError(t, err)
	assert.Equal(t, 4, rep.Inviters)
	assert.Equal(t, 10, rep.Bound)
	assert.Equal(t, 7, rep.Qualified)
	assert.Equal(t, 7, rep.Rewards)
	assert.True(t, rep.QualifiedAmount.Equal(scrm.Yuan("70")))
	assert.InDelta(t, 2.5, rep.InvitesPerInviter, 1e-9)
	assert.InDelta(t, 0.7, rep.QualificationRate, 1e-9)
	assert.InDelta(t, 1.75, rep.KFactor, 1e-9, "invites per inviter × qualification rate")

	_, err = r.svc.Report(r.ctx, tenant, "nope")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	empty, err := r.svc.Leaderboard(r.ctx, "t9", "p1", 0)
	require.NoError(t, err)
	assert.Empty(t, empty)
	_, err = r.svc.Stats(r.ctx, tenant, "", "A")
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}
