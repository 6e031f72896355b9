package referral_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// A program ID that keys must escape still gives the grants the plain
// "referral:<program>" source, and the keys and entry IDs key makes.
func TestKeysOfEscapedProgramID(t *testing.T) {
	r := newRig(t)
	const id = "p:1%x"
	r.save(referral.Program{ID: id, InviteeOnBind: []scrm.Reward{coupon("new")}, InviteeOnQualify: []scrm.Reward{points(5)},
		InviterRewards: []scrm.Reward{coupon("inv")}, Percent: scrm.Yuan("0.05"), Commission: rates("0.1"), SettleAfter: 7 * 24 * time.Hour})
	_, err := r.svc.Bind(r.ctx, referral.BindRequest{Tenant: tenant, Program: id, Invitee: "B1", Code: r.code("A1")})
	require.NoError(t, err)
	r.clock.Advance(time.Hour)
	r.event("B1", scrm.EventOrderPaid, "100.00", "o1")
	calls := r.rewards.Calls()
	require.Len(t, calls, 3)
	for _, g := range calls {
		assert.Equal(t, "referral:"+id, g.Source)
		assert.True(t, strings.HasPrefix(g.IdempotencyKey, "referral:p%3A1%25x:"), g.IdempotencyKey)
	}
	page, err := r.store.ListEntries(r.ctx, referral.ListEntriesParams{Tenant: tenant, Status: referral.EntryPending})
	require.NoError(t, err)
	require.Len(t, page.Entries, 2)
	assert.Equal(t, "p:1%x:commission1:B1", page.Entries[0].ID)
	assert.Equal(t, "p:1%x:percent:B1", page.Entries[1].ID)
	assert.True(t, page.Entries[1].Amount.Equal(scrm.Yuan("5")))
}
