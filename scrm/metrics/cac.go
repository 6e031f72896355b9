package metrics

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Cost is what was spent on one channel, store, staff member or campaign in
// one period, as the host's books have it.
type Cost struct {
	// Key is the dimension value the money was spent on: a channel code,
	// a store, a staff member or a campaign.
	Key string
	// Period is any instant in the calendar period (tenant zone) the
	// money was spent in; costs of the same key and period add up.
	Period time.Time
	// Sales is the sales cost (staff commissions, sales labour) and
	// Marketing the marketing cost (ads, coupons budget, materials), in
	// yuan: whole fen, not negative.
	Sales, Marketing decimal.Decimal
}

// CACOptions shape a CAC report.
type CACOptions struct {
	// By is the dimension Costs are keyed by and customers attributed by;
	// required.
	By Dimension
	// Period is the row unit, Month (default) or Week.
	Period Period
	// Costs are the spending; at most one entry is needed per key and
	// period.
	Costs []Cost
	// From and To restrict the periods reported to those starting in
	// [From, To); a zero end is open.
	From, To time.Time
}

// CACRow is the acquisition cost of one key in one period, or a total.
type CACRow struct {
	Key    string
	Period time.Time // zero on total rows
	Label  string    // "" on total rows
	// Sales + Marketing = Cost, the sums of the Costs of the key and period.
	Sales, Marketing, Cost decimal.Decimal
	// Converted counts the customers attributed to the key (their first
	// customer.added) whose first paid order fell in the period.
	Converted int
	// CAC = RoundFen(Cost ÷ Converted); zero when Converted is 0 (see
	// Cost for what was spent without result).
	CAC decimal.Decimal
}

// CACReport is customer acquisition cost by one dimension.
type CACReport struct {
	By     Dimension
	Period Period
	Rows   []CACRow // by period, then key
	Totals []CACRow // per key over the periods reported, by key
	Total  CACRow
}

// CAC computes the customer acquisition cost per key and period:
//
//	CAC = (sales cost + marketing cost) ÷ converted customers
//
// where the converted customers of a key and period are those attributed
// to the key by their first customer.added whose first order.paid ever
// fell in the period. A customer who paid without ever being added counts
// under the empty key. Rows exist for every key and period with a cost or
// a conversion.
//
// Errors: ErrInvalid naming the field ("Costs[2].Sales") for a missing or
// unknown By, an unknown Period, a cost with a zero Period, a negative
// amount or one below the fen, or To not after From.
func (c *Collector) CAC(o CACOptions) (CACReport, error) {
	const op = "metrics.CAC"
	dim, err := checkDimension(op, o.By, false)
	if err != nil {
		return CACReport{}, err
	}
	if !validPeriod(o.Period) {
		return CACReport{}, scrm.Invalid(op, "Period", "unknown period %q (want month or week)", o.Period)
	}
	if o.Period == "" {
		o.Period = Month
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return CACReport{}, err
	}
	for i, cost := range o.Costs {
		f := func(s string) string { return "Costs[" + itoa(i) + "]." + s }
		if cost.Period.IsZero() {
			return CACReport{}, scrm.Invalid(op, f("Period"), "required")
		}
		if y := cost.Period.Year(); y < 1900 || y > 2200 {
			return CACReport{}, scrm.Invalid(op, f("Period"), "year %d outside 1900–2200", y)
		}
		for _, m := range []struct {
			name string
			v    decimal.Decimal
		}{{"Sales", cost.Sales}, {"Marketing", cost.Marketing}} {
			if m.v.IsNegative() {
				return CACReport{}, scrm.Invalid(op, f(m.name), "must not be negative, got %s", m.v)
			}
			if !scrm.IsFen(m.v) {
				return CACReport{}, scrm.Invalid(op, f(m.name), "at most 2 decimal places (fen), got %s", m.v)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	win := windowOf(o.From, o.To)
	type cell struct {
		key   string
		start int64
		sales decimal.Decimal
		mkt   decimal.Decimal
		conv  int
	}
	type ck struct {
		key   string
		start int64
	}
	cells := map[ck]*cell{}
	get := func(key string, start int64) *cell {
		k := ck{key, start}
		p := cells[k]
		if p == nil {
			p = &cell{key: key, start: start, sales: decimal.Zero, mkt: decimal.Zero}
			cells[k] = p
		}
		return p
	}
	for _, cost := range o.Costs {
		s := periodStart(o.Period, cost.Period, c.loc).UnixNano()
		if !win.has(s) {
			continue
		}
		p := get(cost.Key, s)
		p.sales = p.sales.Add(cost.Sales)
		p.mkt = p.mkt.Add(cost.Marketing)
	}
	if !c.empty() {
		cal := newCalendar(o.Period, c.loc, c.minT, c.maxT)
		for i := range c.custs {
			for _, r := range c.runOf(i) {
				if r.typ != c.tPaid {
					continue
				}
				if p := cal.index(r.t); p >= 0 { // always: the calendar spans every event
					if s := cal.starts[p]; win.has(s) {
						get(c.attrs[dim].name(c.custs[i].attr[dim]), s).conv++
					}
				}
				break
			}
		}
	}
	row := func(key string, sales, mkt decimal.Decimal, conv int) CACRow {
		cost := sales.Add(mkt)
		return CACRow{Key: key, Sales: sales, Marketing: mkt, Cost: cost, Converted: conv, CAC: divFen(cost, int64(conv))}
	}
	out := CACReport{By: o.By, Period: o.Period}
	type tot struct {
		sales, mkt decimal.Decimal
		conv       int
	}
	keys := map[string]*tot{}
	all := tot{sales: decimal.Zero, mkt: decimal.Zero}
	for _, p := range cells {
		r := row(p.key, p.sales, p.mkt, p.conv)
		start := time.Unix(0, p.start).In(c.loc)
		r.Period, r.Label = start, periodLabel(o.Period, start)
		out.Rows = append(out.Rows, r)
		t := keys[p.key]
		if t == nil {
			t = &tot{sales: decimal.Zero, mkt: decimal.Zero}
			keys[p.key] = t
		}
		t.sales, t.mkt, t.conv = t.sales.Add(p.sales), t.mkt.Add(p.mkt), t.conv+p.conv
		all.sales, all.mkt, all.conv = all.sales.Add(p.sales), all.mkt.Add(p.mkt), all.conv+p.conv
	}
	slices.SortFunc(out.Rows, func(a, b CACRow) int {
		if d := a.Period.Compare(b.Period); d != 0 {
			return d
		}
		return cmpString(a.Key, b.Key)
	})
	for k, t := range keys {
		out.Totals = append(out.Totals, row(k, t.sales, t.mkt, t.conv))
	}
	slices.SortFunc(out.Totals, func(a, b CACRow) int { return cmpString(a.Key, b.Key) })
	out.Total = row("", all.sales, all.mkt, all.conv)
	return out, nil
}

// Table lays the report out: a row per period and key, a total per key
// and the grand total.
func (r CACReport) Table() Table {
	tb := Table{Title: "CAC by " + dimensionTitle(r.By),
		Columns: []string{periodTitle(r.Period), dimensionTitle(r.By), "Sales cost", "Marketing cost", "Converted", "CAC"},
		Align:   []Alignment{AlignLeft, AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight}}
	row := func(period, key string, x CACRow) []string {
		return []string{period, key, money(x.Sales), money(x.Marketing), count(x.Converted), money(x.CAC)}
	}
	for _, x := range r.Rows {
		tb.Rows = append(tb.Rows, row(x.Label, keyLabel(x.Key), x))
	}
	for _, x := range r.Totals {
		tb.Rows = append(tb.Rows, row("All", keyLabel(x.Key), x))
	}
	tb.Rows = append(tb.Rows, row("All", "Total", r.Total))
	return tb
}
