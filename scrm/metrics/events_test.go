package metrics_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
	"github.com/scrmkit/scrmkit/sop"
)

// metrics repeats the domain packages' event names because the kernel tree
// does not import them; this test keeps the copies honest.
func TestEventNamesMatchTheDomainPackages(t *testing.T) {
	assert.Equal(t, coupon.EventIssued, metrics.EventCouponIssued)
	assert.Equal(t, coupon.EventRedeemed, metrics.EventCouponRedeemed)
	assert.Equal(t, coupon.EventRestored, metrics.EventCouponRestored)
	assert.Equal(t, coupon.EventExpired, metrics.EventCouponExpired)
	assert.Equal(t, referral.EventBound, metrics.EventReferralBound)
	assert.Equal(t, referral.EventReviewed, metrics.EventReferralReviewed)
	assert.Equal(t, referral.EventQualified, metrics.EventReferralQualified)
	assert.Equal(t, referral.EventReversed, metrics.EventReferralReversed)
	assert.Equal(t, string(referral.StatusActive), "active")
	assert.Equal(t, string(referral.StatusReview), "review")
	assert.Equal(t, string(referral.StatusRejected), "rejected")

	d := metrics.EventNames{}.WithDefaults()
	assert.Equal(t, metrics.EventNames{
		CustomerAdded: scrm.EventCustomerAdded, OrderPaid: scrm.EventOrderPaid, OrderRefunded: scrm.EventOrderRefunded,
		GroupJoined: scrm.EventGroupJoined, MessageReplied: scrm.EventMessageReplied,
		CouponIssued: coupon.EventIssued, CouponRedeemed: coupon.EventRedeemed,
		CouponRestored: coupon.EventRestored, CouponExpired: coupon.EventExpired,
		ReferralBound: referral.EventBound, ReferralReviewed: referral.EventReviewed,
		ReferralQualified: referral.EventQualified, ReferralReversed: referral.EventReversed,
	}, d)
}

// The host's copy from sop.Stats, as TouchStats documents it.
func TestTouchStatsFromSOP(t *testing.T) {
	st := sop.Stats{Tenant: "t1", Playbook: "welcome", Steps: []sop.StepStats{
		{Step: "day0", Sent: 10, Replied: 4, Converted: 1},
		{Step: "day3", Variant: "B", Sent: 5, Replied: 1, Converted: 1},
	}}
	var in []metrics.TouchStats
	for _, s := range st.Steps {
		in = append(in, metrics.TouchStats{Playbook: st.Playbook, Step: s.Step,
			Variant: s.Variant, Sent: s.Sent, Replied: s.Replied, Converted: s.Converted})
	}
	r, err := metrics.Touches(in)
	require.NoError(t, err)
	assert.Equal(t, 0.4, r.Rows[0].ReplyRate)
	assert.Equal(t, 5.0/15, r.Total.ReplyRate)
	assert.Equal(t, 2.0/15, r.Total.ConversionRate)
}
