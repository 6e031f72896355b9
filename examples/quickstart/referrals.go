package main

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// routeRewards routes every reward the domain packages grant to the service
// that holds that kind of value: points, growth and stored value (储值) to
// member, coupons to coupon.
func (a *app) routeRewards(r *scrm.RewardRouter) {
	r.Route(scrm.RewardPoints, a.members)
	r.Route(scrm.RewardGrowth, a.members)
	r.Route(scrm.RewardStoredValue, a.members)
	r.Route(scrm.RewardCoupon, a.coupons)
}

// defineReferrals sets up 老带新 (old brings new): the invitee gets a ¥10
// coupon on binding and 200 points on a first order of at least ¥50 within
// 30 days; the inviter gets a beans coupon and 10% commission, payable
// after the 7-day return window.
func (a *app) defineReferrals() error {
	return a.referrals.SaveProgram(a.ctx, referral.Program{
		Tenant: tenant, ID: "friends", Name: "老带新 (bring a friend)",
		Qualify:          referral.Qualify{MinAmount: scrm.Yuan("50"), Within: 30 * day, FirstOnly: true},
		InviteeOnBind:    []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "new-10"}},
		InviteeOnQualify: []scrm.Reward{{Kind: scrm.RewardPoints, Points: 200, Note: "新客首单礼"}},
		InviterRewards:   []scrm.Reward{{Kind: scrm.RewardCoupon, Template: "beans-88"}},
		Commission:       []decimal.Decimal{scrm.Yuan("0.10")},
		SettleAfter:      7 * day,
	})
}

// showReferrals is part 7: 王芳 invites a friend, who binds, buys, and both
// are rewarded exactly once; the commission is paid after the return window.
func (a *app) showReferrals() error {
	a.printf("\n== 7. referral (老带新)\n")
	a.clock.Set(time.Date(2028, 1, 10, 12, 0, 0, 0, a.loc))
	const inviter scrm.CustomerID = "C004"
	code, err := a.referrals.Code(a.ctx, tenant, inviter)
	if err != nil {
		return err
	}
	friend, err := a.resolve(scrm.Identity{Kind: scrm.IdentityPhone, Value: "139 1234 5678"})
	if err != nil {
		return err
	}
	a.printf("%s shares her invite code (%d characters); her friend registers as %s and binds\n", inviter, len(code), friend)
	b, err := a.referrals.Bind(a.ctx, referral.BindRequest{Tenant: tenant, Program: "friends", Invitee: friend, Code: code})
	if err != nil {
		return err
	}
	a.printf("  binding: inviter %s, %s\n", b.Inviter, b.Status)
	if _, err := a.referrals.Bind(a.ctx, referral.BindRequest{Tenant: tenant, Program: "friends", Invitee: inviter, Code: code}); err != nil {
		a.printf("  %s binding her own code: %s\n", inviter, referral.ReasonOf(err))
	}

	a.clock.Advance(2 * day)
	// The friend's first order arrives twice (a retried webhook): rewards
	// are granted once.
	for i := 0; i < 2; i++ {
		e := scrm.Event{ID: "pay-A3001", Tenant: tenant, Customer: friend, Type: scrm.EventOrderPaid,
			Time: a.clock.Now(), Amount: scrm.Yuan("88.00"), Props: map[string]any{"order_id": "A3001"}}
		if err := a.bus.Publish(a.ctx, e); err != nil {
			return err
		}
	}
	wallet := func(c scrm.CustomerID) (names []string, err error) {
		cs, err := a.coupons.Wallet(a.ctx, tenant, c)
		for _, x := range cs {
			if x.State == coupon.StateAvailable {
				names = append(names, x.Template)
			}
		}
		return names, err
	}
	fw, err := wallet(friend)
	if err != nil {
		return err
	}
	facc, err := a.members.Account(a.ctx, tenant, friend)
	if err != nil {
		return err
	}
	a.printf("  %s after a ¥88 first order (delivered twice): coupons %v, points %d (88 earned + 200 first-order gift)\n", friend, fw, facc.Points)
	iw, err := wallet(inviter)
	if err != nil {
		return err
	}
	st, err := a.referrals.Stats(a.ctx, tenant, "friends", inviter)
	if err != nil {
		return err
	}
	a.printf("  %s: coupons %v; invited %d, qualified %d, commission pending ¥%s\n", inviter, iw, st.Bound, st.Qualified, st.Pending.StringFixed(2))

	a.clock.Advance(8 * day)
	res, err := a.referrals.Settle(a.ctx, tenant)
	if err != nil {
		return err
	}
	bal, err := a.members.Balance(a.ctx, tenant, inviter)
	if err != nil {
		return err
	}
	a.printf("  after the return window: settled %d commission, ¥%s, paid into %s's stored value (bonus ¥%s)\n",
		res.Settled, res.Amount.StringFixed(2), inviter, bal.Bonus.StringFixed(2))
	return nil
}
