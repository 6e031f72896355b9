package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// tenant is the one shop this service runs. A multi-tenant host would take
// it from the caller's credentials.
const tenant scrm.TenantID = "demo-tea"

// shop is the services the checkout embeds, on the in-memory stores.
type shop struct {
	tenant  scrm.TenantID
	clock   scrm.Clock
	loc     *time.Location
	coupons *coupon.Service
	members *member.Service
	// Customers are the seeded customers, with the coupons each claimed.
	Customers []seeded
}

// seeded is a customer the shop starts with.
type seeded struct {
	ID      scrm.CustomerID
	Points  int64
	Coupons []string
}

// newShop builds the services and seeds them: three coupon templates, a
// loyalty program and two customers with points and coupons. The coupon
// store is the in-memory one; members is the member store, nil for the
// in-memory one (a host plugs its own database in here). IDs are
// sequential (CP0001, H0001) so that runs read the same.
func newShop(ctx context.Context, clock scrm.Clock, members member.Store) (*shop, error) {
	if members == nil {
		members = member.NewMemoryStore()
	}
	loc := scrm.DefaultLocation()
	profiles := scrm.NewMemoryProfileStore()
	var couponIDs, holdIDs atomic.Int64 // NewID is called concurrently
	kernel := scrm.Options{Clock: clock, Location: loc}
	copts, mopts := kernel, kernel
	copts.NewID = func() string { return fmt.Sprintf("CP%04d", couponIDs.Add(1)) }
	mopts.NewID = func() string { return fmt.Sprintf("H%04d", holdIDs.Add(1)) }
	s := &shop{
		tenant:  tenant,
		clock:   clock,
		loc:     loc,
		coupons: coupon.New(coupon.NewMemoryStore(), profiles, &coupon.Options{Options: copts}),
		members: member.New(members, profiles, &member.Options{Options: mopts}),
	}
	for _, t := range []coupon.Template{
		{ID: "new-10", Name: "新客立减 10 元", Kind: coupon.KindCash, Amount: scrm.Yuan("10.00")},
		{ID: "200-30", Name: "满 200 减 30", Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("200.00"), Amount: scrm.Yuan("30.00")},
		{ID: "tea-88", Name: "茶叶 88 折", Kind: coupon.KindPercent, Rate: scrm.Yuan("0.88"), Cap: scrm.Yuan("50.00"),
			Scope: coupon.Scope{Categories: []string{"tea"}}},
	} {
		t.Tenant, t.Validity, t.PerCustomer = tenant, coupon.Validity{Days: 30}, 1
		if _, err := s.coupons.PutTemplate(ctx, t); err != nil {
			return nil, err
		}
	}
	if _, err := s.members.PutProgram(ctx, member.Program{
		Tenant: tenant,
		Tiers: []member.Tier{
			{ID: "normal", Name: "普卡"},
			{ID: "silver", Name: "银卡", Threshold: 1000, PointsMultiplier: scrm.Yuan("1.2")},
		},
		Growth: member.GrowthRule{PerYuan: scrm.Yuan("1")},
		Earn:   member.EarnRule{PointsPerYuan: scrm.Yuan("1")},
		// 100 points pay ¥1, in steps of 100, for at most half an order.
		Redeem: member.RedeemRule{PointsPerYuan: 100, MinPoints: 100, Step: 100, MaxShare: scrm.Yuan("0.5")},
	}); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		id        scrm.CustomerID
		points    int64
		templates []string
	}{
		{"alice", 5000, []string{"new-10", "200-30", "tea-88"}},
		{"bob", 800, []string{"new-10"}},
	} {
		sd := seeded{ID: c.id, Points: c.points}
		if _, err := s.members.Import(ctx, member.ImportRequest{Tenant: tenant, Customer: c.id,
			IdempotencyKey: "import:" + string(c.id), Lots: []member.ImportLot{{Points: c.points}}, Note: "migrated from the old POS"}); err != nil {
			return nil, err
		}
		for _, t := range c.templates {
			cp, err := s.coupons.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: c.id, Template: t,
				IdempotencyKey: "claim:" + string(c.id) + ":" + t})
			if err != nil {
				return nil, err
			}
			sd.Coupons = append(sd.Coupons, cp.ID)
		}
		s.Customers = append(s.Customers, sd)
	}
	return s, nil
}
