package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// The Collector reads the events coupon.Service really publishes, and its
// redemption numbers agree with the service's own Stats.
func TestCouponServiceEvents(t *testing.T) {
	ctx := context.Background()
	col := metrics.NewCollector("shop", nil)
	clock := scrmtest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, scrm.DefaultLocation()))
	n := 0
	svc := coupon.New(coupon.NewMemoryStore(), scrm.NewMemoryProfileStore(), &coupon.Options{
		Options: scrm.Options{Clock: clock, Publisher: scrm.NewDispatcher(col),
			NewID: func() string { n++; return fmt.Sprintf("cp%d", n) }},
	})
	_, err := svc.PutTemplate(ctx, coupon.Template{Tenant: "shop", ID: "new-10", Name: "新客立减 10 元",
		Kind: coupon.KindCash, Amount: scrm.Yuan("10.00"), Validity: coupon.Validity{Days: 7}})
	require.NoError(t, err)
	var ids []string
	for _, cust := range []scrm.CustomerID{"alice", "bob", "carol"} {
		c, err := svc.Claim(ctx, coupon.ClaimRequest{Tenant: "shop", Customer: cust, Template: "new-10", IdempotencyKey: "claim-" + string(cust)})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	for i, cust := range []scrm.CustomerID{"alice", "bob"} {
		cart := coupon.Cart{Tenant: "shop", Customer: cust, OrderID: fmt.Sprintf("o%d", i),
			Items: []coupon.Item{{SKU: "bread", Category: "bakery", Price: scrm.Yuan("25.00"), Quantity: 1}}}
		o, err := svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{ids[i]}, IdempotencyKey: "pay-" + cart.OrderID})
		require.NoError(t, err)
		_, err = svc.Confirm(ctx, "shop", o.ID)
		require.NoError(t, err)
	}
	// bob's order is refunded in full: his coupon comes back.
	_, err = svc.Refund(ctx, coupon.RefundRequest{Tenant: "shop", OrderID: "o1", IdempotencyKey: "rf-1",
		Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}})
	require.NoError(t, err)

	r, err := col.Coupons(metrics.CouponOptions{})
	require.NoError(t, err)
	require.Len(t, r.Rows, 1)
	assert.Equal(t, "new-10", r.Rows[0].Template)
	assert.Equal(t, 3, r.Rows[0].Issued)
	assert.Equal(t, 1, r.Rows[0].Redeemed, "alice's; bob's was restored by the refund")
	assertMoney(t, "10.00", r.Rows[0].DiscountCost)
	st, err := svc.Stats(ctx, "shop", "new-10")
	require.NoError(t, err)
	assert.True(t, st.Discount.Equal(r.Rows[0].DiscountCost), "service stats say %s", st.Discount)
}

// The Collector reads the events referral.Service really publishes, and
// its K-factor and conversion agree with the service's own Report.
func TestReferralServiceEvents(t *testing.T) {
	ctx := context.Background()
	col := metrics.NewCollector("shop", nil)
	clock := scrmtest.NewClock(time.Date(2026, 6, 1, 10, 0, 0, 0, scrm.DefaultLocation()))
	profiles := scrm.NewMemoryProfileStore()
	var bus *scrm.Dispatcher
	svc := referral.New(referral.NewMemoryStore(), profiles, &referral.Options{
		Options: scrm.Options{Clock: clock, Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
			return bus.Publish(ctx, e)
		})},
		Rewarder:   scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return nil }),
		CodeSecret: func(scrm.TenantID) []byte { return []byte("the tenant's 32-byte secret key.") },
	})
	bus = scrm.NewDispatcher(scrm.NewProfiles(profiles, nil), svc, col)
	require.NoError(t, svc.SaveProgram(ctx, referral.Program{Tenant: "shop", ID: "summer", Name: "老带新",
		Qualify: referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * 24 * time.Hour}}))
	code, err := svc.Code(ctx, "shop", "alice")
	require.NoError(t, err)
	for _, invitee := range []scrm.CustomerID{"bob", "carol", "dan"} {
		_, err := svc.Bind(ctx, referral.BindRequest{Tenant: "shop", Program: "summer", Invitee: invitee, Code: code})
		require.NoError(t, err)
	}
	clock.Advance(48 * time.Hour)
	for i, cust := range []scrm.CustomerID{"bob", "carol"} {
		require.NoError(t, bus.Publish(ctx, scrm.Event{ID: fmt.Sprintf("pay-%d", i), Tenant: "shop", Customer: cust,
			Type: scrm.EventOrderPaid, Time: clock.Now(), Amount: scrm.Yuan("128.00"),
			Props: map[string]any{"order_id": fmt.Sprintf("o-%d", i)}}))
	}
	rep, err := svc.Report(ctx, "shop", "summer")
	require.NoError(t, err)
	got, err := col.Referrals(metrics.ReferralOptions{Program: "summer"})
	require.NoError(t, err)
	require.Len(t, got.Rows, 1)
	r := got.Rows[0]
	assert.Equal(t, 1, r.Inviters)
	assert.Equal(t, 3, r.Bound)
	assert.Equal(t, 2, r.Qualified)
	assertMoney(t, "256.00", r.QualifiedAmount)
	assert.Equal(t, 2.0, r.KFactor)
	assert.Equal(t, []int{rep.Inviters, rep.Bound, rep.Qualified, rep.StaffBound}, []int{r.Inviters, r.Bound, r.Qualified, r.StaffBound})
	assert.InDelta(t, rep.KFactor, r.KFactor, 1e-12)
	assert.InDelta(t, rep.QualificationRate, r.QualificationRate, 1e-12)
	assert.InDelta(t, rep.InvitesPerInviter, r.InvitesPerInviter, 1e-12)
	assert.True(t, rep.QualifiedAmount.Equal(r.QualifiedAmount))
}
