package metrics

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// couponTable follows coupons through their events.
type couponTable struct {
	idx         map[string]uint32 // coupon ID → index in list
	list        []couponState
	templates   dict
	redemptions map[string]*redemption // coupon ID + "\x00" + order ID
}

type couponState struct {
	template uint32
	cust     uint32
	issued   int64 // unix nanoseconds, when issuedSeen
	flags    uint8
}

const (
	issuedSeen = 1 << iota
	expiredSeen
)

// redemption is one coupon used by one order, possibly undone by a refund.
type redemption struct {
	coupon   uint32
	fen      int64 // the discount
	redeemed bool  // coupon.redeemed seen
	restored bool  // coupon.restored seen
}

func (c *Collector) couponEvent(typ uint16, ci uint32, t, fen int64, e scrm.Event) {
	id := e.Prop("coupon")
	if id == "" {
		return
	}
	ct := &c.coupons
	if ct.idx == nil {
		ct.idx = make(map[string]uint32)
		ct.redemptions = make(map[string]*redemption)
	}
	k, ok := ct.idx[id]
	if !ok {
		k = uint32(len(ct.list))
		ct.idx[id] = k
		ct.list = append(ct.list, couponState{cust: ci})
	}
	cs := &ct.list[k]
	if cs.template == 0 {
		cs.template = ct.templates.intern(e.Prop("template"))
	}
	switch typ {
	case c.tIssued:
		if cs.flags&issuedSeen == 0 || t < cs.issued {
			cs.issued = t
		}
		cs.flags |= issuedSeen
	case c.tExpired:
		cs.flags |= expiredSeen
	case c.tRedeemed, c.tRestored:
		// The order as the kernel reads order IDs, so that 12345 and
		// "12345" (a number left by JSON decoding) are one order; a value
		// of another kind names none.
		oid, _ := e.IDProp("metrics.Add", "order_id")
		key := id + "\x00" + oid
		r := ct.redemptions[key]
		if r == nil {
			r = &redemption{coupon: k}
			ct.redemptions[key] = r
		}
		if typ == c.tRedeemed {
			r.redeemed, r.fen = true, fen
		} else {
			r.restored = true
		}
	}
}

// CouponOptions select the coupons of a coupon report.
type CouponOptions struct {
	// From and To select the coupons issued (coupon.issued) in
	// [From, To); a zero end is open.
	From, To time.Time
}

// CouponRow is the outcome of the coupons of one template.
type CouponRow struct {
	Template string // "" on the total row
	Issued   int    // coupons issued in the window
	// Redeemed counts those of them used by an order that was not fully
	// refunded (a coupon.redeemed not undone by a coupon.restored for the
	// same coupon and order).
	Redeemed int
	// Expired counts those of them that expired unused (coupon.expired).
	Expired int
	// RedemptionRate = Redeemed ÷ Issued.
	RedemptionRate float64
	// DiscountCost is the sum of the discounts (the Amounts of
	// coupon.redeemed) of those redemptions: what the coupons cost in
	// price given away.
	DiscountCost decimal.Decimal
	// AvgDiscount = RoundFen(DiscountCost ÷ Redeemed).
	AvgDiscount decimal.Decimal
}

// CouponReport is the coupon redemption report.
type CouponReport struct {
	From, To time.Time
	Rows     []CouponRow // one per template, by template ID
	Total    CouponRow
}

// Coupons reports, per template, how many coupons issued in the window
// were redeemed and what their discounts cost:
//
//	RedemptionRate = coupons issued in [From, To) and redeemed ÷ coupons issued in [From, To)
//	DiscountCost   = Σ discount of their redemptions not undone by a refund
//
// Coupons whose coupon.issued event the Collector never saw are not
// counted, so Redeemed never exceeds Issued. Coupon events come from
// events only: profiles do not keep the coupon IDs.
//
// Errors: ErrInvalid when To is not after From.
func (c *Collector) Coupons(o CouponOptions) (CouponReport, error) {
	const op = "metrics.Coupons"
	if err := checkWindow(op, o.From, o.To); err != nil {
		return CouponReport{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ct := &c.coupons
	win := windowOf(o.From, o.To)
	n := len(ct.templates.names) + 1
	issued, expired := make([]int, n), make([]int, n)
	redeemed := make([]int, n)
	cost := make([]int64, n)
	in := make([]bool, len(ct.list))
	used := make([]bool, len(ct.list))
	for k, cs := range ct.list {
		if cs.flags&issuedSeen == 0 || !win.has(cs.issued) {
			continue
		}
		in[k] = true
		issued[cs.template]++
		if cs.flags&expiredSeen != 0 {
			expired[cs.template]++
		}
	}
	for _, r := range ct.redemptions {
		if !in[r.coupon] || !r.redeemed || r.restored {
			continue
		}
		t := ct.list[r.coupon].template
		cost[t] += r.fen
		if !used[r.coupon] {
			used[r.coupon] = true
			redeemed[t]++
		}
	}
	out := CouponReport{From: o.From, To: o.To}
	var total CouponRow
	var totalFen int64
	for t := range issued {
		if issued[t] == 0 {
			continue
		}
		row := couponRow(ct.templates.name(uint32(t)), issued[t], redeemed[t], expired[t], cost[t])
		out.Rows = append(out.Rows, row)
		total.Issued += issued[t]
		total.Redeemed += redeemed[t]
		total.Expired += expired[t]
		totalFen += cost[t]
	}
	slices.SortFunc(out.Rows, func(a, b CouponRow) int { return cmpString(a.Template, b.Template) })
	out.Total = couponRow("", total.Issued, total.Redeemed, total.Expired, totalFen)
	return out, nil
}

func couponRow(tpl string, issued, redeemed, expired int, fen int64) CouponRow {
	cost := scrm.FromFen(fen)
	return CouponRow{Template: tpl, Issued: issued, Redeemed: redeemed, Expired: expired,
		RedemptionRate: ratio(int64(redeemed), int64(issued)),
		DiscountCost:   cost, AvgDiscount: divFen(cost, int64(redeemed))}
}

// Table lays the coupon report out: a row per template and a total.
func (r CouponReport) Table() Table {
	tb := Table{Title: "Coupon redemption",
		Columns: []string{"Template", "Issued", "Redeemed", "Expired", "Redemption rate", "Discount cost", "Avg discount"},
		Align:   []Alignment{AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight}}
	row := func(name string, c CouponRow) []string {
		return []string{name, count(c.Issued), count(c.Redeemed), count(c.Expired), pct(c.RedemptionRate),
			money(c.DiscountCost), money(c.AvgDiscount)}
	}
	for _, c := range r.Rows {
		tb.Rows = append(tb.Rows, row(c.Template, c))
	}
	tb.Rows = append(tb.Rows, row("Total", r.Total))
	return tb
}
