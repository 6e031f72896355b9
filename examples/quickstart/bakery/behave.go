package bakery

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// The behaviour model. Each person buys on a given day with probability
//
//	base × interest × weekend 1.25 × member day 1.5 (Wednesday, once a
//	member) × (1 + lift) while holding a coupon × 1.2 within 48 hours of a
//	one-to-one touch
//
// capped at 0.9. Interest decays every day at the persona's rate and
// recovers a little with every order; a wake-up coupon that brings a person
// back restores it. On top of that, people react to what they receive:
// the group invitation (join), the first-order reminder and the wake-up
// coupon (buy), the 21:30 clearance post in their group (buy bread at 8折),
// and now and then a reply, rarely a refusal. After an order, a repeat
// buyer invites a friend with the persona's probability.
const (
	weekendFactor   = 1.25
	memberDayFactor = 1.5
	touchFactor     = 1.2
	maxDaily        = 0.9
	buyAtArrival    = 0.30 // in the store when they scan: many buy right away
	joinOnInvite    = 0.55 // × interest
	clearanceRate   = 0.02
	replyRate       = 0.08
	refuseRate      = 0.006
	leaveRate       = 0.002
)

// plan is each arrived person's decision, at the start of the day, whether
// to buy today, and when.
func (s *sim) plan(at time.Time) {
	now := at
	wd := at.Weekday()
	for _, p := range s.people {
		if !p.arrived {
			continue
		}
		p.interest *= 1 - p.decay
		r := p.base * p.interest
		if wd == time.Saturday || wd == time.Sunday {
			r *= weekendFactor
		}
		if wd == time.Wednesday && p.orders > 0 {
			r *= memberDayFactor
		}
		if p.coupons > 0 {
			r *= 1 + p.lift
		}
		if !p.lastTouch.IsZero() && now.Sub(p.lastTouch) < 48*time.Hour {
			r *= touchFactor
		}
		r = math.Min(r, maxDaily)
		if s.rng.Float64() < r {
			s.push(daypart(s.rng, at), actBuy, p.idx, int(buyRoutine))
		}
		if p.inGroup && s.rng.Float64() < leaveRate {
			s.push(daypart(s.rng, at), actLeave, p.idx, 0)
		}
	}
}

// arrive is a person's first contact: they add the store on WeCom (by the
// store's QR code, a staff member's channel code, or a friend's invite), the
// Directory resolves them to a customer, and customer.added starts the
// welcome. A friend binds to the inviter's code (老带新).
func (s *sim) arrive(p *person, at time.Time) error {
	if p.arrived {
		return nil // invited by a friend earlier
	}
	p.arrived = true
	w := s.w
	res, err := w.resolve(scrm.Identity{Kind: scrm.IdentityWeComExternal, Value: p.external},
		scrm.Identity{Kind: scrm.IdentityUnionID, Value: p.union})
	if err != nil {
		return err
	}
	id := res.Customer
	p.id = id
	s.byID[id] = p
	shop, clerk := s.shops[p.shop], s.shops[p.shop].Staff[p.staff]
	props := map[string]any{"store": shop.ID, "staff": clerk.ID, "campaign": campaignOn(at)}
	var code string
	switch p.via {
	case viaStoreQR:
		props["channel_code"] = "qr-" + shop.ID
	case viaStaff:
		props["channel_code"] = clerk.Code
	case viaFriend:
		inviter := s.people[p.inviter]
		if code, err = w.referrals.Code(w.ctx, Tenant, inviter.id); err != nil {
			return err
		}
		props["channel_code"] = "invite-" + code
		props["campaign"] = "老带新"
		props["inviter"] = string(inviter.id)
	}
	if err := w.publish(id, scrm.EventCustomerAdded, at, props); err != nil {
		return err
	}
	if p.via == viaFriend {
		_, err := w.referrals.Bind(w.ctx, referral.BindRequest{Tenant: Tenant, Program: program, Invitee: id, Code: code,
			At: at, IdempotencyKey: "bind-" + string(id)})
		if reason := referral.ReasonOf(err); reason != "" {
			s.bindErrors[string(reason)]++
		} else if err != nil {
			return err
		}
	}
	if p.via != viaFriend && s.rng.Float64() < buyAtArrival {
		// Buys at the till, with the new-customer coupon that arrives in
		// five minutes.
		s.push(at.Add(time.Duration(6+s.rng.IntN(12))*time.Minute), actBuy, p.idx, int(buyFirst))
	}
	if p.twice {
		d := at.AddDate(0, 0, 3+s.rng.IntN(18))
		s.push(daypart(s.rng, d), actSecond, p.idx, 0)
	}
	return nil
}

// arriveAgain: the person follows the official account at another store;
// the Directory knows only the new OpenID, so it creates a second customer.
func (s *sim) arriveAgain(p *person, at time.Time) error {
	w := s.w
	res, err := w.resolve(scrm.Identity{Kind: scrm.IdentityOpenID, Value: p.openid})
	if err != nil {
		return err
	}
	dup := res.Customer
	p.dup = dup
	s.byID[dup] = p
	other := s.shops[(p.shop+1)%len(s.shops)]
	if err := w.publish(dup, scrm.EventCustomerAdded, at, map[string]any{"store": other.ID,
		"channel_code": "qr-" + other.ID, "campaign": campaignOn(at)}); err != nil {
		return err
	}
	s.push(at.Add(time.Duration(1+s.rng.IntN(3))*time.Minute), actLink, p.idx, 0)
	return nil
}

// link: the person opens the mini-program, whose login returns the UnionID
// next to the official account's OpenID. The UnionID belongs to the first
// customer, so the Directory merges the second into it (the older
// survives) and publishes customer.merged.
func (s *sim) link(p *person) error {
	w := s.w
	res, err := w.resolve(scrm.Identity{Kind: scrm.IdentityOpenID, Value: p.openid},
		scrm.Identity{Kind: scrm.IdentityUnionID, Value: p.union})
	if err != nil {
		return err
	}
	if res.Customer != p.id || !slices.Equal(res.Merged, []scrm.CustomerID{p.dup}) {
		return fmt.Errorf("link resolved to %s merging %v, want %s merging %s", res.Customer, res.Merged, p.id, p.dup)
	}
	return nil
}

// buy is one order: the person fills a basket, the checkout picks the best
// coupons from the wallet and locks and confirms them (try / confirm),
// and the paid order is published with its items.
func (s *sim) buy(p *person, kind buyKind, at time.Time) error {
	w := s.w
	s.orders++
	orderID := fmt.Sprintf("O%07d", s.orders)
	shop := s.shops[p.shop]
	cart := coupon.Cart{Tenant: Tenant, Customer: p.id, OrderID: orderID, Store: shop.ID, Items: s.basket(p, kind)}
	payable, discount := subtotal(cart.Items), decimal.Decimal{}
	if p.coupons > 0 {
		q, err := w.coupons.Best(w.ctx, cart)
		if err != nil {
			return err
		}
		if len(q.Applied) > 0 {
			if _, err := w.coupons.Lock(w.ctx, coupon.LockRequest{Cart: cart, Coupons: q.Coupons(), IdempotencyKey: "lock-" + orderID}); err != nil {
				return err
			}
			o, err := w.coupons.Confirm(w.ctx, Tenant, orderID)
			if err != nil {
				return err
			}
			payable, discount = o.Quote.Payable, o.Quote.Discount
		}
	}
	if !p.phoneBound {
		// The first order registers the member with a phone number.
		if _, err := w.resolve(scrm.Identity{Kind: scrm.IdentityUnionID, Value: p.union},
			scrm.Identity{Kind: scrm.IdentityPhone, Value: p.phone}); err != nil {
			return err
		}
		p.phoneBound = true
	}
	props := map[string]any{"order_id": orderID, "items": cart.Items, "store": shop.ID, "kind": kind.String()}
	if !discount.IsZero() {
		props["discount"] = discount.StringFixed(2)
	}
	if err := w.publishAmount(p.id, scrm.EventOrderPaid, at, payable, props); err != nil {
		return err
	}
	p.orders++
	p.interest = math.Min(1, p.interest+0.04)
	if kind == buyNudged {
		p.interest = math.Max(p.interest, 0.6)
	}
	if p.orders >= 2 && s.rng.Float64() < p.invite {
		s.inviteFriend(p, at)
	}
	return nil
}

// inviteFriend brings in the person due to arrive last, early, as p's
// friend: they scan p's invite code within three days.
func (s *sim) inviteFriend(p *person, at time.Time) {
	for len(s.pending) > 0 && s.people[s.pending[len(s.pending)-1]].arrived {
		s.pending = s.pending[:len(s.pending)-1]
	}
	if len(s.pending) == 0 {
		return
	}
	f := s.people[s.pending[len(s.pending)-1]]
	if !f.arrival.After(at.Add(72 * time.Hour)) {
		return // nobody left who would not have come anyway
	}
	s.pending = s.pending[:len(s.pending)-1]
	f.via, f.inviter, f.shop, f.staff = viaFriend, p.idx, p.shop, p.staff
	when := at.Add(time.Duration(2*60+s.rng.IntN(70*60)) * time.Minute)
	if h := when.Hour(); h < 8 {
		when = when.Add(time.Duration(8-h) * time.Hour)
	}
	s.push(when, actArrive, f.idx, 0)
}

// basket fills a cart. Holding a coupon, people top the basket up to its
// threshold most of the time; at the clearance they buy bread at 8折.
func (s *sim) basket(p *person, kind buyKind) []scrm.OrderItem {
	menu := s.menu
	var items []scrm.OrderItem
	add := func(pr product, qty int, price decimal.Decimal) {
		for i := range items {
			if items[i].SKU == pr.SKU {
				items[i].Quantity += qty
				return
			}
		}
		items = append(items, scrm.OrderItem{SKU: pr.SKU, Category: pr.Category, Price: price, Quantity: qty})
	}
	pick := func() product {
		for {
			pr := menu[s.rng.IntN(len(menu))]
			if pr.SKU == "birthday-6" {
				continue
			}
			if pr.Category == p.fav || s.rng.Float64() < 0.35 {
				return pr
			}
		}
	}
	if kind == buyClearance {
		var bread []product
		for _, pr := range menu {
			if pr.Bread {
				bread = append(bread, pr)
			}
		}
		for range 2 + s.rng.IntN(3) {
			pr := bread[s.rng.IntN(len(bread))]
			add(pr, 1, scrm.RoundFen(pr.Price.Mul(scrm.Yuan("0.8"))))
		}
		return items
	}
	if s.rng.Float64() < 0.012 {
		for _, pr := range menu {
			if pr.SKU == "birthday-6" {
				add(pr, 1, pr.Price)
			}
		}
	}
	for range 1 + s.rng.IntN(3) {
		pr := pick()
		qty := 1
		if pr.SKU == "egg-tart" {
			qty = 2 + s.rng.IntN(5)
		}
		add(pr, qty, pr.Price)
	}
	target := scrm.Yuan("30")
	if p.coupons > 0 {
		target = scrm.Yuan("45")
	}
	if (p.coupons > 0 || kind == buyFirst) && s.rng.Float64() < 0.7 {
		for subtotal(items).LessThan(target) {
			pr := pick()
			add(pr, 1, pr.Price)
		}
	}
	return items
}

// subtotal is what the items cost before coupons.
func subtotal(items []scrm.OrderItem) decimal.Decimal {
	var t decimal.Decimal
	for _, it := range items {
		t = t.Add(it.Price.Mul(decimal.NewFromInt(int64(it.Quantity))))
	}
	return t
}

// sent is how people react to a message the channel delivered.
func (s *sim) sent(m scrm.Message, at time.Time) {
	s.sends = append(s.sends, SentMessage{At: at, Message: m})
	s.sendSeq = append(s.sendSeq, len(s.eventSeq)+len(s.sendSeq))
	if m.Group != "" {
		if m.Template == tplClear {
			s.clearance(m.Group, at)
		}
		return
	}
	p := s.byID[m.Customer]
	if p == nil || p.id != m.Customer {
		return
	}
	p.lastTouch = at
	r := s.rng.Float64()
	switch {
	case r < refuseRate:
		s.push(at.Add(time.Duration(1+s.rng.IntN(120))*time.Minute), actReply, p.idx, 1)
		return
	case r < refuseRate+replyRate:
		s.push(at.Add(time.Duration(1+s.rng.IntN(120))*time.Minute), actReply, p.idx, 0)
	}
	switch m.Template {
	case tplGroup:
		if !p.inGroup && s.rng.Float64() < joinOnInvite*p.interest {
			s.push(at.Add(time.Duration(5+s.rng.IntN(6*60))*time.Minute), actJoin, p.idx, 0)
		}
	case tplNudge:
		if s.rng.Float64() < 0.15*(1+p.lift) {
			s.push(daypart(s.rng, at.AddDate(0, 0, s.rng.IntN(2))), actBuy, p.idx, int(buyNudged))
		}
	case tplWakeUp:
		if s.rng.Float64() < 0.2*(1+p.lift) {
			s.push(at.Add(time.Duration(30+s.rng.IntN(30*60))*time.Minute), actBuy, p.idx, int(buyNudged))
		}
	}
}

// clearance: the 21:30 post in a store's group sends some members to the
// store for the evening's bread at 8折.
func (s *sim) clearance(group string, at time.Time) {
	for _, p := range s.people {
		if !p.inGroup || s.shops[p.shop].Group != group {
			continue
		}
		if s.rng.Float64() < clearanceRate*p.interest {
			s.push(at.Add(time.Duration(5+s.rng.IntN(24))*time.Minute), actBuy, p.idx, int(buyClearance))
		}
	}
}

// observed keeps the event log and what people know about their wallet.
func (s *sim) observed(e scrm.Event) {
	s.events = append(s.events, e)
	s.eventSeq = append(s.eventSeq, len(s.eventSeq)+len(s.sendSeq))
	p := s.byID[e.Customer]
	if p == nil {
		return
	}
	switch e.Type {
	case coupon.EventIssued, coupon.EventRestored:
		p.coupons++
	case coupon.EventRedeemed, coupon.EventExpired:
		p.coupons--
	}
}
