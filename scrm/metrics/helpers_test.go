package metrics_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// at is a time in Asia/Shanghai, the default tenant zone.
func at(month time.Month, day, hour int) time.Time {
	return time.Date(2024, month, day, hour, 0, 0, 0, scrm.DefaultLocation())
}

type stream struct {
	events []scrm.Event
	n      int
}

func (s *stream) add(cust, typ string, t time.Time, amount string, props map[string]any) {
	s.n++
	amt := decimal.Zero
	if amount != "" {
		amt = scrm.Yuan(amount)
	}
	s.events = append(s.events, scrm.Event{ID: fmt.Sprintf("e%03d", s.n), Tenant: "t1", Customer: scrm.CustomerID(cust),
		Type: typ, Time: t, Amount: amt, Props: props})
}

// bakery is a small hand-computed history of four customers of a bakery
// chain (every number the tests expect is worked out in comments there):
//
//	alice: added 01-03 at s1 by w1 via qr1 (campaign spring); group 01-05;
//	       orders 01-06 88.00 (coupon k1 −10.00), 02-10 50.00, 03-15 30.00;
//	       invites carol and dave to program p1
//	bob:   added 01-20 at s1 by w2 via qr1, bound by staff w1; no group;
//	       order 02-25 120.00 (36 days after being added); coupon k2 expired
//	carol: added 02-02 at s2 by w3 via qr2 (campaign spring); group 02-12
//	       (10 days later); orders 02-03 66.50, 02-04 20.00 (coupon k3 −5.00),
//	       the latter refunded 02-05 (k3 restored)
//	dave:  added 02-28 at s2 by w3 via qr2; group 02-29; no order; coupon
//	       k4 (vip20) unused; bound by alice, under review
func bakery() []scrm.Event {
	var s stream
	added := func(store, staff, code, campaign string) map[string]any {
		p := map[string]any{"store": store, "staff": staff, "channel_code": code}
		if campaign != "" {
			p["campaign"] = campaign
		}
		return p
	}
	paid := func(order, store string) map[string]any { return map[string]any{"order_id": order, "store": store} }
	coupon := func(id, tpl, order string) map[string]any {
		return map[string]any{"coupon": id, "template": tpl, "order_id": order}
	}
	s.add("alice", scrm.EventCustomerAdded, at(1, 3, 10), "", added("s1", "w1", "qr1", "spring"))
	s.add("alice", metrics.EventCouponIssued, at(1, 3, 10), "", coupon("k1", "new10", ""))
	s.add("alice", scrm.EventGroupJoined, at(1, 5, 12), "", map[string]any{"group": "g1"})
	s.add("alice", scrm.EventOrderPaid, at(1, 6, 9), "88.00", paid("o1", "s1"))
	s.add("alice", metrics.EventCouponRedeemed, at(1, 6, 9), "10.00", coupon("k1", "new10", "o1"))
	s.add("alice", scrm.EventOrderPaid, at(2, 10, 9), "50.00", paid("o2", "s1"))
	s.add("alice", scrm.EventOrderPaid, at(3, 15, 9), "30.00", paid("o5", "s2"))

	s.add("bob", scrm.EventCustomerAdded, at(1, 20, 15), "", added("s1", "w2", "qr1", ""))
	s.add("bob", metrics.EventCouponIssued, at(1, 20, 15), "", coupon("k2", "new10", ""))
	s.add("bob", metrics.EventReferralBound, at(1, 20, 15), "", map[string]any{"program": "p1", "staff": "w1", "status": "active"})
	s.add("bob", metrics.EventCouponExpired, at(2, 20, 0), "", coupon("k2", "new10", ""))
	s.add("bob", scrm.EventOrderPaid, at(2, 25, 18), "120.00", paid("o3", "s1"))
	s.add("bob", metrics.EventReferralQualified, at(2, 25, 18), "120.00", map[string]any{"program": "p1", "staff": "w1", "order_id": "o3"})

	s.add("carol", scrm.EventCustomerAdded, at(2, 2, 11), "", added("s2", "w3", "qr2", "spring"))
	s.add("carol", metrics.EventReferralBound, at(2, 2, 11), "", map[string]any{"program": "p1", "inviter": "alice", "status": "active"})
	s.add("carol", metrics.EventCouponIssued, at(2, 2, 11), "", coupon("k3", "new10", ""))
	s.add("carol", scrm.EventOrderPaid, at(2, 3, 10), "66.50", paid("o4", "s2"))
	s.add("carol", metrics.EventReferralQualified, at(2, 3, 10), "66.50", map[string]any{"program": "p1", "inviter": "alice", "order_id": "o4"})
	s.add("carol", scrm.EventOrderPaid, at(2, 4, 10), "20.00", paid("o6", "s2"))
	s.add("carol", metrics.EventCouponRedeemed, at(2, 4, 10), "5.00", coupon("k3", "new10", "o6"))
	s.add("carol", scrm.EventOrderRefunded, at(2, 5, 10), "20.00", map[string]any{"order_id": "o6"})
	s.add("carol", metrics.EventCouponRestored, at(2, 5, 10), "", coupon("k3", "new10", "o6"))
	s.add("carol", scrm.EventGroupJoined, at(2, 12, 20), "", map[string]any{"group": "g2"})

	s.add("dave", scrm.EventCustomerAdded, at(2, 28, 16), "", added("s2", "w3", "qr2", ""))
	s.add("dave", metrics.EventReferralBound, at(2, 28, 16), "", map[string]any{"program": "p1", "inviter": "alice", "status": "review"})
	s.add("dave", metrics.EventCouponIssued, at(2, 28, 16), "", coupon("k4", "vip20", ""))
	s.add("dave", scrm.EventGroupJoined, at(2, 29, 9), "", map[string]any{"group": "g2"})
	return s.events
}

// bakeryCollector returns a Collector holding the bakery history.
func bakeryCollector() *metrics.Collector {
	c := metrics.NewCollector("t1", nil)
	if err := c.AddEvents(bakery()...); err != nil {
		panic(err)
	}
	return c
}

func contextBackground() context.Context { return context.Background() }

func sumMoney(ds []decimal.Decimal) decimal.Decimal {
	s := decimal.Zero
	for _, d := range ds {
		s = s.Add(d)
	}
	return s
}
