package metrics

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// AcquisitionOptions shape an acquisition report.
type AcquisitionOptions struct {
	// By is the attribution: store, staff, channel code or campaign;
	// required.
	By Dimension
	// Period is the row unit, Month (default) or Week.
	Period Period
	// From and To select the customers added (their first
	// customer.added) in [From, To); a zero end is open.
	From, To time.Time
	// ConvertWithin is how long after being added a paid order counts as
	// a conversion; default DefaultConvertWithin (30 days).
	ConvertWithin time.Duration
}

// AcquisitionRow counts the new customers of one key in one period (or, on
// a total row, in all periods).
type AcquisitionRow struct {
	Key    string    // the store, staff, channel code or campaign; "" when the event had none
	Period time.Time // first instant of the period; zero on total rows
	Label  string    // "2006-01" or "2006-W01"; "" on total rows
	// Added counts the customers whose first customer.added fell in the
	// period with this key: the new customers it brought.
	Added int
	// Converted counts those of them with a paid order within
	// ConvertWithin of being added (at or after the add; orders before it
	// are not looked at). ConversionRate = Converted ÷ Added.
	Converted      int
	ConversionRate float64
	// Open counts those not converted whose window had not ended by the
	// latest event seen: they may still convert, so the rate of a recent
	// period is a lower bound.
	Open int
	// FirstOrderRevenue sums the Amounts of the converted customers' first
	// paid order in the window; AvgFirstOrder = RoundFen(FirstOrderRevenue
	// ÷ Converted).
	FirstOrderRevenue decimal.Decimal
	AvgFirstOrder     decimal.Decimal
}

// AcquisitionReport is customer acquisition by one dimension.
type AcquisitionReport struct {
	By            Dimension
	Period        Period
	ConvertWithin time.Duration
	// Rows has a row per period and key with new customers, by period then
	// key; Totals a row per key over all periods, by key; Total the sum.
	Rows   []AcquisitionRow
	Totals []AcquisitionRow
	Total  AcquisitionRow
}

// newcomer is what acquisition reports need of one added customer.
type newcomer struct {
	key       uint32
	added     int64
	converted bool
	open      bool
	firstFen  int64
	joined    bool // group.joined within the group window
}

// newcomers calls fn for each customer first added in win, with their
// conversion within convert and group join within group of being added.
func (c *Collector) newcomers(dim int, win window, convert, group time.Duration, fn func(n newcomer)) {
	for i := range c.custs {
		cu := &c.custs[i]
		if cu.flags&hasAdded == 0 || !win.has(cu.added) {
			continue
		}
		n := newcomer{added: cu.added}
		if dim >= 0 {
			n.key = cu.attr[dim]
		}
		convEnd, groupEnd := addSat(cu.added, convert), addSat(cu.added, group)
		for _, r := range c.runOf(i) {
			if r.t < cu.added {
				continue
			}
			if r.typ == c.tPaid && !n.converted && r.t <= convEnd {
				n.converted, n.firstFen = true, r.fen
			}
			if r.typ == c.tJoined && r.t <= groupEnd {
				n.joined = true
			}
			if r.t > convEnd && r.t > groupEnd {
				break
			}
		}
		n.open = !n.converted && convEnd > c.maxT
		fn(n)
	}
}

type acqAcc struct {
	added, converted, open, joined int
	fen                            int64
}

func (a *acqAcc) add(n newcomer) {
	a.added++
	if n.converted {
		a.converted++
		a.fen += n.firstFen
	}
	if n.open {
		a.open++
	}
	if n.joined {
		a.joined++
	}
}

func (a acqAcc) row(key string) AcquisitionRow {
	rev := scrm.FromFen(a.fen)
	return AcquisitionRow{Key: key, Added: a.added, Converted: a.converted, Open: a.open,
		ConversionRate:    ratio(int64(a.converted), int64(a.added)),
		FirstOrderRevenue: rev, AvgFirstOrder: divFen(rev, int64(a.converted))}
}

// Acquisition reports the new customers each store, staff member, channel
// code or campaign brought, per week or month, and how many of them
// converted to a paid order:
//
//	Added          = |customers whose first customer.added is in the period with the key|
//	Converted      = |of them, with an order.paid in [added, added + ConvertWithin]|
//	ConversionRate = Converted ÷ Added
//	FirstOrderRevenue = Σ Amount of each converted customer's first order.paid in that window
//
// By campaign, Totals answer the seed merchant's question: how many new
// customers did this activity bring, and what did their first orders
// bring in?
//
// Errors: ErrInvalid naming the field for a missing or unknown By, an
// unknown Period, a negative ConvertWithin, or To not after From.
func (c *Collector) Acquisition(o AcquisitionOptions) (AcquisitionReport, error) {
	const op = "metrics.Acquisition"
	dim, err := checkDimension(op, o.By, false)
	if err != nil {
		return AcquisitionReport{}, err
	}
	if !validPeriod(o.Period) {
		return AcquisitionReport{}, scrm.Invalid(op, "Period", "unknown period %q (want month or week)", o.Period)
	}
	if o.Period == "" {
		o.Period = Month
	}
	if o.ConvertWithin < 0 {
		return AcquisitionReport{}, scrm.Invalid(op, "ConvertWithin", "must not be negative, got %s", o.ConvertWithin)
	}
	if o.ConvertWithin == 0 {
		o.ConvertWithin = DefaultConvertWithin
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return AcquisitionReport{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	out := AcquisitionReport{By: o.By, Period: o.Period, ConvertWithin: o.ConvertWithin}
	if c.empty() {
		return out, nil
	}
	cal := newCalendar(o.Period, c.loc, c.minT, c.maxT)
	nk := len(c.attrs[dim].names) + 1
	cells := newGrid[acqAcc](cal.len(), nk)
	keys := make([]acqAcc, nk)
	var total acqAcc
	c.newcomers(dim, windowOf(o.From, o.To), o.ConvertWithin, 0, func(n newcomer) {
		if p := cal.index(n.added); p >= 0 { // always: the calendar spans every event
			cells.at(p, int(n.key)).add(n)
		}
		keys[n.key].add(n)
		total.add(n)
	})
	cells.each(func(p, k int, a *acqAcc) {
		if a.added == 0 {
			return
		}
		r := a.row(c.attrs[dim].name(uint32(k)))
		r.Period, r.Label = cal.start(p), cal.label(p)
		out.Rows = append(out.Rows, r)
	})
	slices.SortFunc(out.Rows, func(a, b AcquisitionRow) int {
		if d := a.Period.Compare(b.Period); d != 0 {
			return d
		}
		return cmpString(a.Key, b.Key)
	})
	for k, a := range keys {
		if a.added > 0 {
			out.Totals = append(out.Totals, a.row(c.attrs[dim].name(uint32(k))))
		}
	}
	slices.SortFunc(out.Totals, func(a, b AcquisitionRow) int { return cmpString(a.Key, b.Key) })
	out.Total = total.row("")
	return out, nil
}

// Table lays the report out: a row per period and key, then a total per
// key and the grand total.
func (r AcquisitionReport) Table() Table {
	tb := Table{Title: "Acquisition by " + dimensionTitle(r.By) + " (conversion within " + duration(r.ConvertWithin) + ")",
		Columns: []string{periodTitle(r.Period), dimensionTitle(r.By), "Added", "Converted", "Conversion", "Open", "First-order revenue", "Avg first order"},
		Align:   []Alignment{AlignLeft, AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight}}
	row := func(period, key string, x AcquisitionRow) []string {
		return []string{period, key, count(x.Added), count(x.Converted), pct(x.ConversionRate), count(x.Open),
			money(x.FirstOrderRevenue), money(x.AvgFirstOrder)}
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

func periodTitle(p Period) string {
	if p == Week {
		return "Week"
	}
	return "Month"
}

// GroupJoinOptions shape a group-join report.
type GroupJoinOptions struct {
	// By splits the report by store, staff, channel code or campaign;
	// empty: the total alone.
	By Dimension
	// From and To select the customers first added in [From, To).
	From, To time.Time
	// Within is how long after being added a group.joined counts; default
	// DefaultGroupWithin (7 days).
	Within time.Duration
}

// GroupJoinRow is the group-join rate of one key (or the total).
type GroupJoinRow struct {
	Key    string
	Added  int // customers first added in the window
	Joined int // of them, customers with a group.joined within Within of being added
	Rate   float64
}

// GroupJoinReport is the group-join rate (加群率) report.
type GroupJoinReport struct {
	By     Dimension
	Within time.Duration
	Rows   []GroupJoinRow // by key; empty without By
	Total  GroupJoinRow
}

// GroupJoin computes the group-join rate (加群率): of the customers added,
// the share that joined a group soon after:
//
//	Rate = |added in [From, To) with a group.joined in [added, added + Within]| ÷ |added in [From, To)|
//
// Errors: ErrInvalid naming the field for an unknown By, a negative
// Within, or To not after From.
func (c *Collector) GroupJoin(o GroupJoinOptions) (GroupJoinReport, error) {
	const op = "metrics.GroupJoin"
	dim, err := checkDimension(op, o.By, true)
	if err != nil {
		return GroupJoinReport{}, err
	}
	if o.Within < 0 {
		return GroupJoinReport{}, scrm.Invalid(op, "Within", "must not be negative, got %s", o.Within)
	}
	if o.Within == 0 {
		o.Within = DefaultGroupWithin
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return GroupJoinReport{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	keys := map[uint32]*acqAcc{}
	var total acqAcc
	c.newcomers(dim, windowOf(o.From, o.To), 0, o.Within, func(n newcomer) {
		total.add(n)
		if dim >= 0 {
			if keys[n.key] == nil {
				keys[n.key] = &acqAcc{}
			}
			keys[n.key].add(n)
		}
	})
	row := func(key string, a acqAcc) GroupJoinRow {
		return GroupJoinRow{Key: key, Added: a.added, Joined: a.joined, Rate: ratio(int64(a.joined), int64(a.added))}
	}
	out := GroupJoinReport{By: o.By, Within: o.Within, Total: row("", total)}
	for k, a := range keys {
		out.Rows = append(out.Rows, row(c.attrs[dim].name(k), *a))
	}
	slices.SortFunc(out.Rows, func(a, b GroupJoinRow) int { return cmpString(a.Key, b.Key) })
	return out, nil
}

// Table lays the report out: a row per key and a total.
func (r GroupJoinReport) Table() Table {
	key := "Customers"
	if r.By != "" {
		key = dimensionTitle(r.By)
	}
	tb := Table{Title: "Group-join rate (within " + duration(r.Within) + ")",
		Columns: []string{key, "Added", "Joined", "Group-join rate"},
		Align:   []Alignment{AlignLeft, AlignRight, AlignRight, AlignRight}}
	for _, x := range r.Rows {
		tb.Rows = append(tb.Rows, []string{keyLabel(x.Key), count(x.Added), count(x.Joined), pct(x.Rate)})
	}
	tb.Rows = append(tb.Rows, []string{"Total", count(r.Total.Added), count(r.Total.Joined), pct(r.Total.Rate)})
	return tb
}
