package bakery

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// Story is one customer's journey through the 90 days, told from the
// event log, the messages sent and the points journal.
type Story struct {
	Customer scrm.CustomerID
	// Intro says who they are, Outro where they stand at the end.
	Intro, Outro string
	Lines        []StoryLine
}

// StoryLine is one moment of a Story.
type StoryLine struct {
	At time.Time // in the tenant's zone
	// Kind is what happened: "arrival", "merge", "message", "reply",
	// "coupon", "tag", "group", "order", "points", "tier", "segment",
	// "referral".
	Kind string
	Text string
}

// Has reports whether the story has a line of the kind.
func (s Story) Has(kind string) bool {
	return slices.ContainsFunc(s.Lines, func(l StoryLine) bool { return l.Kind == kind })
}

// pickHero chooses the customer whose story shows the most of the demo:
// a tier upgrade, a friend they brought who qualified, a merged second
// identity, the group, coupons used, a wake-up; among equals, one with a
// story short enough to read (4 to 14 orders), then the earliest arrival.
func (s *sim) pickHero() *person {
	qualifiedFriend := map[int]bool{}
	upgraded := map[scrm.CustomerID]bool{}
	redeemed := map[scrm.CustomerID]bool{}
	dormant := map[scrm.CustomerID]bool{}
	for _, e := range s.events {
		switch e.Type {
		case referral.EventQualified:
			if p := s.byID[e.Customer]; p != nil && p.inviter >= 0 {
				qualifiedFriend[p.inviter] = true
			}
		case scrm.EventTierChanged:
			if to := e.Prop("to"); to != tierNormal && to != "" {
				upgraded[e.Customer] = true
			}
		case coupon.EventRedeemed:
			redeemed[e.Customer] = true
		case scrm.EventSegmentEntered:
			dormant[e.Customer] = true
		}
	}
	var best *person
	bestScore := -1
	for _, p := range s.people {
		if !p.arrived {
			continue
		}
		score := 0
		if upgraded[p.id] {
			score += 4
		}
		if qualifiedFriend[p.idx] {
			score += 4
		}
		if p.dup != "" {
			score += 2
		}
		if p.inGroup {
			score++
		}
		if redeemed[p.id] {
			score++
		}
		if dormant[p.id] {
			score++
		}
		if p.orders >= 4 && p.orders <= 14 {
			score += 2
		}
		if score > bestScore || (score == bestScore && p.arrival.Before(best.arrival)) {
			best, bestScore = p, score
		}
	}
	return best
}

// story tells p's journey.
func (s *sim) story(p *person) (Story, error) {
	w := s.w
	if p == nil {
		return Story{}, nil
	}
	st := Story{Customer: p.id}
	loc := w.loc
	shop := s.shops[p.shop]
	clerk := shop.Staff[p.staff]
	names := s.templateNames()

	// Points per order and granted points, from the member journal.
	type earned struct{ points, growth int64 }
	byOrder := map[string]earned{}
	var grants []member.Entry
	for after := int64(0); ; {
		page, err := w.members.Entries(w.ctx, member.ListEntriesParams{Tenant: Tenant, Customer: p.id, After: after, Limit: 1000})
		if err != nil {
			return st, err
		}
		for _, e := range page.Entries {
			switch {
			case e.Kind == member.EntryEarn && e.OrderID != "":
				byOrder[e.OrderID] = earned{e.Points, e.Growth}
			case e.Kind == member.EntryGrant:
				grants = append(grants, e)
			}
		}
		if page.Next == 0 {
			break
		}
		after = page.Next
	}

	type line struct {
		StoryLine
		seq int
	}
	var lines []line
	seq := 0 // the global order of the event or send being told
	add := func(at time.Time, kind, format string, args ...any) {
		lines = append(lines, line{StoryLine{At: at.In(loc), Kind: kind, Text: fmt.Sprintf(format, args...)}, seq})
	}
	mine := func(c scrm.CustomerID) bool { return c == p.id || (p.dup != "" && c == p.dup) }
	friends := map[scrm.CustomerID]bool{}
	for _, e := range s.events {
		if e.Type == referral.EventBound && e.Prop("inviter") == string(p.id) {
			friends[e.Customer] = true
		}
	}
	for i, e := range s.events {
		seq = s.eventSeq[i]
		if friends[e.Customer] {
			switch e.Type {
			case referral.EventBound:
				add(e.Time, "referral", "friend %s scans %s's invite code and binds (老带新): the friend gets a %s", e.Customer, p.id, names[cpFriend])
			case referral.EventQualified:
				add(e.Time, "referral", "friend %s's first order (¥%s) qualifies: %s earns a %s and 100 points", e.Customer, e.Amount.StringFixed(2), p.id, names[cpThanks])
			}
			continue
		}
		if !mine(e.Customer) {
			continue
		}
		switch e.Type {
		case scrm.EventCustomerAdded:
			if e.Customer == p.dup {
				add(e.Time, "arrival", "follows the official account at %s's QR code under a new OpenID: the Directory does not know it and creates customer %s", s.shopName(e.Prop("store")), p.dup)
				continue
			}
			switch p.via {
			case viaStoreQR:
				add(e.Time, "arrival", "scans %s's QR code at the till and adds the store on WeCom (staff %s, campaign %s): customer %s", shop.Name, clerk.Name, e.Prop("campaign"), p.id)
			case viaStaff:
				add(e.Time, "arrival", "scans the channel code of %s (%s) and adds %s on WeCom (campaign %s): customer %s", clerk.Name, shop.Name, clerk.Name, e.Prop("campaign"), p.id)
			case viaFriend:
				add(e.Time, "arrival", "scans the invite code of friend %s and adds %s on WeCom: customer %s", e.Prop("inviter"), shop.Name, p.id)
			}
		case scrm.EventCustomerMerged:
			add(e.Time, "merge", "logs in to the mini-program: its UnionID links the new OpenID to %s, so the Directory merges %s into %s (the older survives) and %s's welcome is cancelled", p.id, e.Prop("from"), e.Prop("into"), e.Prop("from"))
		case referral.EventBound:
			add(e.Time, "referral", "binds to %s's invite code and receives a %s", e.Prop("inviter"), names[cpFriend])
		case referral.EventQualified:
			add(e.Time, "referral", "the first order qualifies the friend referral: +50 points, and %s is rewarded", e.Prop("inviter"))
		case scrm.EventTagApplied:
			if refreshed, _ := e.Props["refreshed"].(bool); refreshed {
				continue
			}
			add(e.Time, "tag", "tagged %s (%s)", e.Prop("tag"), e.Prop("source"))
		case scrm.EventTagRemoved:
			add(e.Time, "tag", "tag %s removed (%s)", e.Prop("tag"), e.Prop("source"))
		case scrm.EventGroupJoined:
			add(e.Time, "group", "joins %s", e.Prop("group"))
		case scrm.EventGroupLeft:
			add(e.Time, "group", "leaves %s", e.Prop("group"))
		case scrm.EventMessageReplied:
			add(e.Time, "reply", "replies %q", e.Prop("text"))
		case coupon.EventIssued:
			add(e.Time, "coupon", "receives a %s (%s)", names[e.Prop("template")], e.Prop("source"))
		case coupon.EventExpired:
			add(e.Time, "coupon", "the %s expires unused", names[e.Prop("template")])
		case scrm.EventOrderPaid:
			text := fmt.Sprintf("pays ¥%s at %s for %s", e.Amount.StringFixed(2), s.shopName(e.Prop("store")), itemsText(e.Items(), s.menu))
			if d := e.Prop("discount"); d != "" {
				text += fmt.Sprintf(" (coupons −¥%s)", d)
			}
			if e.Prop("kind") == buyClearance.String() {
				text += ", after the 21:30 晚间清货 post"
			}
			if pts, ok := byOrder[e.Prop("order_id")]; ok {
				text += fmt.Sprintf(": +%d points, +%d growth", pts.points, pts.growth)
				if e.Time.In(loc).Weekday() == time.Wednesday {
					text += " (周三会员日 ×2)"
				}
			}
			add(e.Time, "order", "%s", text)
		case scrm.EventTierChanged:
			if e.Prop("from") == "" {
				add(e.Time, "tier", "becomes a member: %s", tierName(e.Prop("to")))
			} else {
				add(e.Time, "tier", "tier %s → %s", tierName(e.Prop("from")), tierName(e.Prop("to")))
			}
		case scrm.EventSegmentEntered:
			if e.Prop("segment") == segDormant {
				add(e.Time, "segment", "no order for 21 days: enters segment %s (沉睡), which enrolls the weekend wake-up", segDormant)
			}
		case scrm.EventSegmentExited:
			if e.Prop("segment") == segDormant {
				add(e.Time, "segment", "leaves segment %s", segDormant)
			}
		}
	}
	// A grant is told right after the last event at or before its time
	// (the event that caused it).
	for _, g := range grants {
		seq = 0
		for i := len(s.events) - 1; i >= 0; i-- {
			if !s.events[i].Time.After(g.At) {
				seq = s.eventSeq[i]
				break
			}
		}
		add(g.At, "points", "+%d points granted (%s)", g.Points, g.Note)
	}
	for i, m := range s.sends {
		seq = s.sendSeq[i]
		if m.Customer != "" && mine(m.Customer) {
			add(m.At, "message", "← %s message %q", m.Channel, m.Template)
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for _, l := range lines {
		st.Lines = append(st.Lines, l.StoryLine)
	}

	st.Intro = fmt.Sprintf("%s is %s near %s (favourite: %s).", p.id, p.kind, shop.Name, p.fav)
	acc, err := w.members.Account(w.ctx, Tenant, p.id)
	if err != nil && p.orders > 0 {
		return st, err
	}
	var spent decimal.Decimal
	orders := 0
	for _, e := range s.events {
		if e.Type == scrm.EventOrderPaid && e.Customer == p.id {
			orders++
			spent = spent.Add(e.Amount)
		}
	}
	st.Outro = fmt.Sprintf("After %d days: %d orders, ¥%s spent, %s with %d points and %d growth; invited %d %s.",
		s.cfg.Days, orders, spent.StringFixed(2), tierName(acc.Tier), acc.Points, acc.Growth, len(friends), plural(len(friends), "friend", "friends"))
	return st, nil
}

// templateNames maps coupon template IDs to their names.
func (s *sim) templateNames() map[string]string {
	names := map[string]string{}
	for _, id := range []string{cpNew, cpFriend, cpThanks, cpWakeUp, cpGold} {
		if t, err := s.w.coupons.Template(s.w.ctx, Tenant, id); err == nil {
			names[id] = t.Name
		} else {
			names[id] = id
		}
	}
	return names
}

// shopName returns a store's name from its ID.
func (s *sim) shopName(id string) string {
	for _, sh := range s.shops {
		if sh.ID == id {
			return sh.Name
		}
	}
	return id
}

// itemsText lists an order's items by name: "法棍, 蛋挞 ×4".
func itemsText(items []scrm.OrderItem, menu []product) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		name := it.SKU
		for _, pr := range menu {
			if pr.SKU == it.SKU {
				name = pr.Name
			}
		}
		if it.Quantity > 1 {
			name += fmt.Sprintf(" ×%d", it.Quantity)
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, ", ")
}

// plural picks the singular or plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
